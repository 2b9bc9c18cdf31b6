"""Page parts bounded whatever the data: a constant number of rows per part, all of them or none.

A published draft (or a draft's preview) can hold 20,000 observations in one cube, or 20,000 segments
cited by one resource; a page listing them all would cost a server thread work that grows with the data.
So each part of a page reads at most ``MAX_ROWS`` solutions of each of its queries (``LIMIT`` one past
the cap: the store stops there, unordered, which is cheap) and shows all of them or, past the cap, none:
which unordered rows came first differs between processes, and so would the page's bytes and ETag,
while ordering them would be the work that grows. What the page leaves out it names, with the ready
query of it all, ordered (``Cut``): the web layer links it at the page's SPARQL endpoint, where that
work runs in a killable query process under the endpoint's admission.
"""

from __future__ import annotations

from dataclasses import dataclass

from ceopgraph.sparqltext import Bindings, Template
from ceopgraph.store.protocol import Row, Store

# Solutions of one query of a page part. The built dataset's largest part has 10 (the attribute query of
# the figures of its cube); a part of 1,000 rows renders in ~0.1 s.
MAX_ROWS = 1_000


@dataclass(frozen=True)
class Cut:
    """A part a page leaves out because it holds more than ``limit`` rows: what it is (for people, as in
    "the page leaves out its {part}") and ``query``, the query of all of it, ordered, its values bound."""

    part: str
    limit: int
    query: str


def limited(query: Template, rows: int = MAX_ROWS) -> Template:
    """``query`` stopped one solution past ``rows``: enough to tell that a part is over its cap."""
    return Template(f"{query.text.rstrip()}\nLIMIT {rows + 1}\n")


def ordered(query: Template, order: str, bindings: Bindings | None = None) -> str:
    """The query of a whole part, as a client runs it at the endpoint: ``query`` ordered by ``order``
    (so that LIMIT and OFFSET page through it), its values bound."""
    return Template(f"{query.text.rstrip()}\nORDER BY {order}\n").bind(bindings)


def select(store: Store, query: Template, bindings: Bindings | None = None, rows: int = MAX_ROWS) -> list[Row] | None:
    """The solutions of ``query`` when they are at most ``rows``; None when there are more. ``query``
    is a ``limited`` one (the caller keeps one per query, as every template is kept)."""
    found = store.select(query, bindings)
    return found if len(found) <= rows else None
