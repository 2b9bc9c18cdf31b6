"""The write path's rules, in process (``releases.service`` with the command line's preparer): roles,
visibility, the publish's checks and atomicity, withdrawals, recovery, limits, audit, export and import."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import replace
from pathlib import Path

import pytest
from markupsafe import escape
from rdflib import Dataset, Literal, URIRef
from rdflib.namespace import RDF, VOID, XSD

from ceopgraph import rdfio
from ceopgraph.cli import local_releases as cli_releases
from ceopgraph.compose import open_releases, run_in_process
from ceopgraph.config import Settings, load_settings
from ceopgraph.conneg import FORMATS_BY_NAME
from ceopgraph.namespaces import SCHEMA
from ceopgraph.rdfio import UnreadableRdf
from ceopgraph.releases.content import Version, content_of, release_dataset, releases_graph
from ceopgraph.releases.drafting import DraftTooLarge
from ceopgraph.releases.registry import Conflict, Token, TooManyDrafts
from ceopgraph.releases.service import (
    DraftInvalid,
    DraftNotFound,
    Forbidden,
    NotAcknowledged,
    PreconditionRequired,
    Releases,
    _hold,
    listed,
)
from ceopgraph.releases.tokens import InvalidToken
from ceopgraph.releases.transfer import TransferError, export, import_
from ceopgraph.urischeme import UriScheme
from ceopgraph.validation.service import Submission, ValidateJob

from .apps import release_app
from .backends import Backend
from .releasing import (
    BAD_FIGURE,
    GOOD_CHANGE,
    GOOD_FIGURE,
    NOTE,
    changed,
    local_releases,
    sha256,
    with_since_launch,
)
from .submissions.drafts import with_cycles, with_twins
from .test_rdfio import bounded

BASE = "https://w3id.org/ceopgraph/"
SCHEME = UriScheme(BASE)


@pytest.fixture
def releases(tmp_path: Path, built_dist: Path) -> Releases:
    made = local_releases(tmp_path / "data")
    assert made.ensure_first_release(built_dist / "ceopgraph.trig") is not None
    return made


def _dump(releases: Releases, n: int = 1) -> bytes:
    return (releases.release_folder(n) / "ceopgraph.trig").read_bytes()


def _submission(data: bytes, name: str = "draft.trig") -> Submission:
    return Submission(data, "trig", name)


def _people(releases: Releases) -> tuple[Token, Token, Token]:
    sam = releases.tokens.check(releases.tokens.create("submitter", "Sam")[1])
    sue = releases.tokens.check(releases.tokens.create("submitter", "Sue")[1])
    pat = releases.tokens.check(releases.tokens.create("publisher", "Pat")[1])
    return sam, sue, pat


def test_the_built_dataset_is_release_1_with_its_version_metadata(releases: Releases, built_dist: Path) -> None:
    assert [r.n for r in releases.registry.releases()] == [1]
    assert releases.registry.state()[0] == 1
    assert releases.ensure_first_release(built_dist / "ceopgraph.trig") is None  # once only
    dump = rdfio.parse_rdf(_dump(releases), FORMATS_BY_NAME["trig"], "release 1", 1 << 30)
    release = SCHEME.release(1)
    dcat = "http://www.w3.org/ns/dcat#"
    assert (release, URIRef(dcat + "version"), Literal("1")) in dump
    assert (release, URIRef(dcat + "isVersionOf"), URIRef(BASE + "data/ceopgraph")) in dump
    assert (release, URIRef("http://www.w3.org/ns/prov#wasGeneratedBy"), None) in dump
    # The release credits the organisation, never the token that published it.
    assert "operator" not in _dump(releases).decode()
    for name, digest in releases.registry.release(1).dumps.items():  # type: ignore[union-attr]  # release 1 exists
        assert sha256(releases.release_folder(1) / name) == digest


def test_content_survives_a_release_round_trip(built_dist: Path) -> None:
    """What a submitter downloads and uploads unchanged is the same content: computed triples go and return."""
    trig = FORMATS_BY_NAME["trig"]
    data = rdfio.parse_dataset(
        (built_dist / "ceopgraph.trig").read_bytes(), trig, "built", 1 << 30, BASE, URIRef(BASE + "data/graph/x")
    )
    content = content_of(data, SCHEME)
    release = release_dataset(content, SCHEME, Version(2, "2026-01-01T00:00:00Z", 1))
    assert set(content_of(release, SCHEME).quads()) == set(content.quads())
    counts = set(release.objects(URIRef(BASE + "data/ceopgraph"), VOID.triples))
    assert counts == {Literal(len(set(release.quads())), datatype=XSD.integer)}


def test_a_draft_is_validated_and_diffed_figure_by_figure(releases: Releases) -> None:
    sam, _, _ = _people(releases)
    bad = releases.create_draft(sam, _submission(changed(_dump(releases), BAD_FIGURE)))
    assert not bad.conforms and bad.violations == 1
    assert "Percentage change disagrees" in bad.report
    diff = json.loads(bad.diff)
    assert [f["change"] for f in diff["figures"]] == ["Children safeguarded and protected, 2012-2013: 790 → 812"]
    assert diff["triples"] == {"added": 4, "removed": 4}  # the figure, and its words in the text, quote, prefix
    fixed = releases.replace_draft(sam, bad.id, _submission(changed(_dump(releases), GOOD_FIGURE)))
    assert fixed.conforms and [f["change"] for f in json.loads(fixed.diff)["figures"]] == [GOOD_CHANGE]
    changeset = Dataset()
    changeset.parse(data=fixed.changeset, format="trig")
    graphs = {str(g.identifier): len(g) for g in changeset.graphs() if len(g)}
    assert graphs == {f"{BASE}drafts/{bad.id}/diff#added": 4, f"{BASE}drafts/{bad.id}/diff#removed": 4}


def test_things_added_and_removed_are_listed(releases: Releases) -> None:
    sam, _, _ = _people(releases)
    data = Dataset()
    data.parse(data=_dump(releases), format="trig")
    quotation = URIRef(BASE + "id/quotation/past-year")
    data.remove((quotation, RDF.type, SCHEMA.Quotation, None))
    without_quotation = rdfio.serialise(data, FORMATS_BY_NAME["trig"])
    draft = releases.create_draft(sam, _submission(without_quotation))
    removed = json.loads(draft.diff)["quotations"]["removed"]
    assert [q["iri"] for q in removed] == ["https://w3id.org/ceopgraph/id/quotation/past-year"]


def test_roles_and_visibility(releases: Releases) -> None:
    sam, sue, pat = _people(releases)
    draft = releases.create_draft(sam, _submission(changed(_dump(releases), GOOD_FIGURE)))
    with pytest.raises(DraftNotFound):  # another submitter: as if it did not exist
        releases.draft(sue, draft.id)
    with pytest.raises(DraftNotFound):
        releases.replace_draft(sue, draft.id, _submission(_dump(releases)))
    with pytest.raises(DraftNotFound):
        releases.draft(sam, "0" * 32)
    assert releases.draft(pat, draft.id).id == draft.id
    assert [d.id for d in releases.drafts(sue)] == []
    with pytest.raises(Forbidden):
        releases.publish(sam, draft.id, None)
    with pytest.raises(Forbidden):
        releases.create_draft(pat, _submission(_dump(releases)))
    with pytest.raises(Forbidden):
        releases.withdraw(sam, 1, "no")
    assert releases.registry.state()[0] == 1
    outcomes = [(r.action, r.outcome) for r in releases.registry.audit_records()]
    assert ("publish", "forbidden") in outcomes and ("create-draft", "done") in outcomes


def test_revocation_is_immediate(releases: Releases) -> None:
    record, token = releases.tokens.create("publisher", "Pat")
    assert releases.tokens.check(token).id == record.id
    other = local_releases(releases.folder)  # another worker, its own verification cache
    assert other.tokens.check(token).id == record.id
    assert releases.registry.revoke_token(record.id)
    for book in (releases.tokens, other.tokens):
        with pytest.raises(InvalidToken):
            book.check(token)
    with pytest.raises(InvalidToken):
        releases.tokens.check(token[:-1] + ("A" if token[-1] != "A" else "B"))
    assert record.hash.startswith("$argon2id$") and token.split("_", 2)[2] not in record.hash


def test_publish_refuses_violations_and_a_stale_diff(releases: Releases) -> None:
    sam, _, pat = _people(releases)
    bad = releases.create_draft(sam, _submission(changed(_dump(releases), BAD_FIGURE)))
    with pytest.raises(DraftInvalid) as refused:
        releases.publish(pat, bad.id, releases.draft(pat, bad.id).version, NOTE)
    assert json.loads(refused.value.report_json)["conforms"] is False
    first = releases.create_draft(sam, _submission(changed(_dump(releases), GOOD_FIGURE)))
    second = releases.create_draft(sam, _submission(_dump(releases).replace(b"obsValue 16568", b"obsValue 16570")))
    assert releases.publish(pat, first.id, releases.draft(pat, first.id).version, NOTE).n == 2
    with pytest.raises(Conflict):  # its diff was against release 1
        releases.publish(pat, second.id, releases.draft(pat, second.id).version, NOTE)
    refreshed = releases.current_diff(pat, second.id)
    assert refreshed.base_release == 2 and refreshed.made_from == 1
    with pytest.raises(Conflict):  # the stored draft's version names its diff against release 1
        releases.publish(pat, second.id, releases.draft(pat, second.id).version, NOTE)
    with pytest.raises(NotAcknowledged, match=r"made from release 1 .* release 2: Children protected since"):
        releases.publish(pat, second.id, refreshed.version, NOTE)  # it takes back release 2's change
    assert releases.publish(pat, second.id, refreshed.version, NOTE, acknowledged=frozenset({"reverts"})).n == 3
    assert releases.registry.state()[0] == 3
    with pytest.raises(Conflict):
        releases.publish(pat, first.id, releases.draft(pat, first.id).version, NOTE)


def test_two_publishers_at_once_one_wins(releases: Releases) -> None:
    sam, _, pat = _people(releases)
    drafts = [
        releases.create_draft(sam, _submission(changed(_dump(releases), GOOD_FIGURE))),
        releases.create_draft(sam, _submission(_dump(releases).replace(b"obsValue 16568", b"obsValue 16570"))),
    ]
    outcomes: list[str] = []
    start = threading.Barrier(2)

    def publish(draft_id: str) -> None:
        publisher = local_releases(releases.folder)  # as a second worker would
        start.wait()
        try:
            publisher.publish(pat, draft_id, publisher.draft(pat, draft_id).version, NOTE)
            outcomes.append("published")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=publish, args=(d.id,)) for d in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(outcomes) == ["conflict", "published"]
    assert [r.n for r in releases.registry.releases()] == [1, 2]
    assert sorted(p.name for p in (releases.folder / "releases").iterdir()) == ["1", "2"]


def test_withdrawal_keeps_the_release_and_moves_current_back(releases: Releases) -> None:
    sam, _, pat = _people(releases)
    draft = releases.create_draft(sam, _submission(changed(_dump(releases), GOOD_FIGURE)))
    releases.publish(pat, draft.id, releases.draft(pat, draft.id).version, NOTE)
    before = releases.registry.state()
    releases.withdraw(pat, 2, "a wrong figure")
    with pytest.raises(Conflict):  # release 1 is now the only release in force
        releases.withdraw(pat, 1, "nothing left")
    assert releases.registry.state()[0] == 1 and releases.registry.state()[1] > before[1]
    assert releases.registry.release(2).withdrawn is not None  # type: ignore[union-attr]  # release 2 exists
    graph = releases_graph(SCHEME, [listed(r) for r in releases.registry.releases()], 1)
    assert (SCHEME.release(2), URIRef("http://www.w3.org/ns/adms#status"), None) in graph
    assert (releases.release_folder(2) / "ceopgraph.trig").is_file()  # still resolvable


def test_recovery_removes_what_an_unfinished_publish_left(releases: Releases) -> None:
    folder = releases.folder / "releases"
    (folder / ".staging-abc").mkdir()
    (folder / ".staging-old.lock").touch()  # its folder went, its lock file stayed
    (folder / "2").mkdir()  # renamed, never committed
    (folder / "2" / "ceopgraph.trig").write_bytes(b"partial")
    (folder / ".staging-busy").mkdir()  # a publish still running in another process holds its lock
    busy = _hold(folder / ".staging-busy")
    try:
        assert sorted(releases.recover()) == [".staging-abc", ".staging-old.lock", "2"]
        assert sorted(p.name for p in folder.iterdir()) == [".staging-busy", ".staging-busy.lock", "1"]
    finally:
        busy.close()
    assert releases.recover() == [".staging-busy"]
    assert sorted(p.name for p in folder.iterdir()) == ["1"]


def test_open_draft_limits(tmp_path: Path, built_dist: Path) -> None:
    settings = load_settings(environ={}, data_dir=tmp_path / "data", max_open_drafts=3, max_open_drafts_per_submitter=2)
    limited = cli_releases(settings)
    limited.ensure_first_release(built_dist / "ceopgraph.trig")
    sam, sue, _ = _people(limited)
    data = _submission(changed(_dump(limited), GOOD_FIGURE))
    limited.create_draft(sam, data)
    limited.create_draft(sam, data)
    with pytest.raises(TooManyDrafts):
        limited.create_draft(sam, data)
    limited.create_draft(sue, data)
    with pytest.raises(TooManyDrafts):
        limited.create_draft(sue, data)


def test_rate_budgets_are_per_key_and_window(tmp_path: Path, backend: Backend) -> None:
    clock = [6000.0]  # the registry's minutes by a clock of the test's own: minute 100
    registry = backend.open(tmp_path, lambda: clock[0])
    budgets = (("token:a", 2), ("client:x", 3))
    assert [registry.count_write(budgets) for _ in range(2)] == [None, None]
    assert registry.count_write(budgets) == "token:a"
    assert registry.count_write((("token:b", 2), ("client:x", 3))) is None
    assert registry.count_write((("token:c", 2), ("client:x", 3))) == "client:x"
    clock[0] += 60
    assert registry.count_write(budgets) is None  # the next minute


def test_export_and_import_lose_nothing(releases: Releases, tmp_path: Path) -> None:
    sam, _, pat = _people(releases)
    draft = releases.create_draft(sam, _submission(changed(_dump(releases), GOOD_FIGURE)))
    releases.publish(pat, draft.id, releases.draft(pat, draft.id).version, NOTE)
    releases.create_draft(sam, _submission(changed(_dump(releases, 2), BAD_FIGURE)))
    export(releases, tmp_path / "export")
    assert (tmp_path / "export" / "audit.trig").read_bytes().count(b"prov:Activity") >= 4
    copy = local_releases(tmp_path / "copy")
    import_(copy, tmp_path / "export")
    for table in ("tokens", "drafts", "releases", "audit"):
        assert copy.registry.rows(table) == releases.registry.rows(table)
    assert copy.registry.state() == releases.registry.state()
    for n in (1, 2):
        for name in releases.registry.release(n).dumps:  # type: ignore[union-attr]  # releases 1 and 2 exist
            assert sha256(copy.release_folder(n) / name) == sha256(releases.release_folder(n) / name)
    export(copy, tmp_path / "again")
    assert (tmp_path / "again" / "registry.json").read_bytes() == (tmp_path / "export" / "registry.json").read_bytes()
    with pytest.raises(TransferError):  # never over existing data
        import_(copy, tmp_path / "export")


def test_an_import_with_a_damaged_dump_changes_nothing(releases: Releases, tmp_path: Path) -> None:
    export(releases, tmp_path / "export")
    (tmp_path / "export" / "releases" / "1" / "ceopgraph.ttl").write_bytes(b"damaged")
    copy = local_releases(tmp_path / "copy")
    with pytest.raises(TransferError, match="sha256"):
        import_(copy, tmp_path / "export")
    assert copy.registry.is_empty() and copy.registry.state()[0] == 0


@pytest.mark.parametrize("fmt", ["trig", "nquads", "turtle", "ntriples", "jsonld", "rdfxml"])
def test_a_draft_in_any_of_the_six_formats(fmt: str, releases: Releases) -> None:
    """Release 1 sent back in each format is the same content: it conforms and changes nothing."""
    sam, _, _ = _people(releases)
    data = Dataset()
    data.parse(data=_dump(releases), format="trig")
    body = rdfio.serialise(data, FORMATS_BY_NAME[fmt])
    draft = releases.create_draft(sam, Submission(body, fmt, f"release-1.{fmt}"))
    assert draft.conforms, draft.report
    assert json.loads(draft.diff)["triples"] == {"added": 0, "removed": 0}


def test_a_draft_names_only_our_graphs_and_a_move_between_graphs_shows(releases: Releases) -> None:
    sam, _, _ = _people(releases)
    dump = _dump(releases)
    foreign = dump.replace(b"<https://w3id.org/ceopgraph/data/graph/figures> {", b"<http://evil.example/g> {")
    with pytest.raises(UnreadableRdf, match="not one of this dataset's"):
        releases.create_draft(sam, _submission(foreign))
    reserved = dump + b"\n<https://w3id.org/ceopgraph/data/graph/releases> { <urn:a> <urn:b> <urn:c> . }\n"
    with pytest.raises(UnreadableRdf, match="made by the service itself"):
        releases.create_draft(sam, _submission(reserved))
    moved = dump.replace(
        b"<https://w3id.org/ceopgraph/data/graph/figures> {", b"<https://w3id.org/ceopgraph/data/graph/numbers> {"
    )
    diff = json.loads(releases.create_draft(sam, _submission(moved)).diff)
    assert diff["triples"] == {"added": 0, "removed": 0}  # the union is the same
    graphs = {g["label"]: (g["added"], g["removed"]) for g in diff["graphs"]["changed"]}
    assert set(graphs) == {"figures", "numbers"} and graphs["figures"][0] == "0" and graphs["numbers"][1] == "0"


def test_publishing_needs_the_version_reviewed(releases: Releases) -> None:
    sam, _, pat = _people(releases)
    draft = releases.create_draft(sam, _submission(changed(_dump(releases), GOOD_FIGURE)))
    read = releases.draft(pat, draft.id).version
    with pytest.raises(PreconditionRequired):
        releases.publish(pat, draft.id, None, NOTE)
    releases.replace_draft(sam, draft.id, _submission(with_since_launch(_dump(releases), 9999)))
    with pytest.raises(Conflict, match="changed since you read it"):
        releases.publish(pat, draft.id, read, NOTE)  # what the publisher read is not what is there now
    assert releases.registry.state()[0] == 1
    assert releases.publish(pat, draft.id, releases.draft(pat, draft.id).version, NOTE).n == 2


def test_a_diff_refresh_never_overwrites_a_replace(releases: Releases) -> None:
    sam, _, pat = _people(releases)
    draft = releases.create_draft(sam, _submission(changed(_dump(releases), GOOD_FIGURE)))
    stale = releases.registry.draft(draft.id, None)
    assert stale is not None
    releases.replace_draft(sam, draft.id, _submission(changed(_dump(releases), BAD_FIGURE)))
    with pytest.raises(Conflict):
        releases.registry.replace_draft(stale, expected_revision=stale.revision)
    assert releases.draft(pat, draft.id).violations == 1  # the replace stands


def test_a_large_draft_can_be_compared_again_after_another_release(tmp_path: Path, built_dist: Path) -> None:
    """A draft's stored N-Quads are larger than the TriG uploaded: comparing them again is not an upload."""
    trig = (built_dist / "ceopgraph.trig").read_bytes()
    tight = cli_releases(load_settings(environ={}, data_dir=tmp_path / "data", max_submission_bytes=len(trig) + 4096))
    tight.ensure_first_release(built_dist / "ceopgraph.trig")
    sam, _, pat = _people(tight)
    first = tight.create_draft(sam, _submission(changed(_dump(tight), GOOD_FIGURE)))
    second = tight.create_draft(sam, _submission(_dump(tight).replace(b"obsValue 16568", b"obsValue 16570")))
    assert len(second.nquads) > len(trig) + 4096
    tight.publish(pat, first.id, tight.draft(pat, first.id).version, NOTE)
    refreshed = tight.current_diff(pat, second.id)
    assert refreshed.base_release == 2 and refreshed.revision == second.revision  # read, not stored
    assert tight.publish(pat, second.id, refreshed.version, NOTE, acknowledged=frozenset({"reverts"})).n == 3


def test_previous_version_is_the_release_that_was_current(releases: Releases) -> None:
    sam, _, pat = _people(releases)
    for value in (b"16570", b"16571"):
        draft = releases.create_draft(
            sam,
            _submission(_dump(releases, releases.registry.state()[0]).replace(b"obsValue 16568", b"obsValue " + value)),
        )
        releases.publish(pat, draft.id, releases.draft(pat, draft.id).version, NOTE)
    releases.withdraw(pat, 3, "wrong")
    draft = releases.create_draft(sam, _submission(_dump(releases, 2).replace(b"obsValue 16570", b"obsValue 16572")))
    assert releases.publish(pat, draft.id, releases.draft(pat, draft.id).version, NOTE).n == 4
    dump = rdfio.parse_rdf(_dump(releases, 4), FORMATS_BY_NAME["trig"], "release 4", 1 << 30)
    live = releases_graph(SCHEME, [listed(r) for r in releases.registry.releases()], 4)
    previous = URIRef("http://www.w3.org/ns/dcat#previousVersion")
    assert (
        set(dump.objects(SCHEME.release(4), previous))
        == set(live.objects(SCHEME.release(4), previous))
        == {SCHEME.release(2)}
    )


def test_an_import_refuses_unrecorded_files_links_and_another_base(releases: Releases, tmp_path: Path) -> None:
    export(releases, tmp_path / "export")
    dumps = tmp_path / "export" / "releases" / "1"
    (dumps / "extra.html").write_bytes(b"<script>")
    with pytest.raises(TransferError, match="holds"):
        import_(local_releases(tmp_path / "one"), tmp_path / "export")
    (dumps / "extra.html").unlink()
    (dumps / "ceopgraph.ttl").unlink()
    (dumps / "ceopgraph.ttl").symlink_to("/etc/passwd")
    with pytest.raises(TransferError, match="link"):
        import_(local_releases(tmp_path / "two"), tmp_path / "export")
    other = open_releases(load_settings(environ={}, data_dir=tmp_path / "three", base_uri="https://example.org/other/"))
    with pytest.raises(TransferError, match="base URI"):
        import_(other, tmp_path / "export")
    for name in ("one", "two", "three"):
        assert not any((tmp_path / name / "releases").iterdir())


def test_what_a_draft_would_store_is_bounded_changeset_report_and_diff_included(releases: Releases) -> None:
    """The bound is on the data, changeset, report and diff together: one byte under what a draft takes
    refuses it (naming both sizes) and stores nothing; the bound itself admits it."""
    sam, _, _ = _people(releases)
    data = changed(_dump(releases), GOOD_FIGURE)
    made = releases.create_draft(sam, _submission(data))
    stored = len(made.nquads) + len(made.changeset) + len(made.report.encode()) + len(made.diff.encode())
    assert len(made.nquads) < stored  # a bound between the two tests the changeset, report and diff
    settings = load_settings(environ={}, data_dir=releases.folder, max_draft_bytes=stored - 1)
    tight = cli_releases(settings)
    before = tight.registry.rows("drafts")
    with pytest.raises(DraftTooLarge) as refused:
        tight.create_draft(sam, _submission(data))
    assert f"would take {stored:,} bytes (data {len(made.nquads):,}, changeset" in str(refused.value)
    assert f"more than the {stored - 1:,} bytes a draft may take" in str(refused.value)
    assert tight.registry.rows("drafts") == before
    exact = cli_releases(load_settings(environ={}, data_dir=releases.folder, max_draft_bytes=stored))
    assert exact.create_draft(sam, _submission(data)).triples == made.triples


GRAPHS = BASE + "data/graph/"


@pytest.mark.parametrize(
    ("name", "says"),
    [
        (GRAPHS + "releases/", "made by the service itself"),
        (GRAPHS + "releases#x", "made by the service itself"),
        (GRAPHS + "%72eleases", "made by the service itself"),
        (GRAPHS + "./releases", "made by the service itself"),
        (GRAPHS + "x/../releases", "made by the service itself"),
        (GRAPHS + "releases?x", "made by the service itself"),
        (GRAPHS + "audit/x", "made by the service itself"),
        (GRAPHS, "not a graph name this dataset makes"),
        (GRAPHS + "figures/", "not a graph name this dataset makes"),
        (GRAPHS + "figures#x", "not a graph name this dataset makes"),
        (GRAPHS + "figures#", "not a graph name this dataset makes"),
        (GRAPHS + "figures?", "not a graph name this dataset makes"),
        (GRAPHS + "a/b", "not a graph name this dataset makes"),
        (GRAPHS + ".hidden", "not a graph name this dataset makes"),
        (GRAPHS + "%66igures", "spelled otherwise"),
        ("https://W3ID.ORG:443/ceopgraph/data/graph/figures", "spelled otherwise"),
        ("urn:x-rdflib:default", "the name rdflib gives the default graph"),
    ],
)
def test_graph_names_the_scheme_cannot_make_are_refused(name: str, says: str, releases: Releases) -> None:
    """Graph names are parsed and normalised before the rule: look-alikes of the reserved graphs, names of
    more or less than one segment, other spellings of a graph and rdflib's default-graph placeholder are
    refused, naming the graph, and no draft is made."""
    sam, _, _ = _people(releases)
    extra = f'\n<{name}> {{ <{BASE}id/organisation/ceop> <http://www.w3.org/2000/01/rdf-schema#comment> "x" . }}\n'
    with pytest.raises(UnreadableRdf, match=says) as refused:
        releases.create_draft(sam, _submission(_dump(releases) + extra.encode()))
    assert f"<{name}>" in refused.value.message
    assert releases.drafts(sam) == []


DUMP_1 = f"{BASE}releases/1/dumps/ceopgraph.trig"
WHOLE = f"{BASE}data/ceopgraph"
SPDX = "http://spdx.org/rdf/terms#"
FORGED = f"""
<{GRAPHS}metadata> {{
  <{DUMP_1}> <http://www.w3.org/2000/01/rdf-schema#comment> "sha256 {"0" * 64}" ;
      <{SPDX}checksum> [ <{SPDX}algorithm> <{SPDX}checksumAlgorithm_sha256> ; <{SPDX}checksumValue> "{"0" * 64}" ] .
  <{WHOLE}> <http://www.w3.org/ns/prov#wasGeneratedBy> <http://evil.example/act> ;
      <http://rdfs.org/ns/void#sparqlEndpoint> <http://evil.example/sparql> ;
      <http://purl.org/dc/terms/title> "Forged"@en .
  <{BASE}data/%63eopgraph> <http://rdfs.org/ns/void#sparqlEndpoint> <http://evil.example/sparql2> .
  <{BASE}id/service/sparql> <http://www.w3.org/ns/dcat#endpointURL> <http://evil.example/sparql> .
  <http://evil.example/catalogue> <http://www.w3.org/ns/dcat#dataset> <{WHOLE}> .
  <http://evil.example/thing> <http://rdfs.org/ns/void#inDataset> <{WHOLE}/release/1> .
  <http://evil.example/ds> <http://rdfs.org/ns/void#sparqlEndpoint> <http://evil.example/sparql3> .
  <{BASE}data/annual-review-2012-13> <http://www.w3.org/ns/dcat#downloadURL> <http://evil.example/dump> .
}}
"""
# What the draft claimed, as the diff lists it (the checksum's blank node aside).
CLAIMS = {
    f'<{DUMP_1}> <http://www.w3.org/2000/01/rdf-schema#comment> "sha256 {"0" * 64}" .',
    f"<{WHOLE}> <http://www.w3.org/ns/prov#wasGeneratedBy> <http://evil.example/act> .",
    f"<{WHOLE}> <http://rdfs.org/ns/void#sparqlEndpoint> <http://evil.example/sparql> .",
    f'<{WHOLE}> <http://purl.org/dc/terms/title> "Forged"@en .',
    f"<{BASE}data/%63eopgraph> <http://rdfs.org/ns/void#sparqlEndpoint> <http://evil.example/sparql2> .",
    f"<{BASE}id/service/sparql> <http://www.w3.org/ns/dcat#endpointURL> <http://evil.example/sparql> .",
    f"<http://evil.example/catalogue> <http://www.w3.org/ns/dcat#dataset> <{WHOLE}> .",
    f"<http://evil.example/thing> <http://rdfs.org/ns/void#inDataset> <{WHOLE}/release/1> .",
    "<http://evil.example/ds> <http://rdfs.org/ns/void#sparqlEndpoint> <http://evil.example/sparql3> .",
    f"<{BASE}data/annual-review-2012-13> <http://www.w3.org/ns/dcat#downloadURL> <http://evil.example/dump> .",
}


def test_forged_service_metadata_is_taken_out_listed_and_never_published(
    releases: Releases, settings: Settings, built_dist: Path
) -> None:
    """What the service says of its dataset, releases, dumps and endpoint is the service's: a draft's
    statements about them are dropped, listed in the diff (JSON and page), and the release, its dumps, the
    releases graph and ``/.well-known/void`` carry the service's values only."""
    sam, _, _ = _people(releases)
    secret = releases.tokens.create("publisher", "Pat")[1]
    pat = releases.tokens.check(secret)
    draft = releases.create_draft(sam, _submission(changed(_dump(releases), GOOD_FIGURE) + FORGED.encode()))
    assert draft.conforms, draft.report
    diff = json.loads(draft.diff)
    assert diff["triples"] == {"added": 4, "removed": 4}  # the figure and its words only: nothing forged is content
    listed = {d["statement"] for d in diff["dropped"]}
    assert {s for s in listed if "_:" not in s} == CLAIMS
    assert len(listed - CLAIMS) == 3  # the checksum, its algorithm and its value, its blank node with it
    assert {d["graph"] for d in diff["dropped"]} == {GRAPHS + "metadata"}
    releases.publish(pat, draft.id, releases.draft(pat, draft.id).version, NOTE)
    dump = _dump(releases, 2)
    assert b"evil.example" not in dump and b"Forged" not in dump and b"0" * 64 not in dump
    published = rdfio.parse_rdf(dump, FORMATS_BY_NAME["trig"], "release 2", 1 << 30)
    assert set(published.objects(URIRef(WHOLE), VOID.sparqlEndpoint)) == {URIRef(BASE + "sparql")}
    title = URIRef("http://purl.org/dc/terms/title")
    assert set(published.objects(URIRef(WHOLE), title)) == {
        Literal("CEOP Annual Review 2012/13 as linked open data", lang="en")
    }
    with release_app(settings, built_dist, releases.folder) as app:
        client = app.test_client()
        void = client.get("/.well-known/void", headers={"Accept": "application/n-triples"})
        assert void.status_code == 200 and b"evil.example" not in void.data
        described = rdfio.parse_rdf(void.data, FORMATS_BY_NAME["ntriples"], "void", 1 << 24)
        endpoints = set(described.objects(URIRef(WHOLE), VOID.sparqlEndpoint))
        assert endpoints == {URIRef(BASE + "sparql"), URIRef("http://localhost/sparql")}  # ours, and this server's
        series = client.get("/releases", headers={"Accept": "application/n-triples"})
        assert series.status_code == 200 and b"evil.example" not in series.data and b"0" * 64 not in series.data
        reviewer = {"Authorization": f"Bearer {secret}"}
        page = client.get(f"/drafts/{draft.id}/diff", headers={**reviewer, "Accept": "text/html"}).get_data(True)
        assert all(str(escape(claim)) in page for claim in CLAIMS)
        as_json = client.get(f"/drafts/{draft.id}/diff", headers={**reviewer, "Accept": "application/json"})
        assert as_json.json is not None and as_json.json["dropped"] == diff["dropped"]


# Blank nodes: rdflib's canonical labelling took 19 s for 40 identical ones, 60 s and more for 100.


@pytest.mark.parametrize("n", [34, 100])
def test_drafts_with_many_identical_blank_nodes_are_prepared_and_published(releases: Releases, n: int) -> None:
    sam, _, pat = _people(releases)
    draft = bounded(lambda: releases.create_draft(sam, _submission(with_twins(_dump(releases), n))), 60.0)
    assert draft.conforms, draft.report
    assert json.loads(draft.diff)["triples"] == {"added": n, "removed": 0}
    labels = set(re.findall(rb"_:(b[0-9a-f]{32}) ", draft.nquads))
    assert len(labels) == n  # stored with stable labels, which the preview's store keeps
    again = releases.replace_draft(sam, draft.id, _submission(with_twins(_dump(releases), n, label="other")))
    assert again.nquads == draft.nquads  # other labels in the submission, the same content
    release = bounded(lambda: releases.publish(pat, draft.id, again.version, NOTE), 60.0)
    assert set(re.findall(rb"_:(b[0-9a-f]{32}) ", _dump(releases, release.n))) == labels


def test_blank_nodes_that_cannot_be_told_apart_are_refused(releases: Releases) -> None:
    sam, _, _ = _people(releases)
    with pytest.raises(UnreadableRdf, match=r"draft.trig: \d+ blank nodes cannot be told apart.*give them IRIs"):
        bounded(lambda: releases.create_draft(sam, _submission(with_cycles(_dump(releases), 150))), 60.0)
    assert [d.id for d in releases.registry.drafts()] == []


def test_the_command_lines_runner_reads_the_shapes_at_its_first_job_and_only_then(
    tmp_path: Path, settings: Settings
) -> None:
    """A command that runs no job (a token listed, an audit) never waits for the shapes to be read and
    prepared; a command that runs several reads them once."""
    shapes = tmp_path / "shapes" / "shapes.ttl"
    shapes.parent.mkdir()
    shapes.write_text("not Turtle")
    run = run_in_process(replace(settings, root=tmp_path))  # nothing read yet: no error
    job = ValidateJob(Submission(b"<https://example.org/a> a <https://example.org/B> .", "turtle", "a.ttl"))
    with pytest.raises(SyntaxError):
        run(job)
    shapes.write_bytes((settings.shapes_dir / "ceopgraph-shapes.ttl").read_bytes())
    assert run(job).conforms
    shapes.write_text("not Turtle")
    assert run(job).conforms  # read once, at the first job that succeeded in reading them
