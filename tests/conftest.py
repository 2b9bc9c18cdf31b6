"""Shared fixtures: settings, the built dataset and the source text, built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Dataset, Graph

from ceopgraph.build import build_dataset, read_source_text, union_graph
from ceopgraph.config import Settings, load_settings

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
