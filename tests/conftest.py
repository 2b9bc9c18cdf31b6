"""Shared fixtures: settings, the built dataset and the source text, built once per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from rdflib import Dataset, Graph

from ceopgraph.build import build_dataset, read_source_text, union_graph, write_dumps
from ceopgraph.config import Settings, load_settings

from .live import LiveServer, running_server

ROOT = Path(__file__).resolve().parents[1]
SOURCE_TEXT_PATH = ROOT / "data" / "source" / "ceop-annual-review-2012-13-news.txt"


@pytest.fixture(scope="session")
def settings() -> Settings:
    return load_settings(environ={}, root=ROOT)


@pytest.fixture(scope="session")
def dataset(settings: Settings) -> Dataset:
    return build_dataset(settings)


@pytest.fixture(scope="session")
def union(dataset: Dataset) -> Graph:
    return union_graph(dataset)


@pytest.fixture(scope="session")
def source_text() -> str:
    return read_source_text(SOURCE_TEXT_PATH)


@pytest.fixture(scope="session")
def built_dist(tmp_path_factory: pytest.TempPathFactory, dataset: Dataset, settings: Settings) -> Path:
    """The dumps, built once for every test that needs files or a live server."""
    out = tmp_path_factory.mktemp("dist")
    write_dumps(dataset, out, settings.base_uri)
    return out


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory, built_dist: Path) -> Iterator[LiveServer]:
    """One real server (gunicorn, embedded store) for the whole session."""
    log = tmp_path_factory.mktemp("logs") / "server.log"
    with running_server(["--dist", str(built_dist), "--workers", "2"], log) as server:
        yield server
