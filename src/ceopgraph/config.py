"""One settings object for every entry point.

Values come from the defaults below, then ``CEOPGRAPH_*`` environment variables, then explicit
arguments, so that a deployment is configured without code changes and tests can pass their own.
"""

from __future__ import annotations

import math
import os
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

from ceopgraph.urischeme import UriScheme

DEFAULT_BASE_URI = "https://w3id.org/ceopgraph/"
# The WSGI servers ``ceopgraph serve --server`` runs (``ceopgraph.server``), named here so that the
# command line offers them without loading either.
SERVERS = ("granian", "gunicorn")


def _default_root() -> Path:
    """Where ``ontology/``, ``data/`` and ``shapes/`` live.

    An installed wheel carries them inside the package (``resources/``); a source checkout (the
    editable install used by ``make``) has them at the top of the tree.
    """
    packaged = Path(__file__).resolve().parent / "resources"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Settings:
    """Everything that varies between deployments; immutable so it can be shared between threads."""

    base_uri: str = DEFAULT_BASE_URI
    root: Path = field(default_factory=_default_root)
    dist_dir: Path = Path("dist")
    # Where the embedded store keeps its files; None keeps it in memory.
    store_path: Path | None = None
    # A remote SPARQL 1.1 query endpoint; when set the front end serves from it.
    endpoint: str | None = None
    update_endpoint: str | None = None
    # The store's account for writes (`serve --endpoint` with a data directory pushes releases there):
    # from the environment only (CEOPGRAPH_UPDATE_PASSWORD), never a command line other users can read.
    update_user: str | None = None
    update_password: str | None = None
    update_auth: str = "digest"
    # SPARQL endpoint limits.
    query_timeout_s: float = 10.0
    max_query_bytes: int = 64 * 1024
    max_result_rows: int = 10_000
    # Endpoint query worker processes per server worker (a query past its time limit is killed).
    query_processes: int = 4
    # Where they read the data: "memory" (forked from one process per server worker that holds it in
    # memory, shared page by page: several times faster on joins and aggregates) or "disk" (each opens
    # one on-disk copy read-only: for data too large to hold in memory once per server worker).
    query_store: str = "memory"
    # Serialised endpoint answers kept per server worker, by dataset version (0 turns caching off).
    answer_cache_mb: int = 64
    # Submission limits for the validation service and command.
    max_submission_bytes: int = 4 * 1024 * 1024
    # What a draft may occupy in the registry once prepared: its data as canonical N-Quads, its changeset,
    # report and diff (413 above it). Eight times the upload limit: a 4 MiB Turtle upload with the usual
    # prefixes is about 13 MiB of N-Quads and a changeset as large as its TriG; a 2,000-character prefix
    # made an 81 KB upload 82 MB. The published dataset as a draft takes 0.2 MB.
    max_draft_bytes: int = 32 * 1024 * 1024
    validation_timeout_s: float = 30.0
    # Validation worker processes per server worker (a validation past its time limit is killed).
    validation_processes: int = 2
    # Peers (IP addresses) whose forwarding headers are believed: X-Forwarded-For, -Proto, -Host and
    # -Prefix. Empty: nobody's (web/proxies.py has the policy).
    trusted_proxies: tuple[str, ...] = ()
    # Slow clients: seconds a request head may take to arrive (gunicorn and Granian), and a body.
    header_timeout_s: float = 10.0
    body_timeout_s: float = 20.0
    # Request threads per server worker that may wait for a body at once under Granian (which sets no
    # body deadline of its own: web/body.py); past it a body is refused at once (503). Half of
    # `serve --threads` (32): as many uploads as a burst brings at once, and slow bodies still leave the
    # other half to pages and GET queries.
    body_readers: int = 16
    # Heap caps (MiB) of the confined worker processes: past it the job is stopped and its process
    # replaced. Sized so that 2 server workers with every process at its cap (4 query, 2 checker and
    # 2 validation processes each: 2 x (4 x 1024 + 2 x 512 + 2 x 1536) MiB = 16 GiB) fit in 24 GiB.
    query_memory_mb: int = 1024
    # The holder of the data in memory (query_store "memory"): its heap cap, the data included.
    query_data_memory_mb: int = 4096
    checker_memory_mb: int = 512
    validation_memory_mb: int = 1536
    # Query checker processes per server worker (every endpoint query is parsed there first), and the
    # seconds a parse may take (a 10 KB chain of additions takes 6 s in pyparsing): 400 past it.
    checker_processes: int = 2
    check_timeout_s: float = 3.0
    # Lanes: a query running past fast_query_s takes one of heavy_queries slots (per server worker),
    # or is stopped when they are all taken, so cheap queries never wait behind expensive ones.
    fast_query_s: float = 1.0
    heavy_queries: int = 2
    # Endpoint queries one client (address) may have running at once per server worker (429 above): as
    # many as a worker's query processes take (4) and as many again waiting, so that one client's 8
    # connections (a load generator, a notebook's thread pool) are not refused while the worker is free.
    client_queries: int = 8
    # Expensive requests (uncached queries, validations) one server worker runs or queues at once (503
    # above): fewer than its threads (`serve --threads`, 32), so pages and cached answers always get one.
    busy_requests: int = 24
    # The write path (drafts, releases, tokens): its store of record, a folder of its own (``releases``);
    # None: no write path, the built dataset is served as it is.
    data_dir: Path | None = None
    # The store of record in PostgreSQL (``postgresql://user@host:port/database``): the registry and the
    # release files, shared by every replica; the data directory is then this machine's copy of the files.
    # None: SQLite in the data directory (the embedded default).
    database_url: str | None = None
    # Seconds between a worker's looks at the registry for a new current release: the bound, with the
    # release's load time, within which every worker serves a new release.
    release_poll_s: float = 1.0
    # Writes (drafts, publishes, withdrawals) per minute, shared by every worker: per token and per
    # client address; failed token checks (sign-ins and bearer tokens, one budget) per client address.
    writes_per_token: int = 30
    writes_per_client: int = 60
    sign_ins_per_client: int = 10
    # Open drafts at once: per submitter, and in all.
    max_open_drafts_per_submitter: int = 20
    max_open_drafts: int = 200
    # Datasets one page of the DCAT catalogue (``/catalog``) lists: the dataset, then each release.
    catalog_page_size: int = 20

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_uri", self.scheme.base)

    @property
    def scheme(self) -> UriScheme:
        """The URI scheme under ``base_uri``: what spells and recognises our IRIs."""
        return UriScheme(self.base_uri)

    @property
    def ontology_dir(self) -> Path:
        return self.root / "ontology"

    @property
    def curated_dir(self) -> Path:
        """The curated data (``data/``), which the build reads; not ``data_dir``, the store of record."""
        return self.root / "data"

    @property
    def shapes_dir(self) -> Path:
        return self.root / "shapes"


class SettingsError(ValueError):
    """A ``CEOPGRAPH_*`` variable whose value is not one of its setting's type; the message names both."""


def _items(raw: str) -> tuple[str, ...]:
    """A comma-separated list; blanks around items and empty items are dropped."""
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _number(raw: str) -> float:
    """A finite decimal number (``float`` would also take "nan" and "inf", which bound nothing)."""
    value = float(raw)
    if not math.isfinite(value):
        raise ValueError(f"{raw!r} is not a finite number")
    return value


def _text(raw: str) -> str:
    """Text for a setting that has no None: empty, a base URI, a mode or a folder would fail later, vaguely."""
    if not raw:
        raise ValueError("empty")
    return raw


def _path(raw: str) -> Path:
    return Path(_text(raw))


# How an environment value becomes each type a setting has, with what a bad value is said to miss. A
# ``T | None`` setting takes T's parser, and an empty value means None.
_PARSERS: dict[object, tuple[Callable[[str], Any], str]] = {
    str: (_text, "non-empty text"),
    int: (int, "a whole number"),
    float: (_number, "a finite number"),
    Path: (_path, "a non-empty path"),
    tuple[str, ...]: (_items, "a comma-separated list"),
}


def _parser(kind: object) -> tuple[Callable[[str], Any], str, bool]:
    """The parser of a setting's type, what it expects, and whether an empty value means None."""
    optional = get_origin(kind) in (Union, types.UnionType) and type(None) in get_args(kind)
    if optional:
        rest = [arg for arg in get_args(kind) if arg is not type(None)]
        kind = rest[0] if len(rest) == 1 else kind
    if kind not in _PARSERS:
        raise TypeError(f"no parser for settings of type {kind!r}: add one to config._PARSERS")
    parse, expected = _PARSERS[kind]
    return parse, expected, optional


def _setting_types() -> dict[str, object]:
    """Each setting's type, resolved from its annotation (this module's annotations are strings)."""
    hints = get_type_hints(Settings)
    return {f.name: hints[f.name] for f in fields(Settings)}


def parse_setting(key: str, kind: object, raw: str) -> Any:
    """The value of variable ``key`` for a setting of type ``kind``, or a ``SettingsError`` that names the
    variable, its value and what it should have been."""
    parse, expected, optional = _parser(kind)
    if optional and raw == "":
        return None
    try:
        return parse(raw)
    except ValueError as exc:
        raise SettingsError(f"{key}={raw!r} is not {expected}") from exc


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Defaults, then ``CEOPGRAPH_<FIELD>`` variables, then keyword overrides (None means 'not given')."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for name, kind in _setting_types().items():
        key = "CEOPGRAPH_" + name.upper()
        if key in env:
            values[name] = parse_setting(key, kind, env[key])
    values.update({k: v for k, v in overrides.items() if v is not None})
    return replace(Settings(), **values)
