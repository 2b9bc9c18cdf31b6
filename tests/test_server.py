"""The real server: gunicorn serving the app on loopback, found healthy, stopped by PID."""

from __future__ import annotations

import os

import requests

from .live import LiveServer


def test_live_server_answers_health_checks_under_gunicorn(live_server: LiveServer) -> None:
    answer = requests.get(live_server.url + "healthz", timeout=5)
    assert answer.status_code == 200
    assert answer.text == "ok\n"
    assert answer.headers["Server"].startswith("gunicorn")
    assert answer.headers["Cache-Control"] == "no-store"
    os.kill(live_server.pid, 0)  # the process we will stop is the one answering
