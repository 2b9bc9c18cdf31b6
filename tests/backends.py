"""The registry's two backends as one test value: ``sqlite`` (the data directory's file) and ``postgres``
(a fresh database of the suite's own server), so that the same test runs against both (the ``backend``
fixture of ``conftest.py``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ceopgraph.compose import open_registry
from ceopgraph.config import Settings, load_settings
from ceopgraph.releases.registry import Registry


@dataclass
class Backend:
    name: str  # "sqlite" or "postgres"
    url: str | None = None  # the database's (postgres)
    opened: list[Registry] = field(default_factory=list)

    def open(self, folder: Path, clock: Callable[[], float] = time.time) -> Registry:
        """The registry of data directory ``folder`` on this backend (with postgres, every folder shares
        the one database: two folders are two machines)."""
        registry = open_registry(folder, clock, self.url)
        self.opened.append(registry)
        return registry

    def settings(self, folder: Path, **overrides: Any) -> Settings:
        return load_settings(environ={}, data_dir=folder, database_url=self.url, **overrides)

    def close(self) -> None:
        for registry in self.opened:
            registry.close()
