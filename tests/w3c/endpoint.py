"""Talking to the live endpoint the way the suite's tests need: a query with its dataset, over HTTP.

Refusals are exceptions of their own, so that an expected failure can name the one refusal it expects
(``pytest.mark.xfail(raises=...)``) and anything else still fails the test.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests

# A graph the server does not hold, hence empty (the endpoint never fetches): the default graph of a
# test whose manifest gives it no data.
EMPTY_GRAPH = "urn:x-ceopgraph-w3c:empty"
TIMEOUT_S = 30


class Refused(AssertionError):
    """The endpoint answered an error status where the suite expects an answer."""

    def __init__(self, response: requests.Response) -> None:
        self.status = response.status_code
        self.message = response.text.strip()[:300]
        super().__init__(f"HTTP {self.status}: {self.message}")


class UpdateRefused(Refused):
    """403: the endpoint is read-only and refuses SPARQL Update in every form (by design)."""


class ServiceRefused(Refused):
    """400: a SERVICE pattern, which the endpoint refuses because it never federates (by design)."""


class QueryRefused(Refused):
    """Any other refusal of a query the suite deems valid."""


def refusal(response: requests.Response) -> Refused:
    if response.status_code == 403:
        return UpdateRefused(response)
    if response.status_code == 400 and "SERVICE is not allowed" in response.text:
        return ServiceRefused(response)
    return QueryRefused(response)


@dataclass(frozen=True)
class Dataset:
    """The protocol dataset (SPARQL 1.1 Protocol §2.1.4); ``None`` sends none (the query's own FROM rules)."""

    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()

    def params(self) -> list[tuple[str, str]]:
        return [("default-graph-uri", g) for g in self.default_graphs] + [
            ("named-graph-uri", g) for g in self.named_graphs
        ]


def ask_endpoint(endpoint: str, query: str, dataset: Dataset | None, accept: str) -> requests.Response:
    """§2.1.2 query via URL-encoded POST, the dataset in the body too."""
    form = [("query", query), *(dataset.params() if dataset else [])]
    return requests.post(endpoint, data=form, headers={"Accept": accept}, timeout=TIMEOUT_S)


def send_update(endpoint: str, update: str) -> requests.Response:
    """SPARQL 1.1 Protocol §2.2.2 update via POST directly."""
    headers = {"Content-Type": "application/sparql-update; charset=utf-8"}
    return requests.post(endpoint, data=update.encode("utf-8"), headers=headers, timeout=TIMEOUT_S)
