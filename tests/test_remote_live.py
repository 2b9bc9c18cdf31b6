"""``ceopgraph serve --endpoint``: the whole front end from a remote store, through its outages.

The store is stopped while the server runs: answers become 503 with a message saying the store cannot
be reached (never a 500, never a hang), and the server recovers by itself when the store is back.
A store that accepts connections but never answers gives 503 within the timeout.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import pytest
from rdflib import Dataset

from ceopgraph.config import Settings, load_settings
from ceopgraph.publish import Target, publish
from ceopgraph.store.client import Credentials
from ceopgraph.store.remote import RemoteStore
from ceopgraph.web.app import create_app
from ceopgraph.web.services import close_app

from .live import running_server
from .stores import STORE_KINDS, VIRTUOSO_PASSWORD, VIRTUOSO_USER, VirtuosoServer, make_store

pytestmark = pytest.mark.remote

PAGES = ["healthz", "sparql?query=ASK+%7B+%3Fs+%3Fp+%3Fo+%7D", "doc/organisation/ceop", ".well-known/void"]


def get(url: str) -> tuple[int, str, Message]:
    """Status, body and headers (looked up by name in any case, as HTTP says: Granian sends them in lower case)."""
    request = urllib.request.Request(url, headers={"Accept": "text/plain, */*;q=0.1"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read().decode("utf-8", "replace"), answer.headers
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace"), exc.headers


@pytest.mark.parametrize("kind", STORE_KINDS)
def test_store_stopped_and_restarted_under_a_running_server(
    kind: str, tmp_path: Path, dataset: Dataset, settings: Settings
) -> None:
    store = make_store(kind, tmp_path / kind)
    store.start()
    try:
        credentials = Credentials(VIRTUOSO_USER, VIRTUOSO_PASSWORD) if isinstance(store, VirtuosoServer) else None
        target = Target(store.query_url, update_url=store.update_url, credentials=credentials)
        assert publish(dataset, target, str(settings.scheme.graph)).verified
        with running_server(["--endpoint", store.query_url, "--workers", "1"], tmp_path / "server.log") as server:
            for page in PAGES:
                status, body, _ = get(server.url + page)
                assert status == 200, (page, body[:300])

            store.stop()
            # Answers cached under the current dataset version may still be served for the version's
            # lifetime (RemoteStore.cache_s); past it, every page needs the store.
            time.sleep(RemoteStore.DEFAULT_CACHE_S + 0.5)
            for page in PAGES:
                started = time.monotonic()
                status, body, headers = get(server.url + page)
                assert status == 503, (page, status, body[:300])
                assert "SPARQL store cannot be reached" in body
                assert headers.get("Retry-After")
                assert time.monotonic() - started < 15

            store.start()
            deadline = time.monotonic() + 30
            while get(server.url + "healthz")[0] != 200:
                assert time.monotonic() < deadline, "the server did not recover after the store came back"
                time.sleep(0.2)
            for page in PAGES:
                status, body, _ = get(server.url + page)
                assert status == 200, (page, body[:300])
    finally:
        store.stop()


@pytest.fixture
def silent_store() -> Iterator[str]:
    """A loopback listener that accepts connections and never answers: a store hung mid-query."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/query"
    finally:
        stop.set()
        thread.join(timeout=5)
        for connection in held:
            connection.close()
        listener.close()


def test_store_that_never_answers_gives_503_within_the_timeout(silent_store: str) -> None:
    settings = load_settings(environ={}, endpoint=silent_store, query_timeout_s=1.0)
    app = create_app(settings, RemoteStore.from_settings(settings), owns_store=True)
    started = time.monotonic()
    answer = app.test_client().get("/healthz", headers={"Accept": "text/plain"})
    close_app(app)
    assert answer.status_code == 503
    assert "did not answer" in answer.get_data(as_text=True)
    assert time.monotonic() - started < 5


def test_store_answering_garbage_gives_502(tmp_path: Path) -> None:
    """A store that answers, but not SPARQL results: a bad gateway, said so."""
    import http.server

    class Garbage(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/sparql-results+json")
            self.end_headers()
            self.wfile.write(b"<html>not results</html>")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Garbage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        settings = load_settings(environ={}, endpoint=f"http://127.0.0.1:{server.server_address[1]}/query")
        app = create_app(settings, RemoteStore.from_settings(settings), owns_store=True)
        answer = app.test_client().get("/healthz", headers={"Accept": "text/plain"})
        close_app(app)
        assert answer.status_code == 502
        assert "Bad gateway" in answer.get_data(as_text=True)
        assert "not JSON" in answer.get_data(as_text=True)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
