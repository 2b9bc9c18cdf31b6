"""Export and import of a data directory: every release, draft, token hash and audit record.

An export is a folder a person can read and a program can load again: ``registry.json`` (the rows of the
registry, the drafts' data and changesets moved out to ``drafts/{id}.nq`` and ``drafts/{id}.changeset.trig``),
``releases/{n}/`` (each release's dumps, byte for byte) and ``audit.trig`` (the audit records as PROV-O
activities in an internal graph, for reading; the rows are what an import loads). Sessions and rate
counters are transient and not exported. An import goes into an empty data directory only, checks every
release dump against the hash its row records, and loads the rows in one transaction, so a round trip
loses nothing and a damaged export changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from rdflib import Dataset, Literal
from rdflib.namespace import PROV, RDF, RDFS, XSD

from ceopgraph import rdfio
from ceopgraph.conneg import FORMATS_BY_NAME
from ceopgraph.namespaces import bind_prefixes, prefix_map
from ceopgraph.releases.content import AUDIT_GRAPH
from ceopgraph.releases.registry import AuditRecord
from ceopgraph.releases.service import RELEASES_FOLDER, Releases
from ceopgraph.urischeme import UriScheme

MANIFEST = "registry.json"
FORMAT_VERSION = 1
# Columns of the drafts table that hold bytes, exported as files.
_DRAFT_BLOBS = {6: "nq", 13: "changeset.trig"}


class TransferError(Exception):
    """An export that cannot be imported (damaged, or into a data directory that is not empty)."""


def export(releases: Releases, folder: Path) -> dict[str, int]:
    """Write the export to ``folder`` (which must not exist or be empty); what it holds, counted."""
    if folder.exists() and any(folder.iterdir()):
        raise TransferError(f"{folder} is not empty")
    (folder / "drafts").mkdir(parents=True)
    registry = releases.registry
    tables: dict[str, list[list[Any]]] = {}
    for table in ("tokens", "drafts", "releases", "audit"):
        rows = [list(row) for row in registry.rows(table)]
        if table == "drafts":
            for row in rows:
                for column, suffix in _DRAFT_BLOBS.items():
                    name = f"drafts/{row[0]}.{suffix}"
                    (folder / name).write_bytes(row[column])
                    row[column] = name
        tables[table] = rows
    for release in registry.releases():
        shutil.copytree(releases.materialised(release.n), folder / RELEASES_FOLDER / str(release.n))
    meta = {key: value for key, value in registry.meta().items() if key in ("current", "generation")}
    manifest = {"format": FORMAT_VERSION, "base_uri": releases.scheme.base, "meta": meta, "tables": tables}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    (folder / "audit.trig").write_bytes(
        rdfio.serialise(
            audit_graph(registry.audit_records(), releases.scheme), FORMATS_BY_NAME["trig"], prefix_map(releases.scheme)
        )
    )
    return {table: len(rows) for table, rows in tables.items()}


def import_(releases: Releases, folder: Path) -> dict[str, int]:
    """Load an export into ``releases``' data directory, which must hold nothing yet."""
    registry = releases.registry
    if not registry.is_empty():
        raise TransferError(f"{releases.folder} already holds tokens, drafts or releases; import into an empty one")
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise TransferError(f"{folder / MANIFEST}: {exc}") from exc
    if manifest.get("format") != FORMAT_VERSION:
        raise TransferError(f"{folder / MANIFEST}: not an export of format {FORMAT_VERSION}")
    if manifest.get("base_uri") != releases.scheme.base:
        raise TransferError(
            f"the export is of base URI {manifest.get('base_uri')!r}, this data directory's is {releases.scheme.base!r}"
        )
    tables: dict[str, list[list[Any]]] = manifest["tables"]
    for row in tables.get("drafts", []):
        for column in _DRAFT_BLOBS:
            row[column] = _inside(folder, row[column]).read_bytes()
    dumps: dict[int, dict[str, bytes]] = {}
    for row in tables.get("releases", []):
        n, recorded = int(row[0]), json.loads(row[6])
        try:
            present = sorted(entry.name for entry in (folder / RELEASES_FOLDER / str(n)).iterdir())
        except OSError as exc:
            raise TransferError(f"release {n}'s folder cannot be read: {exc}") from exc
        if present != sorted(recorded):  # every file of a release folder is a recorded, checked dump
            raise TransferError(
                f"release {n}'s folder holds {present}, its row records {sorted(recorded)}; nothing was imported"
            )
        dumps[n] = {}
        for name, digest in recorded.items():
            data = _inside(folder, f"{RELEASES_FOLDER}/{n}/{name}").read_bytes()
            if hashlib.sha256(data).hexdigest() != digest:
                raise TransferError(f"release {n}'s {name}: its sha256 is not the one recorded; nothing was imported")
            dumps[n][name] = data
    written = []
    try:
        for n, files in dumps.items():
            target = releases.release_folder(n)
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir()
            written.append(target)
            for name, data in files.items():
                (target / name).write_bytes(data)
        registry.load_rows(tables, manifest["meta"], dumps)
    except BaseException:
        for target in written:
            shutil.rmtree(target, ignore_errors=True)
        raise
    return {table: len(rows) for table, rows in tables.items()}


def _inside(folder: Path, name: str) -> Path:
    """A file the manifest names, refused if the name leaves the export's folder."""
    path = folder / name
    if path.is_symlink() or not path.resolve().is_relative_to(folder.resolve()) or not path.is_file():
        raise TransferError(f"{name!r}: not a file of the export (a link, or outside it)")
    return path


def audit_graph(records: list[AuditRecord], scheme: UriScheme) -> Dataset:
    """The audit records as PROV-O activities, in the internal graph ``{base}data/graph/audit`` (never served)."""
    dataset = Dataset()
    bind_prefixes(dataset, scheme)
    graph = dataset.graph(scheme.graph_iri(AUDIT_GRAPH))
    for record in records:
        activity = scheme.audit_activity(record.id)
        agent = scheme.audit_agent(record.agent)
        graph.add((activity, RDF.type, PROV.Activity))
        graph.add((activity, RDFS.label, Literal(f"{record.action} {record.target}: {record.outcome}")))
        graph.add((activity, PROV.startedAtTime, Literal(record.at, datatype=XSD.dateTime, normalize=False)))
        graph.add((activity, PROV.wasAssociatedWith, agent))
        graph.add((agent, RDF.type, PROV.Agent))
        if record.detail:
            graph.add((activity, RDFS.comment, Literal(record.detail)))
    return dataset
