"""The read path's stores: the current release followed and pinned per request, the drafts' stores
kept few and retired."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pyoxigraph as ox
import pytest

from ceopgraph.conneg import FORMATS_BY_EXTENSION
from ceopgraph.releases.follower import DraftStores, DraftStoresBusy, ReleaseStore
from ceopgraph.releases.registry import Draft
from ceopgraph.store.embedded import EmbeddedStore
from ceopgraph.store.jobs import StoreUnavailable
from ceopgraph.store.protocol import Store
from ceopgraph.validation.service import Submission

from .releasing import NOTE, local_releases, with_since_launch

QUERY = (
    "SELECT ?v WHERE { ?o <http://purl.org/linked-data/sdmx/2009/measure#obsValue> ?v FILTER(?v = 2255 || ?v = 2300) }"
)


def _embedded(files: list[Path]) -> Store:
    return EmbeddedStore.from_files(files, [FORMATS_BY_EXTENSION["trig"]] * len(files), 1)


def test_a_request_sees_the_release_it_began_with(tmp_path: Path, built_dist: Path) -> None:
    releases = local_releases(tmp_path / "data")
    releases.ensure_first_release(built_dist / "ceopgraph.trig")
    store = ReleaseStore(releases, _embedded, poll_s=3600)  # refreshed by hand here
    try:
        before = store.version
        sam = releases.tokens.check(releases.tokens.create("submitter", "Sam")[1])
        pat = releases.tokens.check(releases.tokens.create("publisher", "Pat")[1])
        dump = (releases.release_folder(1) / "ceopgraph.trig").read_bytes()
        draft = releases.create_draft(sam, Submission(with_since_launch(dump, 2300), "trig", "draft.trig"))
        with store.pinned():
            releases.publish(pat, draft.id, releases.draft(pat, draft.id).version, NOTE)
            assert store.refresh()  # the swap happens in the middle of this "request"
            assert store.version == before and store.release == 1
            assert {str(r["v"]) for r in store.select(QUERY)} == {"2255"}
        assert store.version != before and store.release == 2
        assert {str(r["v"]) for r in store.select(QUERY)} == {"2300"}
        assert not store.refresh()  # nothing new
    finally:
        store.close()


def _draft(n: int) -> Draft:
    nquads = f'<urn:x:{n}> <urn:x:p> "{n}" .\n'.encode()
    summary = (f"{n:032x}", "owner", "open", "t", "t", "s", 1, True, 0, 1, None, 1)
    return Draft(*summary, nquads=nquads, report="{}", diff="{}", changeset=b"")


def _get(stores: DraftStores, draft: Draft) -> Store:
    return stores.get(draft, lambda: draft)


def test_draft_stores_are_kept_few_and_a_new_revision_is_a_new_store(tmp_path: Path) -> None:
    made: list[EmbeddedStore] = []

    def make(engine: ox.Store, version: str) -> Store:
        made.append(EmbeddedStore(engine, version, query_processes=1))
        return made[-1]

    stores = DraftStores(make, keep=2, retire_after_s=3600)
    try:
        first, second = _get(stores, _draft(1)), _get(stores, _draft(2))
        assert _get(stores, _draft(1)) is first and stores.holds(_draft(2))
        assert _get(stores, replace(_draft(1), revision=2)) is not first  # its data changed: made again
        _get(stores, _draft(3))  # two stores retiring now: the slots are full
        with pytest.raises(DraftStoresBusy):
            _get(stores, _draft(4))
        assert len(made) == 4
    finally:
        stores.close()
    with pytest.raises(StoreUnavailable):  # a closed store never starts its processes again
        made[0].start_query_pool()
    assert second is made[1]
