"""The public endpoint against an attacker, on a live server (gunicorn on loopback): SSRF past the check,
memory bombs, heavy queries and greedy clients. Each reproduction is named after what broke.

Clients come from several loopback addresses (127.0.0.2, 127.0.0.3, …: all of 127/8 is this machine),
as different clients on the internet would. Every loop is bounded in count and time.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ceopgraph.store.embedded import EmbeddedStore
from ceopgraph.store.jobs import QueryJob, StoreError

from .listener import Listener
from .live import LiveServer, running_server

CARTESIAN = "SELECT ?c ?f ?i WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i } ORDER BY ?c ?f ?i LIMIT 1"
HEAVY_TIMEOUT_S = 20  # long enough that waiting behind a heavy query would show


def concat_bomb(levels: int = 26) -> str:
    """Each level doubles the string: 2**29 characters from under 1 KB of query."""
    lines = ['BIND("aaaaaaaa" AS ?s0)', *(f"BIND(CONCAT(?s{i}, ?s{i}) AS ?s{i + 1})" for i in range(levels))]
    return f"SELECT (STRLEN(?s{levels}) AS ?n) {{ {' '.join(lines)} }}"


@pytest.fixture(scope="module")
def hardened(tmp_path_factory: pytest.TempPathFactory, built_dist: Path) -> Iterator[LiveServer]:
    """The default server with smaller memory caps (bombs hit them sooner) and a longer time limit."""
    log = tmp_path_factory.mktemp("logs") / "hardened.log"
    env = {
        "CEOPGRAPH_QUERY_MEMORY_MB": "512",
        "CEOPGRAPH_VALIDATION_MEMORY_MB": "700",
        "CEOPGRAPH_QUERY_TIMEOUT_S": str(HEAVY_TIMEOUT_S),
        "CEOPGRAPH_CLIENT_QUERIES": "2",
    }
    with running_server(["--dist", str(built_dist), "--workers", "2"], log, env) as server:
        yield server


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    seconds: float
    retry_after: str | None = None


def get(
    server: LiveServer, path: str, client: str = "127.0.0.1", timeout: float = 60, form: str | None = None
) -> Answer:
    """One GET (or, with ``form``, a form POST) from the loopback address ``client``, on a connection of its own."""
    url = urlsplit(server.url)
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=timeout, source_address=(client, 0))
    started = time.monotonic()
    headers = {"Accept": "text/plain, */*"}
    try:
        if form is None:
            connection.request("GET", path, headers=headers)
        else:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            connection.request("POST", path, form, headers)
        response = connection.getresponse()
        body = response.read().decode(errors="replace")
        return Answer(response.status, body, time.monotonic() - started, response.getheader("Retry-After"))
    finally:
        connection.close()


def query(server: LiveServer, text: str, client: str = "127.0.0.1", timeout: float = 60) -> Answer:
    return get(server, "/sparql?" + urlencode({"query": text}), client, timeout)


def post_query(server: LiveServer, text: str, client: str = "127.0.0.1", timeout: float = 60) -> Answer:
    """For queries longer than a request line may be."""
    return get(server, "/sparql", client, timeout, form=urlencode({"query": text}))


# SSRF -------------------------------------------------------------------------------------------


def reproductions(target: str) -> list[str]:
    return [
        f"SELECT ?secret {{ ?s ?p 1SERVICE <{target}admin?x=1> {{ ?a ?b ?secret }} }}",  # number glued
        f"PREFIX : <{target}> SELECT * {{ SERVICE:x {{ ?a ?b ?c }} }}",  # prefixed name glued
        'SELECT * { BIND("\\u0022" AS ?q) SERVICE <' + target + '> { ?a ?b ?c } BIND("\\u0022" AS ?r) }',
        'SELECT * { BIND("\\u0027" AS ?q) SERVICE <' + target + "> { ?a ?b ?c } BIND('\\u0027' AS ?r) }",
        'SELECT * { BIND("\\u005C" AS ?q) SERVICE <' + target + '> { ?a ?b ?c } BIND("x" AS ?r) }',
    ]


def test_service_glued_to_a_number_a_prefix_or_behind_escapes_reaches_nothing(
    hardened: LiveServer, listener: Listener
) -> None:
    answers = [query(hardened, text) for text in reproductions(listener.url)]
    # Refused, or (the expanded \u0022 closes and reopens strings) one BIND of a long string, no SERVICE.
    assert [a.status for a in answers] == [400, 400, 200, 400, 400], [a.body for a in answers]
    assert listener.requests == 0, listener.paths


def test_the_engine_cannot_federate_even_when_the_check_is_bypassed(
    built_store: EmbeddedStore, listener: Listener
) -> None:
    """Below the application: a SERVICE query handed straight to the query processes fetches nothing."""
    job = QueryJob(f"SELECT * {{ SERVICE <{listener.url}sparql> {{ ?s ?p ?o }} }}", "SELECT", "json")
    with pytest.raises(StoreError, match="Permission denied"):  # the system's refusal, not the checker's
        built_store.execute(job)
    assert listener.requests == 0


# Obfuscations of SERVICE: spellings, escapes of its letters, glue, comments, nesting.
_SPELLINGS = st.sampled_from(["SERVICE", "service", "SeRvIcE", "\\u0053ERVICE", "SERV\\u0049CE", "\\U00000053ervice"])
_GLUE = st.sampled_from(
    ["", " ", "\n", "\t", "#c\n", "#c\r", "#c\\u000D", "#c\r\n", " SILENT ", "\u00a0", "\\u0020", "1", ".", ";"]
)
_TARGETS = st.sampled_from(["<{t}>", "<{t}sparql?x=1>", ":x", "?where", "<\\u0068ttp://127.0.0.1:{p}/>"])
_WRAPPERS = st.sampled_from(
    [
        "SELECT * {{ {s} }}",
        "SELECT * {{ ?a ?b ?c {s} }}",
        "SELECT * {{ OPTIONAL {{ {s} }} }}",
        "SELECT * {{ FILTER EXISTS {{ {s} }} }}",
        "SELECT * {{ FILTER NOT EXISTS {{ {s} }} }}",
        "SELECT * {{ {{ SELECT * {{ {s} }} }} }}",
        "ASK {{ MINUS {{ {s} }} }}",
        "CONSTRUCT {{ ?a ?b ?c }} WHERE {{ {s} }}",
        'SELECT * {{ BIND("\\u0022" AS ?q) {s} BIND("\\u0022" AS ?r) }}',
        "SELECT * {{ BIND('\\u0027' AS ?q) {s} BIND('\\u0027' AS ?r) }}",
        "DESCRIBE ?a WHERE {{ {s} }}",
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spelling=_SPELLINGS, before=_GLUE, after=_GLUE, target=_TARGETS, wrapper=_WRAPPERS)
def test_fuzzed_service_obfuscations_make_no_connection(
    hardened: LiveServer, listener: Listener, spelling: str, before: str, after: str, target: str, wrapper: str
) -> None:
    where = target.format(t=listener.url, p=listener.port)
    pattern = f"{before}{spelling}{after}{where} {{ ?a ?b ?c }}"
    text = f"PREFIX : <{listener.url}> BASE <{listener.url}> " + wrapper.format(s=pattern)
    answer = query(hardened, text)
    assert answer.status in (200, 400), answer.body
    assert listener.requests == 0, (text, listener.paths)


# Tiny inputs that killed workers (503) --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("SELECT * " + "{" * 5000 + "}" * 5000, "too deeply"),
        ("SELECT * { FILTER(" + "(" * 5000 + "1" + ")" * 5000 + ") }", "too deeply"),
        ("SELECT * { FILTER(" + "!" * 20000 + "true) }", "does not parse"),
        ("ASK { " + "FILTER EXISTS { " * 1000 + "}" * 1000 + "}", "too deeply"),
        ("a-" * 32000, "does not parse"),  # 64 KB: 9.4 s of CPU in the old tokenizer
        ("SELECT (TRIPLE(<a:s>, <a:p>, 1) AS ?t) {}", "triple terms"),
        ("CONSTRUCT { << <a:s> <a:p> 1 >> <a:q> 2 } WHERE {}", "triple terms"),
    ],
    ids=["braces", "brackets", "negations", "exists", "a-a-a", "triple-function", "triple-term"],
)
def test_a_hostile_query_is_a_400_that_says_why(hardened: LiveServer, text: str, says: str) -> None:
    answer = post_query(hardened, text)
    assert answer.status == 400 and says in answer.body


def test_a_dataset_iri_the_engine_refuses_is_a_400(hardened: LiveServer) -> None:
    answer = get(hardened, "/sparql?query=ASK%7B%7D&default-graph-uri=a:%25zz")
    assert answer.status == 400 and "not an absolute IRI" in answer.body


# Memory -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("bomb", [CARTESIAN, concat_bomb()], ids=["cartesian-order-by", "concat-doublings"])
def test_a_memory_bomb_is_stopped_with_a_clear_answer_and_the_server_goes_on(hardened: LiveServer, bomb: str) -> None:
    answer = query(hardened, bomb, client="127.0.0.9")
    assert answer.status == 503
    assert "512 MiB" in answer.body and "stopped" in answer.body
    assert query(hardened, "ASK { ?s ?p ?o }", client="127.0.0.9").status == 200


def test_a_turtle_list_bomb_sent_to_validate_is_stopped(hardened: LiveServer) -> None:
    """A 900 KB Turtle list took pySHACL to 2 GB and left 1.5 GB held by the worker."""
    items = " ".join(str(i) for i in range(150_000))
    body = f"<http://example.org/s> <http://example.org/p> ( {items} ) .".encode()
    url = urlsplit(hardened.url)
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=120)
    try:
        connection.request("POST", "/validate", body, {"Content-Type": "text/turtle", "Accept": "text/plain"})
        response = connection.getresponse()
        status, text = response.status, response.read().decode()
    finally:
        connection.close()
    assert status == 503 and "700 MiB" in text
    assert query(hardened, "ASK { ?s ?p ?o }").status == 200


# Starvation -------------------------------------------------------------------------------------


def test_cheap_queries_and_pages_are_not_queued_behind_heavy_queries(hardened: LiveServer) -> None:
    """8 clients each keep a cartesian query running (resent as each ends, for a bounded time): a cheap
    query no one asked before, a page and a repeated query are still answered at once."""
    stop = time.monotonic() + 12
    statuses: list[int] = []

    def attacker(n: int) -> None:
        while time.monotonic() < stop:
            statuses.append(query(hardened, CARTESIAN + f" # {n}-{time.monotonic()}", f"127.0.1.{n}").status)

    attackers = [threading.Thread(target=attacker, args=(n,)) for n in range(1, 9)]
    for thread in attackers:
        thread.start()
    try:
        time.sleep(3)  # every heavy query running, or refused
        cheap = [query(hardened, f"ASK {{ ?s ?p {n} }}", "127.0.2.1") for n in range(3)]
        page = get(hardened, "/doc/organisation/ceop", "127.0.2.2")
        repeated = query(hardened, "ASK { ?s ?p 0 }", "127.0.2.3")
    finally:
        for thread in attackers:
            thread.join(HEAVY_TIMEOUT_S + 30)
    assert [a.status for a in cheap] == [200, 200, 200] and page.status == 200 and repeated.status == 200
    assert max(a.seconds for a in [*cheap, page, repeated]) < 5  # not the 20 s a heavy query may run
    assert set(statuses) <= {503, 200}  # the heavy ones: stopped (lane full, or memory), never a 500


def test_a_client_with_its_queries_running_gets_429_and_others_do_not(hardened: LiveServer) -> None:
    """The cap is per server worker (2 queries each, 2 workers): of 5 at once from one address, 4 at most
    run and the others are refused with 429 and Retry-After; another client is not held up."""
    answers: list[Answer] = []

    def send(n: int) -> None:
        answers.append(query(hardened, CARTESIAN + f" # greedy {n}", "127.0.3.1"))

    greedy = [threading.Thread(target=send, args=(n,)) for n in range(5)]
    for thread in greedy:
        thread.start()
    try:
        time.sleep(0.5)
        other = query(hardened, "ASK { ?s ?p 'another client' }", "127.0.3.2")
    finally:
        for thread in greedy:
            thread.join(HEAVY_TIMEOUT_S + 30)
    refused = [a for a in answers if a.status == 429]
    assert len(refused) >= 1 and all("the limit is 2" in a.body and a.retry_after == "1" for a in refused)
    assert {a.status for a in answers} <= {429, 503}  # the rest ran into a limit of their own
    assert other.status == 200


def test_past_the_busy_limit_a_query_is_refused_at_once_and_a_page_still_answers(
    tmp_path: Path, built_dist: Path
) -> None:
    """One server worker taking 2 expensive requests: a third is a 503 at once, not a parked thread."""
    env = {"CEOPGRAPH_BUSY_REQUESTS": "2", "CEOPGRAPH_QUERY_TIMEOUT_S": str(HEAVY_TIMEOUT_S)}
    with running_server(["--dist", str(built_dist), "--workers", "1"], tmp_path / "busy.log", env) as server:
        held = [threading.Thread(target=query, args=(server, CARTESIAN + f" # {n}", f"127.0.4.{n}")) for n in (1, 2)]
        for thread in held:
            thread.start()
        try:
            time.sleep(0.5)
            refused = query(server, "ASK { ?s ?p 'a third client' }", "127.0.4.3")
            page = get(server, "/doc/organisation/ceop", "127.0.4.4")
        finally:
            for thread in held:
                thread.join(HEAVY_TIMEOUT_S + 30)
    assert refused.status == 503 and "long requests already" in refused.body and refused.retry_after
    assert refused.seconds < 5 and page.status == 200


def test_a_query_slow_to_parse_is_stopped_and_does_not_hold_up_other_clients(hardened: LiveServer) -> None:
    """A 10 KB chain of additions took pyparsing 6 s; both checkers could be kept busy by one client."""
    slow = "SELECT * WHERE { FILTER(" + "+".join(["1"] * 5000) + " > 0) }"
    answers: list[Answer] = []
    thread = threading.Thread(target=lambda: answers.append(post_query(hardened, slow, "127.0.5.1")))
    thread.start()
    try:
        time.sleep(0.6)  # the slow parse holds the slow lane now
        others = [query(hardened, f"ASK {{ ?s ?p 'other {n}' }}", "127.0.5.2") for n in range(3)]
    finally:
        thread.join(60)
    assert answers and answers[0].status == 400 and "could not be parsed within 3 s" in answers[0].body
    assert [a.status for a in others] == [200, 200, 200]
    assert max(a.seconds for a in others) < 2  # not the 3 s the slow parse may take
