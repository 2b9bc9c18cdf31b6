"""The work on a draft that grows with what was submitted, as jobs for a validation worker.

A draft's bytes are untrusted: they are parsed (``rdfio``, keeping named graphs), reduced to their
content (``content.content_of``), validated as the release they would make, and compared with the
current release, all in a validation worker that a time limit can kill and that has no network
(``validation.service.ValidationPool.run``). Rendering a release's six dumps is a job too: it grows
with the draft. The command line runs the same functions in its own process (``prepare``, ``render``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from rdflib import Dataset, Graph, URIRef

from ceopgraph import rdfio
from ceopgraph.bnodes import IndistinguishableBlankNodes, relabel_dataset
from ceopgraph.build import DUMP_STEM, graph_iri, serialise_dump, union_graph
from ceopgraph.conneg import FORMATS_BY_NAME, RDF_FORMATS
from ceopgraph.rdfio import UnreadableRdf, format_for_name
from ceopgraph.releases.content import RELEASES_GRAPH, SUBMITTED_GRAPH, Version, content_of, diff, release_dataset
from ceopgraph.releases.registry import now
from ceopgraph.validation.engine import validate_graph
from ceopgraph.validation.report import Report
from ceopgraph.validation.service import Submission, ValidatorConfig, report_from, report_payload, unreadable

NQUADS = FORMATS_BY_NAME["nquads"]
# Our own files (dumps, stored drafts) are parsed with this limit: far above any release this service accepts.
OWN_FILE_LIMIT = 1 << 31


@dataclass(frozen=True)
class Prepared:
    """A draft as stored: its content (canonical N-Quads), its report, and its diff with its base."""

    content: bytes
    triples: int
    report: Report
    diff: dict[str, object]
    changeset: bytes


def read_content(path: Path | None, base: str) -> Dataset:
    """The content of a release from its N-Quads dump (ours), or nothing before the first release. A worker
    compares many drafts with one release: its content is parsed once per file as it is on disk (read
    only; a release number that a crash left unused and a later publish took is another file)."""
    if path is None:
        return Dataset()
    found = path.stat()
    return _content_of_file(str(path), found.st_mtime_ns, found.st_size, base)


@lru_cache(maxsize=2)
def _content_of_file(path: str, _mtime_ns: int, _size: int, base: str) -> Dataset:
    data = Path(path).read_bytes()  # ours, written by a publish (a bounded read would reserve the whole limit)
    return content_of(rdfio.parse_dataset(data, NQUADS, path, OWN_FILE_LIMIT, base, draft_graph_name(base)), base)


def prepare(
    submission: Submission,
    shapes: Graph,
    config: ValidatorConfig,
    current: Path | None,
    base_release: int,
    changeset_iri: str,
) -> Prepared:
    """Parse, reduce, validate (as the release it would make) and compare a submission.

    The content is stored with stable blank node labels (``ceopgraph.bnodes``), so the draft's preview and,
    once published, its dumps and pages carry them: no request thread ever labels blank nodes. Blank nodes
    that cannot be told apart within the labelling's budget are refused here, as unreadable."""
    base = config.base_uri
    fmt = format_for_name(submission.format_name)
    parsed = rdfio.parse_dataset(
        submission.data, fmt, submission.source, config.max_bytes, base, draft_graph_name(base)
    )
    _refuse_foreign_graphs(parsed, base, submission.source)
    try:
        content = relabel_dataset(content_of(parsed, base))
    except IndistinguishableBlankNodes as exc:
        raise UnreadableRdf(f"{submission.source}: {exc}", submission.source) from exc
    would_be = release_dataset(content, base, Version(base_release + 1, now(), base_release or None))
    report = validate_graph(union_graph(would_be), shapes)
    changes, changeset = diff(read_content(current, base), content, base, base_release, changeset_iri)
    encoded = rdfio.serialise(content, NQUADS)
    return Prepared(
        encoded,
        len(set(content.quads())),
        report,
        changes.as_json(),
        rdfio.serialise(changeset, FORMATS_BY_NAME["trig"]),
    )


# Graphs the service makes itself, which no draft may bring: the live list of releases, the audit.
RESERVED_GRAPHS = (RELEASES_GRAPH, "audit")


def _refuse_foreign_graphs(parsed: Dataset, base: str, source: str) -> None:
    """A release's graphs are ours (``{base}data/graph/…``, as the front end and a remote store expect)."""
    ours = str(graph_iri(base, ""))
    for graph in parsed.graphs():
        name = str(graph.identifier)
        if not len(graph) or name == "urn:x-rdflib:default":
            continue
        if not name.startswith(ours):
            raise UnreadableRdf(
                f"{source}: graph <{name[:200]}> is not one of this dataset's; name graphs <{ours}…>", source
            )
        if name.removeprefix(ours) in RESERVED_GRAPHS:
            raise UnreadableRdf(f"{source}: graph <{name}> is made by the service itself; leave it out", source)


def render(content: bytes, base: str, version: Version) -> dict[str, bytes]:
    """The six dumps of a release: its content, version metadata and computed VoID/DCAT."""
    parsed = rdfio.parse_dataset(content, NQUADS, "the draft", OWN_FILE_LIMIT, base, draft_graph_name(base))
    release = relabel_dataset(release_dataset(content_of(parsed, base), base, version))
    return {f"{DUMP_STEM}.{fmt.extension}": serialise_dump(release, fmt, base) for fmt in RDF_FORMATS}


@dataclass(frozen=True)
class PrepareJob:
    """``prepare`` in a validation worker."""

    submission: Submission
    current: str | None  # the current release's N-Quads dump
    base_release: int
    changeset_iri: str
    max_bytes: int | None = None  # instead of the upload limit (a stored draft, prepared again)

    def run(self, config: ValidatorConfig, shapes: Graph) -> tuple[str, object]:
        try:
            current = Path(self.current) if self.current else None
            if self.max_bytes is not None:
                config = replace(config, max_bytes=self.max_bytes)
            done = prepare(self.submission, shapes, config, current, self.base_release, self.changeset_iri)
        except UnreadableRdf as exc:
            return unreadable(exc)
        return ("ok", (done.content, done.triples, report_payload(done.report), json.dumps(done.diff), done.changeset))


def prepared_from(payload: object) -> Prepared:
    """A ``PrepareJob``'s reply, as the worker sent it."""
    assert isinstance(payload, tuple)
    content, triples, report, diff_json, changeset = payload
    return Prepared(content, triples, report_from(report), json.loads(diff_json), changeset)


@dataclass(frozen=True)
class RenderJob:
    """``render`` in a validation worker."""

    content: bytes
    version: Version

    def run(self, config: ValidatorConfig, shapes: Graph) -> tuple[str, object]:
        return ("ok", render(self.content, config.base_uri, self.version))


def changeset_iri(base: str, draft_id: str) -> str:
    return f"{base}drafts/{draft_id}/diff"


def draft_graph_name(base: str) -> URIRef:
    """Where a submission's triples without a graph go."""
    return graph_iri(base, SUBMITTED_GRAPH)
