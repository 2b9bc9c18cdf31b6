"""What the runner needs to know about a test's query before sending it, read with rdflib's parser.

Whether the answer is ordered (a top-level ``ORDER BY``: rows are then compared in order) and whether the
query names its own dataset (``FROM``/``FROM NAMED``: then no protocol dataset may be sent, since the
protocol's would replace it), and which local files those clauses name (the server must hold them).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.parser import parseQuery

from .manifest import iri_of, path_of


@dataclass(frozen=True)
class QueryFacts:
    ordered: bool = False  # a top-level ORDER BY
    dataset_clause: bool = False  # FROM or FROM NAMED
    from_files: tuple[Path, ...] = ()  # the local files FROM / FROM NAMED name


@cache
def facts(query_file: Path) -> QueryFacts:
    """The query's facts; a query rdflib cannot parse gets none (the endpoint's checker, the same parser,
    refuses it anyway, and the test says so)."""
    text = query_file.read_text(encoding="utf-8")
    try:
        tree = parseQuery(text)
    except Exception:  # ParseException or RecursionError
        return QueryFacts()
    top = tree[1]
    try:  # the algebra resolves the clauses' IRIs (prefixes, the file's base)
        clauses = translateQuery(tree, base=iri_of(query_file)).algebra.get("datasetClause") or []
    except Exception:  # rdflib raises bare Exceptions for some queries it parses but cannot translate
        clauses = []
    files: list[Path] = []
    for clause in clauses:
        iri = clause.get("default") or clause.get("named")
        if iri is not None and str(iri).startswith("file:"):
            path = path_of(iri)
            if path.is_file():
                files.append(path)
    return QueryFacts("orderby" in top, "datasetClause" in top, tuple(files))


def with_base(query_file: Path) -> str:
    """The query as the suite means it: relative IRIs resolve against the query file's own IRI.

    The protocol has no parameter for a base IRI (our endpoint resolves against its own URL), so it is
    stated in the query: a leading ``BASE`` is part of the prologue, and a ``BASE`` the query has itself
    resolves against it and wins, exactly as when the file is read from its location.
    """
    return f"BASE <{iri_of(query_file)}>\n" + query_file.read_text(encoding="utf-8")
