"""Not found: where to look instead. The hints of a 404 page, from the subjects near the missing IRI."""

from __future__ import annotations

from typing import Protocol

from rdflib import Graph, URIRef

from ceopgraph import labels
from ceopgraph.paths import Linker
from ceopgraph.store.protocol import Store
from ceopgraph.urischeme import UriScheme
from ceopgraph.web.pages.builder import PageBuilder
from ceopgraph.web.pages.model import Link


class SubjectLookup(Protocol):
    """Where the subjects of our URI space are looked up by prefix (``index.SubjectIndex``, one per app)."""

    def under(self, store: Store, base: str, prefix: str, limit: int) -> list[str]: ...


def nearby(
    store: Store, linker: Linker, iri: str, scheme: UriScheme, *, index: SubjectLookup, limit: int = 12
) -> tuple[Link, ...]:
    """Resources whose IRI shares the missing one's folder (``…/organisation/``): a search hint.

    Values are bound, never spliced into a query.
    """
    parent = iri.rsplit("/", 1)[0] + "/"
    if len(parent) <= len(scheme.base):
        return ()
    builder = PageBuilder(scheme, linker, Graph())
    return tuple(
        builder.link(URIRef(subject), labels.stored_label(store, URIRef(subject)))
        for subject in index.under(store, scheme.base, parent, limit)
    )
