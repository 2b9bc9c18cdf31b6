"""The per-app services (``web.services``): built with the app, closed with ``close_app``, and nothing
left running afterwards."""

from __future__ import annotations

import os
import time
from pathlib import Path

from ceopgraph.config import Settings
from ceopgraph.web.services import current, of

from .apps import embedded_app

TURTLE = {"Content-Type": "text/turtle", "Accept": "application/json"}


def _children() -> set[int]:
    """The live child processes of this test process (zombies are dead already)."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and fields[0] != "Z":
            found.add(int(entry))
    return found


def test_close_app_stops_every_process_the_app_started(settings: Settings, built_dist: Path) -> None:
    before = _children()
    with embedded_app(settings, built_dist) as app:
        client = app.test_client()
        assert client.get("/sparql", query_string={"query": "ASK { ?s ?p ?o }"}).status_code == 200
        assert (
            client.post("/validate", data=b"<http://a.example/s> <http://a.example/p> 1 .", headers=TURTLE).status_code
            == 200
        )
        started = _children() - before
        assert started, "the query, checker and validation processes run as children"
    deadline = time.monotonic() + 10
    while started & _children() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not started & _children()


def test_services_are_built_once_per_app_and_reached_from_a_request(settings: Settings, built_dist: Path) -> None:
    with embedded_app(settings, built_dist) as app:
        services = of(app)
        assert len(services.shapes) > 0  # parsed once, with the app
        guide = services.guide.get(services.store.version)  # made on first use, once per version
        assert guide and services.guide.get(services.store.version) is guide
        with app.test_request_context("/"):
            assert current() is services
