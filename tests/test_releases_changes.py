"""What a draft changes (``releases.changes``), on the published content: a changed value is a change with
its before and after, the counts agree with the list and the changeset, a figure renamed or made less
precise is a changed figure, large removals and the home page emptied are warnings, and a draft made from
an older release shows what it takes back of the releases since (the three-way view)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Dataset, Literal, URIRef
from rdflib.namespace import SKOS

from ceopgraph import rdfio
from ceopgraph.conneg import FORMATS_BY_NAME
from ceopgraph.namespaces import SDMX_MEASURE
from ceopgraph.releases.changes import REMOVALS, REVERTS, Diff, diff
from ceopgraph.releases.content import content_of
from ceopgraph.urischeme import UriScheme

BASE = "https://w3id.org/ceopgraph/"
SCHEME = UriScheme(BASE)
SAFEGUARDED = URIRef(BASE + "data/annual-review-2012-13/children-safeguarded/2012-2013")
SINCE_LAUNCH = URIRef(BASE + "data/annual-review-2012-13/children-protected-since-launch/since-launch-to-2012-2013")
IMAGES = URIRef(BASE + "def/threat-area/indecent-images")
PRECISION = URIRef(BASE + "def/attribute/precision")
CHANGESET = BASE + "drafts/x/diff"


@pytest.fixture(scope="module")
def release(built_dist: Path) -> Dataset:
    """Release 1's content, as a draft's diff compares it."""
    data = (built_dist / "ceopgraph.trig").read_bytes()
    parsed = rdfio.parse_dataset(data, FORMATS_BY_NAME["trig"], "built", 1 << 30, BASE, URIRef(BASE + "data/graph/x"))
    return content_of(parsed, SCHEME)


def _copy(content: Dataset, leaving: tuple[URIRef, URIRef | None] | None = None) -> Dataset:
    """A copy, without the statements of ``leaving`` (a subject, and a predicate or None for all)."""
    copy = Dataset()
    for s, p, o, g in content.quads():
        if leaving is None or s != leaving[0] or leaving[1] not in (None, p):
            copy.graph(g).add((s, p, o))
    return copy


def _set(content: Dataset, s: URIRef, p: URIRef, value: URIRef | Literal) -> Dataset:
    """A copy with ``s``'s one value of ``p`` replaced by ``value``, in the same graph."""
    ((_, _, _, g),) = list(content.quads((s, p, None, None)))
    copy = _copy(content, (s, p))
    copy.graph(g).add((s, p, value))
    return copy


def _rows(found: Diff, iri: URIRef) -> list[tuple[str, str, str | None, str | None]]:
    (subject,) = [s for s in found.subjects if s.iri == str(iri)]
    return [(c.predicate_label, c.change, c.before, c.after) for c in subject.changes]


def test_a_renamed_figure_a_changed_precision_a_cut_definition_and_an_added_alt_label_are_listed(
    release: Dataset,
) -> None:
    """The issue's draft: its diff said "No figure changed." and "changed: Proliferation of indecent images
    of children", with no before and after, and "1 triple(s) added" for an altLabel, nowhere saying which."""
    label = URIRef("http://www.w3.org/2000/01/rdf-schema#label")
    draft = _set(release, SAFEGUARDED, label, Literal("Children safeguarded, 2012-2013", lang="en"))
    draft = _set(draft, SINCE_LAUNCH, PRECISION, URIRef(BASE + "def/precision/lower-bound"))
    draft = _set(draft, IMAGES, SKOS.definition, Literal("particularly the production of images", lang="en"))
    draft.graph(URIRef(BASE + "data/graph/threat-areas")).add((IMAGES, SKOS.altLabel, Literal("IIOC", lang="en")))
    found, changeset = diff(release, draft, SCHEME, 1, CHANGESET)

    assert _rows(found, SAFEGUARDED) == [
        ("rdfs:label", "changed", "Children safeguarded and protected, 2012-2013", "Children safeguarded, 2012-2013")
    ]
    assert _rows(found, IMAGES) == [
        ("skos:altLabel", "added", None, "IIOC"),
        (
            "skos:definition",
            "changed",
            "particularly the production of still, moving and live streaming of child abuse images",
            "particularly the production of images",
        ),
    ]
    assert _rows(found, SINCE_LAUNCH) == [("attribute:precision", "changed", "exact", "lower bound")]
    figures = {f.iri: f.describe() for f in found.figures}  # no more "No figure changed."
    assert figures[str(SAFEGUARDED)] == (
        "Children safeguarded, 2012-2013: rdfs:label: Children safeguarded and protected, 2012-2013 → "
        "Children safeguarded, 2012-2013"
    )
    assert figures[str(SINCE_LAUNCH)].endswith(": attribute:precision: exact → lower bound")
    assert [t["label"] for t in found.things["threat_areas"]["changed"]] == [
        "Proliferation of indecent images of children"
    ]
    # One set of counts: the list's, and the changeset's triples follow from them.
    assert (found.added, found.removed, found.changed) == (1, 0, 3)
    graphs = {str(g.identifier): len(g) for g in changeset.graphs() if len(g)}
    assert graphs == {CHANGESET + "#added": found.added + found.changed, CHANGESET + "#removed": found.changed}
    assert found.as_json()["triples"] == {"added": 4, "removed": 3}
    assert found.warnings == ()  # nothing removed, nothing reverted


def test_the_example_submission_plus_one_figure_warns_of_its_removals(release: Dataset) -> None:
    """The issue's draft: the figures, structure and vocabulary only (``/validate/example-submission.ttl``)
    plus one figure removed every threat area, quotation and claim, and the home page's content, silently."""
    draft = Dataset()
    kept = {BASE + f"data/graph/{name}" for name in ("figures", "structure", "vocabulary")}
    for s, p, o, g in release.quads():
        if str(g) in kept:
            draft.graph(URIRef(BASE + "data/graph/submitted")).add((s, p, o))
    new = URIRef(BASE + "data/annual-review-2012-13/children-safeguarded/2013-2014")
    draft.graph(URIRef(BASE + "data/graph/submitted")).add((new, SDMX_MEASURE.obsValue, Literal(900)))
    found, _ = diff(release, draft, SCHEME, 1, CHANGESET)
    assert found.removed > 400
    messages = [w.message for w in found.warnings if w.acknowledge == REMOVALS]
    assert any(m.startswith("It removes 4 of the 4 threat areas of release 1: ") for m in messages), messages
    assert any("quotations of release 1" in m for m in messages) and any("claims of release 1" in m for m in messages)
    assert any(m.startswith("The home page would be empty") for m in messages), messages
    assert any("named graphs of release 1" in m for m in messages), messages
    assert set(found.needs()) == {REMOVALS}
    assert found.as_json()["acknowledge"] == [REMOVALS]


def test_removing_more_than_a_tenth_of_a_kind_is_a_warning(release: Dataset) -> None:
    figure = _copy(release, (SINCE_LAUNCH, None))
    (warning,) = diff(release, figure, SCHEME, 1, CHANGESET)[0].warnings
    assert warning.acknowledge == REMOVALS and warning.message == (
        "It removes 1 of the 8 figures of release 1: Children protected since CEOP's launch in 2006, to the end "
        "of 2012-2013."
    )
    area = _copy(release, (IMAGES, None))
    (warning,) = diff(release, area, SCHEME, 1, CHANGESET)[0].warnings
    assert warning.acknowledge == REMOVALS and "1 of the 4 threat areas" in warning.message
    assert "Proliferation of indecent images of children" in warning.message


ROW = "Children protected since launch · From CEOP's launch in 2006 to the end of government year 2012-2013"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("changed", f"row {ROW}: 2255 → 2256"),
        ("removed", f"row {ROW}: removed (was 2255)"),
        ("added", f"row {ROW}: added 2255"),
    ],
)
def test_a_figures_change_reads_in_table_terms_by_its_row(release: Dataset, change: str, expected: str) -> None:
    """The row of the cube's table (its dimensions' labels, in the columns' order), as someone who edited the
    CSV reads the change."""
    without = _copy(release, (SINCE_LAUNCH, None))
    before, after = {
        "changed": (release, _set(release, SINCE_LAUNCH, SDMX_MEASURE.obsValue, Literal(2256))),
        "removed": (release, without),
        "added": (without, release),
    }[change]
    (figure,) = diff(before, after, SCHEME, 1, CHANGESET)[0].figures
    assert figure.in_table_terms() == expected
    (listed,) = diff(before, after, SCHEME, 1, CHANGESET)[0].as_json()["figures"]
    assert (listed["row"], listed["row_change"]) == (ROW, expected)


def test_a_draft_made_from_an_older_release_shows_what_it_takes_back(release: Dataset) -> None:
    """Release 2 changed the since-launch figure and added a figure; a draft made from release 1 that
    changes only a label would take both back: the three-way view names them, and needs ``reverts``."""
    two = _set(release, SINCE_LAUNCH, SDMX_MEASURE.obsValue, Literal(2300))
    two.graph(URIRef(BASE + "data/graph/threat-areas")).add((IMAGES, SKOS.altLabel, Literal("IIOC", lang="en")))
    three = _set(two, IMAGES, SKOS.notation, Literal("one"))  # release 3 changes something the draft keeps
    label = URIRef("http://www.w3.org/2000/01/rdf-schema#label")
    draft = _set(release, SAFEGUARDED, label, Literal("Children safeguarded, 2012-2013", lang="en"))
    draft = _set(draft, IMAGES, SKOS.notation, Literal("one"))
    found, _ = diff(three, draft, SCHEME, 3, CHANGESET, [(1, release), (2, two), (3, three)])
    assert found.made_from == 1
    (revert,) = found.reverts  # nothing of release 3's: the draft has its change
    assert (revert.first, revert.last, revert.statements) == (2, 2, 2)
    rows = {s.label: [(c.predicate_label, c.change, c.before, c.after) for c in s.changes] for s in revert.subjects}
    assert rows["Proliferation of indecent images of children"] == [("skos:altLabel", "removed", "IIOC", None)]
    assert rows["Children protected since CEOP's launch in 2006, to the end of 2012-2013"] == [
        ("sdmx-measure:obsValue", "changed", "2300", "2255")
    ]
    (warning,) = found.warnings
    assert warning.acknowledge == REVERTS and "made from release 1 and takes back 2 statement(s)" in warning.message
    assert set(found.needs()) == {REVERTS}
    # Made from the current release, the same draft reverts nothing.
    assert diff(three, draft, SCHEME, 3, CHANGESET)[0].reverts == ()


def test_a_statement_moved_between_graphs_is_counted_as_a_move(release: Dataset) -> None:
    moved = Dataset()
    for s, p, o, g in release.quads():
        name = BASE + "data/graph/numbers" if str(g) == BASE + "data/graph/figures" else str(g)
        moved.graph(URIRef(name)).add((s, p, o))
    found, _ = diff(release, moved, SCHEME, 1, CHANGESET)
    assert (found.added, found.removed, found.changed) == (0, 0, 0)
    graphs = {g["label"]: g for g in found.things["graphs"]["changed"]}
    assert graphs["figures"]["moved_out"] == graphs["numbers"]["moved_in"] != "0"
    assert graphs["figures"]["removed"] == graphs["numbers"]["added"] == "0"
