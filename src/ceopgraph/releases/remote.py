"""Releases with a remote store (``serve --endpoint`` with a data directory): the current release pushed
into the store's named graphs.

The data directory stays the store of record (the registry, every release's dumps); the remote store
holds what is current, in the graphs the front end reads (``{base}data/graph/…``, the live releases graph
among them), written by ``publish.publish`` (each graph replaced, stale graphs dropped, read back). A
push follows every publish and withdrawal, and every server start, and pushes whatever is current when
it runs (under a lock shared by every process on the data directory), so pushes cannot land out of order.

What the store does not allow, this cannot give: a store that applies each graph's replacement on its
own lets its readers see some graphs of the new release beside others of the old one until the push
ends; a push that fails (the store down) leaves the store on the old release while the registry has the
new one, which the next push (the next publish, or a restart) mends.
"""

from __future__ import annotations

import fcntl
from pathlib import Path

from rdflib import Dataset

from ceopgraph.publish import PublishError, PublishReport, Target, publish
from ceopgraph.releases.service import Releases

_LOCK = "push.lock"


class StoreNotUpdated(Exception):
    """The registry changed, but the remote store could not be brought to it (502)."""


def current_dataset(releases: Releases) -> tuple[int, Dataset]:
    """The current release as it is served: its TriG dump and the live releases graph, one dataset."""
    current, _, files = releases.live_files()
    dataset = Dataset()
    for path in files:
        dataset.parse(data=path.read_bytes(), format="trig")  # ours, written by a publish
    return current, dataset


def push_current(releases: Releases, target: Target) -> tuple[int, PublishReport]:
    """Put the current release into the store (see the module's docstring); the release and the report."""
    with Path(releases.folder / _LOCK).open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        current, dataset = current_dataset(releases)
        try:
            report = publish(dataset, target, str(releases.scheme.graph))
        except PublishError as exc:
            raise StoreNotUpdated(
                f"release {current} is current here, but the store could not be updated ({exc}); "
                "it is pushed again at the next publish or server start"
            ) from exc
    if not report.verified:
        raise StoreNotUpdated(
            f"release {current} was written to the store, but it reads back otherwise: "
            + "; ".join(report.mismatches())
        )
    return current, report
