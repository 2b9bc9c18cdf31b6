"""HTTP caching from the dataset version: validators, conditional GET and the headers every cacheable
answer carries (RFC 9110 section 8.8 validators, section 13 conditional requests; RFC 9111 caching).

The data changes only when a new version is published, so an answer is fresh for as long as the store
keeps its version: the ``ETag`` is the version plus the representation, and ``Last-Modified`` is the
moment this app first served that version (the store knows no date; a version hash has none).

An ETag names one exact representation, in every worker: what else an answer depends on (the path
prefix its links start with, the host it names) is part of its ETag (``context``), and resource
documents take theirs from their bytes (``rendered``), so no two different answers share one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import Response, request
from werkzeug.http import parse_etags

from ceopgraph.web.services import current

MAX_AGE_S = 300
CACHE_CONTROL = f"public, max-age={MAX_AGE_S}"


@dataclass(frozen=True)
class Validators:
    etag: str  # without quotes
    last_modified: datetime | None  # None: the answer carries no date (see ``rendered``)


def validators(variant: str) -> Validators:
    """Validators for one representation (``variant``: a format name, 'html', …) of the current data."""
    services = current()
    version = services.store.version
    return Validators(f"{version}-{variant}", services.first_seen.of(version))


def is_fresh(found: Validators) -> bool:
    """RFC 9110 13.2.2: If-None-Match decides when present; If-Modified-Since only without it."""
    if request.method not in ("GET", "HEAD"):
        return False
    if "If-None-Match" in request.headers:
        return matches(request.headers["If-None-Match"], found.etag)
    since = request.if_modified_since
    return since is not None and found.last_modified is not None and found.last_modified <= since


def matches(if_none_match: str, etag: str) -> bool:
    """Whether an ``If-None-Match`` value names ``etag`` (weak comparison, RFC 9110 13.1.2) or is ``*``."""
    tags = parse_etags(if_none_match)
    return tags.contains_weak(etag) or "*" in tags


def answer_etag(version: str, variant: str, body: bytes, context: str) -> str:
    """The ETag of an answer whose bytes only a render can vouch for (``rendered``), undated: the data's
    version, the representation, and a digest of the bytes and of what else of the request they
    depend on (``context``: the endpoint URL relative IRIs resolve against)."""
    return f"{version}-{variant}-{_digest(body, context.encode())}"


def stamp(response: Response, found: Validators, vary_accept: bool = False, max_age: int = MAX_AGE_S) -> Response:
    response.set_etag(found.etag)
    if found.last_modified is not None:
        response.last_modified = found.last_modified
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    if vary_accept:
        response.vary.add("Accept")
    return response


def _digest(*parts: bytes) -> str:
    return hashlib.sha256(b"\0".join(parts)).hexdigest()[:16]


def conditional(
    variant: str,
    render: Callable[[], Response],
    vary_accept: bool = False,
    max_age: int = MAX_AGE_S,
    context: str = "",
) -> Response:
    """Answer 304 Not Modified when the client's copy is current, else ``render()``; stamp either.

    ``context``: whatever of the request the answer depends on besides the data and ``variant`` (the
    path prefix of its links, say); it becomes part of the ETag.
    """
    found = validators(f"{variant}-{_digest(context.encode())}" if context else variant)
    response = Response(status=304) if is_fresh(found) else render()
    return stamp(response, found, vary_accept, max_age)


def rendered(
    variant: str, render: Callable[[], Response], vary_accept: bool = False, context: str = "", dated: bool = True
) -> Response:
    """Like ``conditional``, with the ETag taken from the rendered bytes (and ``context``).

    For representations whose bytes only a render can vouch for (descriptions built from several
    queries and graphs, query answers): the ETag can never name two different answers, whichever
    worker renders them. Costs a render per conditional request, which the replay cache then replays.
    ``dated=False`` leaves out ``Last-Modified`` (the moment this worker first served the version), so
    that answers from different workers carry the same headers (SPARQL answers).
    """
    response = render()
    services = current()
    version = services.store.version
    etag = answer_etag(version, variant, response.get_data(), context)
    found = Validators(etag, services.first_seen.of(version) if dated else None)
    if is_fresh(found):
        response = Response(status=304)
    return stamp(response, found, vary_accept)
