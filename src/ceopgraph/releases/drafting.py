"""The work on a draft that grows with what was submitted, as jobs for a validation worker.

A draft's bytes are untrusted: they are parsed (``rdfio``, keeping named graphs), reduced to their
content (``content.content_of``), validated as the release they would make, and compared with the
current release, all in a validation worker that a time limit can kill and that has no network
(``validation.service.ValidationPool.run``). What a draft will occupy in the registry is bounded there
too, before anything is stored: a Turtle file of 81 KB whose IRIs share a 2,000-character prefix is
61.6 MB of N-Quads (every IRI written out in full) and a 20.5 MB changeset. Rendering a release's six
dumps is a job too: it grows with the draft. The command line runs the same functions in its own
process (``validation.service.run_here``). Jobs and replies are frozen dataclasses: a job answers its
typed result (``Prepared``, ``Rendered``) or a typed refusal (``validation.service.Refusal``).

A stored draft's N-Quads are parsed once per content in a worker (``_stored_content``): a diff refreshed
and the release rendered at publish read the parse of the same bytes, not two.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from rdflib import Dataset, URIRef

from ceopgraph import paths, rdfio, tablesin
from ceopgraph.bnodes import IndistinguishableBlankNodes, relabel_dataset
from ceopgraph.build import dump_files, union_graph
from ceopgraph.conneg import FORMATS_BY_NAME
from ceopgraph.rdfio import UnreadableRdf, format_for_name
from ceopgraph.releases.changes import MAX_RELEASES_APART, Diff, diff, union_of
from ceopgraph.releases.content import (
    AUDIT_GRAPH,
    RELEASES_GRAPH,
    SUBMITTED_GRAPH,
    Version,
    content_of,
    dropped_statements,
    merged,
    release_dataset,
    split_service_statements,
)
from ceopgraph.releases.registry import now
from ceopgraph.tablesin import Problem, TableProblems, TableTooLarge, TableUpload
from ceopgraph.urischeme import UriScheme
from ceopgraph.validation.engine import Validator
from ceopgraph.validation.report import Report
from ceopgraph.validation.service import (
    MAX_RESULTS_SHOWN,
    Refusal,
    SentReport,
    Submission,
    Unreadable,
    ValidatorConfig,
)

NQUADS = FORMATS_BY_NAME["nquads"]
TRIG = FORMATS_BY_NAME["trig"]
# Our own files (dumps, stored drafts) are parsed with this limit: far above any release this service accepts.
OWN_FILE_LIMIT = 1 << 31


# A parse stops once its quads pass this many times the stored bound, as N-Quads: what a draft brings and the
# service then takes out (its own metadata) is small, so such a draft could never be stored, and stopping there
# keeps 4 MiB of Turtle over a long prefix (gigabytes of terms) from filling a worker's memory first.
PARSED_BOUND = 2


class DraftTooLarge(Exception):
    """A draft that would occupy more of the registry than ``Settings.max_draft_bytes`` (413)."""


@dataclass(frozen=True)
class TooLarge(Refusal):
    """``DraftTooLarge``, as a reply."""

    message: str

    def error(self) -> Exception:
        return DraftTooLarge(self.message)


@dataclass(frozen=True)
class TableRefused(Refusal):
    """``TableProblems``, as a reply: every problem, and the rows they are on."""

    problems: tuple[Problem, ...]
    header: tuple[str, ...]
    rows: tuple[tuple[int, tuple[str, ...]], ...]

    def error(self) -> Exception:
        return TableProblems(self.problems, self.header, self.rows)


@dataclass(frozen=True)
class Prepared:
    """A draft as stored: its content (canonical N-Quads), its report (bounded, as a worker sends it), and
    its diff with its base (serialised only when stored: ``stored_diff``)."""

    content: bytes
    triples: int
    report: SentReport
    diff: Diff
    changeset: bytes


@dataclass(frozen=True)
class Rendered:
    """A release's dumps (six RDF dumps, each cube's table and its metadata), by file name."""

    dumps: dict[str, bytes]


def read_content(path: Path | None, scheme: UriScheme) -> Dataset:
    """The content of a release from its N-Quads dump (ours), or nothing before the first release."""
    return read_release(path, scheme)[1]


def read_release(path: Path | None, scheme: UriScheme) -> tuple[Dataset, Dataset]:
    """A release as published (its N-Quads dump) and its content; nothing before the first release. A
    worker compares many drafts with one release: it is parsed once per file as it is on disk (read
    only; a release number that a crash left unused and a later publish took is another file)."""
    if path is None:
        return Dataset(), Dataset()
    found = path.stat()
    return _release_file(str(path), found.st_mtime_ns, found.st_size, scheme)


@lru_cache(maxsize=2)
def _release_file(path: str, _mtime_ns: int, _size: int, scheme: UriScheme) -> tuple[Dataset, Dataset]:
    data = Path(path).read_bytes()  # ours, written by a publish (a bounded read would reserve the whole limit)
    published = rdfio.parse_dataset(data, NQUADS, path, OWN_FILE_LIMIT, scheme.base, draft_graph_name(scheme))
    return published, content_of(published, scheme)


# How many of the latest releases a draft that names no base is compared with, to find the one it was made from.
MAX_CANDIDATES = 5


@dataclass(frozen=True)
class ReleaseFile:
    """A release and its N-Quads dump, as a job names it."""

    n: int
    path: str


def best_match(content: Dataset, candidates: tuple[ReleaseFile, ...], scheme: UriScheme) -> ReleaseFile | None:
    """The release whose content shares the largest part of its statements with the draft's (Jaccard
    similarity of the two sets; the newest on a tie); None without candidates."""
    mine = set(union_of(content))
    best: tuple[float, int, ReleaseFile] | None = None
    for candidate in candidates:
        theirs = set(union_of(read_content(Path(candidate.path), scheme)))
        score = len(mine & theirs) / max(len(mine | theirs), 1)
        if best is None or (score, candidate.n) > best[:2]:
            best = (score, candidate.n, candidate)
    return None if best is None else best[2]


def prepare(
    submission: Submission,
    validator: Validator,
    config: ValidatorConfig,
    current: Path | None,
    base_release: int,
    changeset_iri: str,
    max_stored_bytes: int,
    stored: bool = False,
    lineage: tuple[ReleaseFile, ...] = (),
    made_from: ReleaseFile | None = None,
    table: TableUpload | None = None,
) -> Prepared:
    """Parse, reduce, validate (as the release it would make) and compare a submission; DraftTooLarge if
    what would be stored (content, changeset, report, diff) exceeds ``max_stored_bytes``. The content is
    measured first, before the work of validating and comparing it.

    The content is stored with stable blank node labels (``ceopgraph.bnodes``), so the draft's preview and,
    once published, its dumps and pages carry them: no request thread ever labels blank nodes. Blank nodes
    that cannot be told apart within the labelling's budget are refused here, as unreadable. ``stored``:
    the submission is a stored draft's canonical N-Quads (its parse is shared, ``_stored_content``).

    ``lineage``: the releases in force up to the current one, oldest first; ``made_from``: the release the
    draft was made from, else the one of the last ``MAX_CANDIDATES`` of the lineage it matches best
    (``best_match``). The diff shows what the draft reverts of the releases between the two.

    ``table``: the submission is a table (``tablesin``): its rows replace their datasets' observations in
    the current release's content, and that is the draft's RDF from here on."""
    scheme = config.scheme
    if table is not None:
        if len(table.data) > config.max_bytes or len(table.source or b"") > config.max_bytes:
            raise DraftTooLarge(
                f"{submission.source}: larger than the {config.max_bytes:,} bytes a submission may take"
            )
        parsed = tablesin.draft_content(table, read_release(current, scheme)[1], scheme)
    elif stored:
        parsed = _stored_content(submission.data, scheme, submission.source, config.max_bytes)
    else:
        try:
            parsed = rdfio.parse_dataset(
                submission.data,
                format_for_name(submission.format_name),
                submission.source,
                config.max_bytes,
                scheme.base,
                draft_graph_name(scheme),
                PARSED_BOUND * max_stored_bytes,
            )
        except rdfio.ExpandsTooFar as exc:  # counted while parsing: refused before it is all in memory
            raise DraftTooLarge(
                f"{submission.source}: parsed, its quads already take more than {exc.expanded:,} bytes as N-Quads "
                f"(every IRI written out in full), {PARSED_BOUND} times the {max_stored_bytes:,} bytes a draft may "
                "take once stored; use shorter IRIs, or submit less"
            ) from exc
    _refuse_foreign_graphs(parsed, scheme, submission.source)
    published, current_content = read_release(current, scheme)
    # What the draft says of the service's resources is not the draft's to say: taken out, listed in the
    # diff. The service's own description (the dataset's title, its endpoint…) comes from the release before.
    submitted, taken_out = split_service_statements(parsed, scheme)
    try:
        content = relabel_dataset(merged(submitted, split_service_statements(current_content, scheme)[1]))
    except IndistinguishableBlankNodes as exc:
        raise UnreadableRdf(f"{submission.source}: {exc}", submission.source) from exc
    encoded = rdfio.serialise(content, NQUADS)
    if len(encoded) > max_stored_bytes:
        raise DraftTooLarge(_too_large(submission.source, len(encoded), max_stored_bytes))
    would_be = release_dataset(content, scheme, Version(base_release + 1, now(), base_release or None))
    report = validator.validate(union_graph(would_be))
    origin = made_from or best_match(content, lineage[-MAX_CANDIDATES:], scheme) or ReleaseFile(base_release, "")
    since = [r for r in lineage if r.n > origin.n]
    history = []
    if origin.n != base_release and since and since[-1].n == base_release:
        kept = since[-MAX_RELEASES_APART:]
        history = [(r.n, read_content(Path(r.path), scheme)) for r in (origin, *kept[:-1])] + [
            (base_release, current_content)
        ]
    changes, changeset = diff(
        current_content, content, scheme, base_release, changeset_iri, history, since[0].n if history else None
    )
    changes = replace(changes, made_from=origin.n)
    changes = replace(changes, dropped=dropped_statements(taken_out, published, would_be))
    sent = SentReport.of(report)
    done = Prepared(encoded, len(set(content.quads())), sent, changes, rdfio.serialise(changeset, TRIG))
    parts = {
        "data": len(encoded),
        "changeset": len(done.changeset),
        "report": len(stored_report(sent.report()).encode()),
        "diff": len(stored_diff(done.diff).encode()),
    }
    if sum(parts.values()) > max_stored_bytes:
        shares = ", ".join(f"{name} {size:,}" for name, size in parts.items())
        raise DraftTooLarge(
            f"{submission.source}: stored, this draft would take {sum(parts.values()):,} bytes ({shares}), more "
            f"than the {max_stored_bytes:,} bytes a draft may take; use shorter IRIs, or submit less"
        )
    return done


def _too_large(source: str, at_least: int, limit: int) -> str:
    return (
        f"{source}: stored, this draft would take at least {at_least:,} bytes (its data as canonical N-Quads, "
        f"every IRI written out in full), more than the {limit:,} bytes a draft may take; use shorter IRIs, or "
        "submit less"
    )


def stored_report(report: Report) -> str:
    """A draft's report as the registry keeps it: the results a worker sends (``SentReport``), as JSON."""
    return report.first(MAX_RESULTS_SHOWN).to_json()


def stored_diff(changes: Diff) -> str:
    """A draft's figure-level diff as the registry keeps it (the one place it is serialised)."""
    return json.dumps(changes.as_json(), sort_keys=True)


# How many stored contents a worker keeps parsed: a draft's refreshed diff and its publish follow each other.
_STORED_KEPT = 2
_stored: dict[str, Dataset] = {}


def _stored_content(data: bytes, scheme: UriScheme, source: str, max_bytes: int) -> Dataset:
    """A stored draft's N-Quads (ours, canonical), parsed once per content in this process: keyed by their
    sha256, so equal bytes (the draft as refreshed, then as published) share one parse, and other bytes
    (a replaced draft, another draft) never do. The dataset returned is shared: callers only read it."""
    key = hashlib.sha256(data).hexdigest()
    found = _stored.pop(key, None)
    if found is None:
        found = rdfio.parse_dataset(data, NQUADS, source, max_bytes, scheme.base, draft_graph_name(scheme))
    _stored[key] = found  # the most recently used last
    while len(_stored) > _STORED_KEPT:
        del _stored[next(iter(_stored))]
    return found


# Graphs the service makes itself, which no draft may bring: the live list of releases, the audit.
RESERVED_GRAPHS = (RELEASES_GRAPH, AUDIT_GRAPH)


def _refuse_foreign_graphs(parsed: Dataset, scheme: UriScheme, source: str) -> None:
    """A release's graphs are ours, and only those our scheme makes: ``{base}data/graph/NAME``, NAME one
    segment (``paths.valid_segment``), spelled as ``UriScheme.graph_iri`` spells it, and not a graph the
    service makes itself. The name is parsed and normalised first (``paths.parse_iri``), so a look-alike
    of a reserved graph (``…/graph/%72eleases``, ``…/graph/./releases``, ``…/graph/releases#x``,
    ``…/graph/audit/x``) is named for what it is, and no two spellings of one graph go through."""
    for graph in parsed.graphs():
        if len(graph):
            _check_graph_name(str(graph.identifier), scheme, source)


def _check_graph_name(name: str, scheme: UriScheme, source: str) -> None:
    ours = str(scheme.graph)
    shown = name if len(name) <= 200 else name[:200] + "…"
    parsed = paths.parse_iri(name)
    rest = parsed.relative_path(paths.parse_iri(ours))
    if rest is None:
        raise UnreadableRdf(f"{source}: graph <{shown}> is not one of this dataset's; name graphs <{ours}…>", source)
    first = rest.split("/", 1)[0]
    if first in RESERVED_GRAPHS:
        raise UnreadableRdf(
            f"{source}: graph <{shown}> is (or looks like) <{ours}{first}>, made by the service itself; leave it out",
            source,
        )
    if not paths.valid_segment(rest) or parsed.query is not None or parsed.fragment is not None:
        raise UnreadableRdf(
            f"{source}: graph <{shown}> is not a graph name this dataset makes: name graphs <{ours}NAME>, NAME "
            "one segment of letters, digits and '-', '_', '~', '.' (not first), without '?' or '#'",
            source,
        )
    canonical = str(scheme.graph_iri(rest))
    if name != canonical:
        raise UnreadableRdf(
            f"{source}: graph <{shown}> is <{canonical}> spelled otherwise; write it as <{canonical}>", source
        )


def render(content: bytes, scheme: UriScheme, version: Version) -> dict[str, bytes]:
    """The dumps of a release (``build.dump_files``): of its content (stored N-Quads) with version metadata
    and computed VoID/DCAT."""
    parsed = _stored_content(content, scheme, "the draft", OWN_FILE_LIMIT)
    return dump_files(relabel_dataset(release_dataset(content_of(parsed, scheme), scheme, version)), scheme)


@dataclass(frozen=True)
class PrepareJob:
    """``prepare`` in a validation worker."""

    submission: Submission
    current: str | None  # the current release's N-Quads dump
    base_release: int
    changeset_iri: str
    max_stored_bytes: int  # what the draft may occupy once stored (``Settings.max_draft_bytes``)
    max_bytes: int | None = None  # instead of the upload limit: a stored draft (ours), prepared again
    lineage: tuple[ReleaseFile, ...] = ()  # the releases in force, oldest first, the current one last
    made_from: ReleaseFile | None = None  # the release the draft was made from, if known
    table: TableUpload | None = None  # the submission is a table, read here (``tablesin``)

    def run(self, config: ValidatorConfig, validator: Validator) -> Prepared | Refusal:
        """The prepared draft, or why not (unreadable, too large, a table's problems)."""
        try:
            current = Path(self.current) if self.current else None
            if self.max_bytes is not None:
                config = replace(config, max_bytes=self.max_bytes)
            return prepare(
                self.submission,
                validator,
                config,
                current,
                self.base_release,
                self.changeset_iri,
                self.max_stored_bytes,
                stored=self.max_bytes is not None,
                lineage=self.lineage,
                made_from=self.made_from,
                table=self.table,
            )
        except UnreadableRdf as exc:
            return Unreadable.of(exc)
        except (DraftTooLarge, TableTooLarge) as exc:
            return TooLarge(str(exc))
        except TableProblems as exc:
            return TableRefused(exc.problems, exc.header, exc.rows)


@dataclass(frozen=True)
class RenderJob:
    """``render`` in a validation worker."""

    content: bytes
    version: Version

    def run(self, config: ValidatorConfig, validator: Validator) -> Rendered:
        return Rendered(render(self.content, config.scheme, self.version))


def draft_graph_name(scheme: UriScheme) -> URIRef:
    """Where a submission's triples without a graph go."""
    return scheme.graph_iri(SUBMITTED_GRAPH)
