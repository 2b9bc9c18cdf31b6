"""Assemble the dataset from ``ontology/`` and ``data/``, add what is computed, and write the dumps.

Each Turtle file becomes one named graph (its file name is the graph's name), so a consumer can fetch
or query one concern. Everything that can be counted or listed from the data (triple counts, the
vocabularies used, the distributions) is computed here rather than typed by hand, so it cannot drift.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rdflib import Dataset, Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF, RDFS, VOID, XSD
from rdflib.term import IdentifiedNode

from ceopgraph import rdfio, tables
from ceopgraph.bnodes import relabel_dataset
from ceopgraph.config import Settings
from ceopgraph.conneg import FORMATS_BY_EXTENSION, RDF_FORMATS, RdfFormat
from ceopgraph.namespaces import OGL_V3, SCHEMA, SD, STANDARD_PREFIXES, bind_prefixes, prefix_map
from ceopgraph.urischeme import DUMP_STEM, UriScheme

METADATA_GRAPH = "metadata"
PROVENANCE_GRAPH = "provenance"
NEWS_SOURCE_SUFFIX = "-news.txt"
# The curated files are ours, but they go through the same parser as submissions; this only stops a
# runaway file, far above the size of any real one.
CURATED_FILE_LIMIT = 64 * 1024 * 1024


class BuildError(Exception):
    """The sources cannot be assembled into a dataset (unreadable file, missing source text)."""


def source_files(settings: Settings) -> list[Path]:
    """The curated Turtle files, ontology first, in a fixed order."""
    return sorted(settings.ontology_dir.glob("*.ttl")) + sorted(settings.curated_dir.glob("*.ttl"))


def build_dataset(settings: Settings) -> Dataset:
    """Read the sources into one Dataset of named graphs (nothing in the default graph)."""
    scheme = settings.scheme
    dataset = Dataset(default_union=True)
    bind_prefixes(dataset, scheme)
    for path in source_files(settings):
        name = "vocabulary" if path.parent == settings.ontology_dir else path.stem
        try:
            parsed = rdfio.read_files([path], CURATED_FILE_LIMIT, base_uri=scheme.base)
        except rdfio.UnreadableRdf as exc:
            raise BuildError(exc.message) from exc
        graph = dataset.graph(scheme.graph_iri(name))
        graph += parsed
    _add_source_texts(dataset, settings)
    add_metadata(dataset, scheme)
    return dataset


def _add_source_texts(dataset: Dataset, settings: Settings) -> None:
    """Put each news item's text in the graph, byte for byte, from ``data/source/{slug}-news.txt``.

    The text is kept in one file rather than in Turtle so that the provenance selectors are checked
    against exactly the bytes that were published.
    """
    provenance = dataset.graph(settings.scheme.graph_iri(PROVENANCE_GRAPH))
    news = settings.scheme.id["news-item/"]
    for path in sorted((settings.curated_dir / "source").glob("*" + NEWS_SOURCE_SUFFIX)):
        article = URIRef(news + path.name.removesuffix(NEWS_SOURCE_SUFFIX))
        if (article, RDF.type, SCHEMA.NewsArticle) not in provenance:
            raise BuildError(f"{path}: no schema:NewsArticle <{article}> in the provenance graph")
        provenance.add((article, SCHEMA.text, Literal(read_source_text(path))))


def read_source_text(path: Path) -> str:
    """The source exactly as stored: UTF-8, no newline translation."""
    return path.read_bytes().decode("utf-8")


def _vocabularies(dataset: Dataset) -> set[URIRef]:
    """The standard namespaces whose terms the data uses as predicates or classes."""
    used = {str(p) for _, p, _, _ in dataset.quads()} | {
        str(o) for _, p, o, _ in dataset.quads((None, RDF.type, None, None))
    }
    namespaces = {str(ns) for ns in STANDARD_PREFIXES.values()} | {str(SCHEMA)}
    return {URIRef(ns) for ns in namespaces if any(term.startswith(ns) for term in used)}


def add_metadata(dataset: Dataset, scheme: UriScheme) -> None:
    """Add the computed parts of the VoID/DCAT description to the metadata graph."""
    meta = dataset.graph(scheme.graph_iri(METADATA_GRAPH))
    whole = scheme.dataset
    meta.add((whole, VOID.uriSpace, Literal(scheme.base)))
    meta.add((whole, DCTERMS.conformsTo, scheme.shapes))
    for vocabulary in sorted(_vocabularies(dataset)):
        meta.add((whole, VOID.vocabulary, vocabulary))
    for fmt in RDF_FORMATS:
        distribution = scheme.distribution(fmt.name)
        url = scheme.dump(fmt.extension)
        meta.add((whole, DCAT.distribution, distribution))
        meta.add((whole, VOID.dataDump, url))
        meta.add((distribution, RDF.type, DCAT.Distribution))
        meta.add((distribution, DCTERMS.title, Literal(f"Dump of the whole dataset in {fmt.name}", lang="en")))
        meta.add((distribution, DCAT.downloadURL, url))
        meta.add((distribution, DCAT.accessURL, url))
        meta.add((distribution, DCAT.mediaType, URIRef(fmt.iana_iri)))
        meta.add((distribution, DCTERMS.license, OGL_V3))
    graphs = sorted(g.identifier for g in dataset.graphs() if isinstance(g.identifier, URIRef))
    for name in graphs:
        if name == meta.identifier or not len(dataset.graph(name)):
            continue
        meta.add((whole, VOID.subset, name))
        meta.add((name, RDF.type, VOID.Dataset))
        meta.add((name, RDF.type, SD.NamedGraph))
        meta.add((name, RDFS.label, Literal(f"Named graph: {str(name).rsplit('/', 1)[-1]}", lang="en")))
    meta.add((whole, VOID.subset, meta.identifier))
    meta.add((meta.identifier, RDF.type, VOID.Dataset))
    meta.add((meta.identifier, RDF.type, SD.NamedGraph))
    meta.add((meta.identifier, RDFS.label, Literal("Named graph: metadata", lang="en")))
    _add_triple_counts(dataset, meta, whole, [g for g in graphs if g != meta.identifier] + [meta.identifier])


def _add_triple_counts(dataset: Dataset, meta: Graph, whole: URIRef, graphs: list[IdentifiedNode]) -> None:
    """``void:triples`` for each named graph and the whole, counting the count triples themselves.

    Each count adds exactly one triple to the metadata graph, so the metadata graph's own count is
    its size now plus the number of counts still to be added.
    """
    counted = [g for g in graphs if len(dataset.graph(g))]
    counts: dict[IdentifiedNode, int] = {g: len(dataset.graph(g)) for g in counted if g != meta.identifier}
    counts[meta.identifier] = len(meta) + len(counted) + 1
    total = sum(counts.values())
    for name, count in counts.items():
        meta.add((name, VOID.triples, Literal(count, datatype=XSD.integer)))
    meta.add((whole, VOID.triples, Literal(total, datatype=XSD.integer)))


def union_graph(dataset: Dataset) -> Graph:
    """All triples of all named graphs in one graph: what SHACL validates and SPARQL's default graph holds."""
    union = Graph()
    for s, p, o, _ in dataset.quads():
        union.add((s, p, o))
    return union


# Dumps ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dump:
    path: Path
    media_type: str
    sha256: str


def serialise_dump(dataset: Dataset, fmt: RdfFormat, scheme: UriScheme) -> bytes:
    """One dump: formats with named graphs keep them, the others hold the union of all graphs. Callers pass
    the dataset with stable blank node labels (``bnodes.relabel_dataset``, once for all six): the stores
    that load a dump keep its labels, so pages show them as they are and equal data gives equal bytes."""
    return rdfio.serialise(dataset, fmt, prefix_map(scheme))


def dump_files(dataset: Dataset, scheme: UriScheme) -> dict[str, bytes]:
    """Every file of the dumps, by name: the dataset in each RDF format, and each data cube's CSV with its
    CSVW metadata (``ceopgraph.tables``). The built dumps and every release's are made here. Callers pass
    the dataset relabelled, as for ``serialise_dump``."""
    made = rdfio.serialise_each(dataset, RDF_FORMATS, prefix_map(scheme))  # one copy to the engine for all six
    rdf = {f"{DUMP_STEM}.{fmt.extension}": made[fmt.name] for fmt in RDF_FORMATS}
    return rdf | tables.table_files(union_graph(dataset))


def dump_media_type(name: str) -> str | None:
    """The media type of a file ``dump_files`` names; None for any other name."""
    stem, _, extension = name.rpartition(".")
    fmt = FORMATS_BY_EXTENSION.get(extension) if stem == DUMP_STEM else None
    return fmt.media_type if fmt is not None else tables.file_media_type(name)


def write_dumps(dataset: Dataset, out_dir: Path, scheme: UriScheme) -> list[Dump]:
    """Write every dump (``dump_files``), or none: files go to a scratch folder first and are moved in at
    the end."""
    out_dir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".build-", dir=out_dir))
    try:
        staged = []
        for name, data in dump_files(relabel_dataset(dataset), scheme).items():
            (scratch / name).write_bytes(data)
            media_type = dump_media_type(name)
            assert media_type is not None, name
            staged.append(Dump(out_dir / name, media_type, hashlib.sha256(data).hexdigest()))
        for dump in staged:
            os.replace(scratch / dump.path.name, dump.path)
        return staged
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
