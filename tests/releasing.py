"""Releases made for tests, in scratch data directories: never in ``data/``, never served by ``make serve``.

``changed(trig, *replacements)`` is the published data with figures changed; ``BAD_FIGURE`` breaks a
derivation the shapes check (one violation), ``GOOD_FIGURE`` changes a figure nothing is derived from
(conforms). Each changes the figure's value and the words it cites with it (the article's text, the quote,
the next quote's prefix: the same length, so every position still holds), since a reported figure's words
must contain its value; ``contradicting_copy`` is the issue's figure whose words say otherwise.
``local_releases`` is the command line's ``Releases`` (work done in this process); ``release_server`` a real
server over a data directory, with a submitter's and a publisher's token.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from ceopgraph.cli import local_releases as cli_releases
from ceopgraph.compose import open_releases
from ceopgraph.config import Settings, load_settings
from ceopgraph.releases.service import OPERATOR, Releases
from ceopgraph.web.services import of

from .apps import embedded_app
from .live import ROOT, LiveServer, running_server

Replacement = tuple[bytes, bytes]

# The children safeguarded in 2012-2013: 85% up on the year before, which the derived count fixes.
BAD_FIGURE: tuple[Replacement, ...] = (
    (b"sdmx-measure:obsValue 790 ;", b"sdmx-measure:obsValue 812 ;"),
    (b"protected 790 children", b"protected 812 children"),  # the article's text and the figure's quote
    (b'"ted 790 children in', b'"ted 812 children in'),  # the next quote's prefix
)
# Children protected since launch: nothing is derived from it.
GOOD_FIGURE: tuple[Replacement, ...] = (
    (b"sdmx-measure:obsValue 2255 ;", b"sdmx-measure:obsValue 2300 ;"),
    (b"history is 2,255", b"history is 2,300"),  # the article's text and the figure's quote
    (b'"255. The plan also', b'"300. The plan also'),  # the next quote's prefix
)
# The figure that contradicts its words: the 790 observation copied to 2013-2014 with the value 900,
# still citing "The Centre safeguarded and protected 790 children in 2012/2013".
CONTRADICTING_COPY = "data/annual-review-2012-13/children-safeguarded/2013-2014"
CONTRADICTED_WORDS = '"The Centre safeguarded and protected 790 children in 2012/2013"'


def contradicting_copy(base: str) -> bytes:
    """The TriG of ``CONTRADICTING_COPY`` (in the figures graph, under the base IRI ``base``), to append to a dump."""
    return f"""<{base}data/graph/figures> {{
    <{base}{CONTRADICTING_COPY}> a <http://purl.org/linked-data/cube#Observation> ;
        <http://www.w3.org/2000/01/rdf-schema#label> "Children safeguarded and protected, 2013-2014"@en ;
        <http://purl.org/linked-data/cube#dataSet> <{base}data/annual-review-2012-13> ;
        <{base}def/dimension/statistic> <{base}def/statistic/children-safeguarded> ;
        <http://purl.org/linked-data/sdmx/2009/dimension#refPeriod>
            <http://reference.data.gov.uk/id/government-year/2013-2014> ;
        <http://purl.org/linked-data/sdmx/2009/measure#obsValue> 900 ;
        <http://purl.org/linked-data/sdmx/2009/attribute#unitMeasure> <{base}def/unit/child> ;
        <{base}def/attribute/precision> <{base}def/precision/exact> ;
        <{base}def/attribute/figure-status> <{base}def/figure-status/reported> ;
        <http://www.w3.org/ns/prov#wasDerivedFrom>
            <{base}id/news-item/ceop-annual-review-2012-13/segment/children-safeguarded> .
}}
""".encode()


# The release note a test's publisher gives (required of every publish but the operator's).
NOTE = "A figure corrected from its source"
GOOD_CHANGE = "Children protected since CEOP's launch in 2006, to the end of 2012-2013: 2255 → 2300"


def changed(trig: bytes, *replacements: Replacement | tuple[Replacement, ...]) -> bytes:
    """``trig`` with each replacement made (a pair, or a group of pairs that make one change together)."""
    for replacement in replacements:
        pairs = (replacement,) if isinstance(replacement[0], bytes) else replacement
        for old, new in pairs:
            assert isinstance(old, bytes) and isinstance(new, bytes) and old in trig, old
            trig = trig.replace(old, new)
    return trig


def since_launch(dump: bytes) -> bytes:
    """The since-launch figure as a TriG dump writes it (the observation's only obsValue after its period)."""
    block = dump.split(b"since-launch-to-2012-2013> ;", 1)[1]
    return block.split(b"sdmx-measure:obsValue ", 1)[1].split(b" ;", 1)[0]


def with_since_launch(dump: bytes, value: int) -> bytes:
    """The dump with the since-launch figure set to ``value`` (a change that conforms), its words with it
    (a four-digit value: the words keep their length, so the selectors' positions hold)."""
    old = int(since_launch(dump))
    assert 1000 <= old <= 9999 and 1000 <= value <= 9999, (old, value)
    return changed(
        dump,
        (b"sdmx-measure:obsValue %d ;" % old, b"sdmx-measure:obsValue %d ;" % value),
        (b"history is %s" % f"{old:,}".encode(), b"history is %s" % f"{value:,}".encode()),
        (b'"%03d. The plan also' % (old % 1000), b'"%03d. The plan also' % (value % 1000)),
    )


def release_dump(client: FlaskClient, n: int, name: str = "ceopgraph.trig") -> bytes:
    """A release's dump read through Flask's test client; served from its file, so the answer is closed."""
    with client.get(f"/releases/{n}/dumps/{name}") as answer:
        assert answer.status_code == 200, (n, name, answer.status_code)
        return answer.data


def current_dump(url: str) -> bytes:
    """The current release's TriG dump, from a live server."""
    current = json.loads(call(url + "releases", headers={"Accept": "application/json"})[2])["current"]
    return call(url + f"releases/{current}/dumps/ceopgraph.trig")[2]


def local_releases(data_dir: Path, database_url: str | None = None) -> Releases:
    """The command line's ``Releases`` over ``data_dir`` (its registry in PostgreSQL at ``database_url``)."""
    return cli_releases(load_settings(environ={}, data_dir=data_dir, database_url=database_url))


@contextmanager
def first_release_app(settings: Settings, built_dist: Path, data_dir: Path) -> Iterator[Flask]:
    """An app over ``data_dir``, whose release 1 is the built dataset, with write budgets no test reaches
    (the budgets' own tests set theirs)."""
    assert local_releases(data_dir).ensure_first_release(built_dist / "ceopgraph.trig") is not None
    with embedded_app(settings, built_dist, data_dir=data_dir, writes_per_client=1000, writes_per_token=1000) as made:
        yield made


def releases_of(app: Flask) -> Releases:
    """The app's write path (an app over a data directory has one)."""
    releases = of(app).releases
    assert releases is not None
    return releases


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``ceopgraph ARGS`` in a fresh process over ``data_dir``."""
    return subprocess.run(
        [sys.executable, "-m", "ceopgraph.cli", *args],
        env={**os.environ, "CEOPGRAPH_DATA_DIR": str(data_dir)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def new_token(data_dir: Path, role: str, name: str, database_url: str | None = None) -> str:
    """A token made in this process as ``ceopgraph tokens create`` makes it: the registry's ``TokenBook``,
    the creation audited as the operator's. A fresh process per token cost a second or more each; the
    command itself is tested by ``cli_token`` (``test_releases_cli``)."""
    releases = open_releases(load_settings(environ={}, data_dir=data_dir, database_url=database_url))
    try:
        record, token = releases.tokens.create(role, name)
        releases.registry.audit(OPERATOR.id, "create-token", record.id, "done", f"{record.role} {record.name}")
    finally:
        releases.registry.close()
    return token


def cli_token(data_dir: Path, role: str, name: str) -> str:
    """A token made by ``ceopgraph tokens create`` in a fresh process, for the tests of that command."""
    done = cli(data_dir, "tokens", "create", "--role", role, "--name", name)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


@dataclass(frozen=True)
class ReleaseServer:
    server: LiveServer
    data_dir: Path
    submitter: str
    publisher: str

    @property
    def url(self) -> str:
        return self.server.url


@contextmanager
def release_server(
    data_dir: Path,
    dist: Path,
    log: Path,
    *,
    workers: int = 2,
    env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
    database_url: str | None = None,
) -> Iterator[ReleaseServer]:
    """A real server (Granian) over ``data_dir``, with more ``args`` (``--endpoint URL``), its registry in
    PostgreSQL at ``database_url`` when given; tokens made first (``new_token``)."""
    submitter = new_token(data_dir, "submitter", "Sam Submitter", database_url)
    publisher = new_token(data_dir, "publisher", "Pat Publisher", database_url)
    database = {"CEOPGRAPH_DATABASE_URL": database_url} if database_url else {}
    with running_server(
        ["--dist", str(dist), "--workers", str(workers), "--data-dir", str(data_dir), *args],
        log,
        env={"CEOPGRAPH_RELEASE_POLL_S": "0.5", **database, **(env or {})},
    ) as server:
        yield ReleaseServer(server, data_dir, submitter, publisher)


class _Unfollowed(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a 303 is an answer to look at, not to follow


_NOT_FOLLOWING = urllib.request.build_opener(_Unfollowed)


def call(
    url: str, method: str = "GET", body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One request, whatever its status, redirects not followed: (status, headers by lower-case name, body);
    a header sent more than once (``Set-Cookie``) has its values one per line."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with _NOT_FOLLOWING.open(request, timeout=60) as answer:
            return answer.status, _by_name(answer.headers.items()), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, _by_name(error.headers.items()), error.read()


def _by_name(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in items:
        key = name.lower()
        found[key] = f"{found[key]}\n{value}" if key in found else value
    return found


def session_cookie(headers: dict[str, str]) -> str:
    """The session cookie an answer sets (``Set-Cookie: ceopgraph_session=…``), with its attributes."""
    (cookie,) = [line for line in headers["set-cookie"].splitlines() if line.startswith("ceopgraph_session=")]
    return cookie


def bearer(token: str, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **more}


def submit(url: str, token: str, data: bytes) -> tuple[int, dict[str, Any]]:  # the draft as JSON
    status, _, body = call(url + "drafts", "POST", data, bearer(token, **{"Content-Type": "application/trig"}))
    return status, json.loads(body)


def publish(url: str, token: str, draft_id: str) -> tuple[int, dict[str, str], bytes]:
    """Publish a draft as a publisher does: read it (its version, the ETag), then publish that version."""
    status, headers, _ = call(url + f"drafts/{draft_id}", headers=bearer(token))
    assert status == 200, status
    body = json.dumps({"note": NOTE}).encode()
    return call(
        url + f"drafts/{draft_id}/publish",
        "POST",
        body,
        bearer(token, **{"If-Match": headers["etag"], "Content-Type": "application/json"}),
    )


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def store_state(data_dir: Path) -> dict[str, object]:
    """What a write would change: the registry's rows (not sessions or counters) and every release file's hash."""
    releases = local_releases(data_dir)
    rows = {table: releases.registry.rows(table) for table in ("tokens", "drafts", "releases")}
    files = {str(p.relative_to(data_dir)): sha256(p) for p in sorted((data_dir / "releases").rglob("*")) if p.is_file()}
    return {"rows": repr(rows), "state": releases.registry.state(), "files": files}
