"""What every request to a SPARQL 1.1 store over HTTP has in common: for reading (``remote``) and writing (``publish``).

Only this package's ``remote`` and ``client`` and ``ceopgraph.publish`` import SPARQLWrapper. Failures
become the store's domain exceptions: unreachable or refusing connections are ``StoreUnavailable``
(503), a store that answers but not with an answer is ``StoreBadGateway`` (502), a store that takes
longer than the timeout is ``QueryTimeout`` (503).
"""

from __future__ import annotations

import ast
import http.client
import math
import urllib.error
from dataclasses import dataclass
from typing import NoReturn

from SPARQLWrapper import BASIC, DIGEST, POST, URLENCODED, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import SPARQLWrapperException

from ceopgraph import rdfio
from ceopgraph.store.jobs import QueryTimeout, StoreBadGateway, StoreError, StoreUnavailable

USER_AGENT = "ceopgraph (+https://w3id.org/ceopgraph/)"


@dataclass(frozen=True)
class Credentials:
    """For stores that want them on reads too (writes: see ``publish``); digest is what Virtuoso asks."""

    user: str
    password: str
    scheme: str = "digest"  # or "basic"
    realm: str = "SPARQL"  # the realm Virtuoso's digest challenge names


def configure(wrapper: SPARQLWrapper, credentials: Credentials | None, timeout_s: float) -> None:
    """What every request we send has in common: POST (no URL length limit), only content negotiation
    (SPARQLWrapper otherwise adds ``format``/``output`` parameters some stores misread), a timeout."""
    wrapper.setMethod(POST)
    wrapper.setRequestMethod(URLENCODED)
    wrapper.setOnlyConneg(True)
    # SPARQLWrapper takes whole seconds and treats 0 as "no timeout".
    wrapper.setTimeout(max(1, math.ceil(timeout_s)))
    if credentials is not None:
        wrapper.setHTTPAuth(DIGEST if credentials.scheme == "digest" else BASIC)
        wrapper.setCredentials(credentials.user, credentials.password, realm=credentials.realm)


def failure(exc: BaseException, what: str) -> StoreError | None:
    """The domain exception for a failed request, or None for a bug (which must surface as one).

    Messages say what happened, never where the store is: its address is the deployment's business.
    """
    if isinstance(exc, StoreError):
        return exc
    if isinstance(exc, TimeoutError) or (
        isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, TimeoutError)
    ):
        return QueryTimeout(f"the SPARQL store did not answer {what} in time; try again shortly")
    if isinstance(exc, urllib.error.HTTPError):
        if exc.code == 503:
            return StoreUnavailable(f"the SPARQL store is unavailable (it answered {what} with 503); try again shortly")
        return StoreBadGateway(f"the SPARQL store answered {what} with HTTP {exc.code}")
    if isinstance(exc, SPARQLWrapperException):
        return StoreBadGateway(f"the SPARQL store refused {what}: {store_message(exc)}")
    if isinstance(exc, urllib.error.URLError | http.client.HTTPException | OSError):
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        return StoreUnavailable(f"the SPARQL store cannot be reached ({reason}); try again shortly")
    if isinstance(exc, ValueError | rdfio.UnreadableRdf):
        return StoreBadGateway(f"the SPARQL store's answer to {what} is unreadable: {exc}")
    return None


def store_message(exc: SPARQLWrapperException) -> str:
    """The first line of what the store said (Virtuoso's goes on to echo the rewritten query)."""
    text = str(exc)
    if "Response:\n" in text:  # SPARQLWrapper appends the body's repr
        try:
            body = ast.literal_eval(text.split("Response:\n", 1)[1].strip())
            text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
        except (ValueError, SyntaxError):
            pass
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return (lines[0] if lines else "no reason given")[:300]


def raise_failure(exc: BaseException, what: str) -> NoReturn:
    """Raise the domain exception for ``exc`` from it, or ``exc`` itself when it is a bug."""
    mapped = failure(exc, what)
    if mapped is None:
        raise exc
    raise mapped from exc
