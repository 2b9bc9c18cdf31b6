"""``/search``: full-text search of what is served, as a page or JSON, and of a draft in its preview.

Thin over ``ceopgraph.search`` (the query's words, the documents, the snippets) and the index that holds
the served data's documents: the registry's, keyed by the release this request is pinned to (so a
search never mixes two releases, and changes with the release a worker serves), or one made in memory
for data that is no release (the embedded default without a data directory, a draft's preview).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, render_template, request

from ceopgraph import search
from ceopgraph.conneg import negotiate
from ceopgraph.labels import humanise
from ceopgraph.paths import Linker
from ceopgraph.releases.follower import ReleaseStore
from ceopgraph.web.services import Services, current

blueprint = Blueprint("search", __name__)

HTML = "text/html"
JSON = "application/json"
# What a search page may be kept for: the release it reads changes at most every publish.
CACHE_CONTROL = "public, max-age=60"

# Runs a query against the index of what a view shows.
Searcher = Callable[[search.SearchQuery], search.SearchPage]


def searcher(services: Services) -> Searcher:
    """How this request searches what the server publishes: the registry's index of the release this
    request is pinned to, or the in-memory index of the data served without releases."""
    if services.releases is not None:
        served = services.served()
        registry = services.releases.registry
        if not isinstance(services.store, ReleaseStore) and served.current not in services.search_indexed:
            services.releases.ensure_search(served)  # a remote store: no follower indexed it
            services.search_indexed.add(served.current)
        return lambda query: registry.search(served.current, query)
    index = services.memory_search.of(services.store)
    return index.search


@blueprint.get("/search")
def search_page() -> Response:
    """Search the published data."""
    return answer(searcher(current()), request.script_root, draft=False)


def answer(run: Searcher, root: str, *, draft: bool) -> Response:
    """The search of the request's parameters with ``run``, as a page or JSON (by ``Accept``); links go
    under ``root`` (the site's, or a draft preview's). A bad parameter is a 400 in the same form."""
    wants = negotiate(request.headers.get("Accept"), [HTML, JSON], default=HTML)
    if wants is None:
        return Response("offered: text/html, application/json\n", 406, mimetype="text/plain")
    args = request.args
    try:
        query = search.parse_query(args.get("q"), args.get("type"), args.get("page"))
    except search.BadSearch as exc:
        if wants == JSON:
            response = jsonify({"error": str(exc)})
            response.status_code = 400
        else:
            response = Response(
                render_template("search.html", q=args.get("q", "")[:200], error=str(exc), draft=draft), 400
            )
        response.headers["Vary"] = "Accept"
        return response
    found = run(query)
    linker = Linker(current().settings.scheme, root)
    here = f"{root}/search"
    links = {
        "next": _page_link(here, query, query.page + 1) if found.has_next else None,
        "previous": _page_link(here, query, query.page - 1) if found.has_previous else None,
    }
    if wants == JSON:
        response = jsonify(_json(found, linker, links))
    else:
        response = Response(
            render_template(
                "search.html",
                q=query.text,
                found=found,
                results=[_shown(h, linker) for h in found.hits],
                facets=[
                    {
                        "type": f.type,
                        "label": humanise(f.type, capital=True),
                        "count": f.count,
                        "href": _link(here, query.text, f.type, 1),
                        "chosen": f.type == query.type,
                    }
                    for f in found.facets
                ],
                all_types=_link(here, query.text, None, 1),
                links=links,
                page_size=search.PAGE_SIZE,
                draft=draft,
            )
        )
    response.headers["Vary"] = "Accept"
    if not draft:
        response.headers["Cache-Control"] = CACHE_CONTROL
    return response


def _shown(hit: search.Hit, linker: Linker) -> dict[str, Any]:
    return {
        "iri": hit.iri,
        "label": hit.label,
        "href": linker.document(hit.iri) or linker.href(hit.iri),
        "types": [humanise(t, capital=True) for t in hit.types],
        "snippet": hit.snippet,
        "score": hit.score,
    }


def _json(found: search.SearchPage, linker: Linker, links: dict[str, str | None]) -> dict[str, Any]:
    query = found.query
    return {
        "query": query.text,
        "words": list(query.words),
        "type": query.type,
        "release": found.release or None,
        "page": query.page,
        "pageSize": search.PAGE_SIZE,
        "total": found.total,
        "pages": found.pages,
        "results": [
            {
                "iri": h.iri,
                "label": h.label,
                "page": linker.document(h.iri),
                "types": list(h.types),
                "snippet": h.snippet,
                "score": h.score,
            }
            for h in found.hits
        ],
        "facets": [{"type": f.type, "count": f.count} for f in found.facets],
        **links,
    }


def _page_link(here: str, query: search.SearchQuery, page: int) -> str:
    return _link(here, query.text, query.type, page)


def _link(here: str, text: str, type_: str | None, page: int) -> str:
    params: dict[str, str] = {"q": text}
    if type_:
        params["type"] = type_
    if page > 1:
        params["page"] = str(page)
    return f"{here}?{urlencode(params)}"
