"""The read path over releases: a ``Store`` that serves the current release and follows publications.

Each server worker holds one ``ReleaseStore``. It serves an embedded store of the current release's
files (``Releases.live_files``: the TriG dump and the live releases graph). A thread reads the registry's
generation every ``poll_s`` seconds; when a publish or a withdrawal changed it, it loads the new files
into a new store, starts that store's query processes, then swaps it in with one assignment. Every
worker switches within ``poll_s`` plus the time to load the release, and a request sees one release
from its first byte to its last (``pinned``), never a mix. The old store's processes are stopped once
the queries that may still run on it are past their time limit. The version (the ETag's basis) is the
files' digest, so it changes with the release and is the same in every worker.

What a worker serves is described by its ``Served`` (the release, the generation, the rows read with them):
the public pages take the history of a resource and the dumps' records from it, not from the registry,
so they answer while the database is down, from the release already loaded.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING

import pyoxigraph as ox

from ceopgraph.releases.registry import Draft, DraftSummary, RegistryUnavailable
from ceopgraph.releases.service import Releases, Served
from ceopgraph.store.disk import load_keeping_labels
from ceopgraph.store.protocol import DelegatingStore, Store

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

# Makes the store of one release's files (the server: an embedded store with its query processes started).
StoreMaker = Callable[[list[Path]], Store]


def retire(store: Store, after_s: float) -> threading.Timer:
    """Close ``store`` in ``after_s`` seconds, once the requests that may still hold it are past their limit."""
    timer = threading.Timer(after_s, store.close)
    timer.daemon = True
    timer.start()
    return timer


def retire_now(timers: list[threading.Timer]) -> None:
    """Close at once what is still waiting to retire (the app is closing)."""
    for timer in timers:
        if timer.is_alive():
            timer.cancel()
            timer.function()


class ReleaseStore(DelegatingStore):
    """A ``Store`` that is always the current release (see the module's docstring)."""

    def __init__(self, releases: Releases, make: StoreMaker, poll_s: float = 1.0, retire_after_s: float = 30.0) -> None:
        self._releases = releases
        self._make = make
        self._poll_s = poll_s
        self._retire_after_s = retire_after_s
        served, files = releases.served_files()
        self._ensure_search(served)
        self._held: tuple[Served, Store] = (served, make(files))
        self._pinned: ContextVar[tuple[Served, Store] | None] = ContextVar(f"pinned-{id(self)}", default=None)
        self._stop = threading.Event()
        self._retiring: list[threading.Timer] = []
        self._thread = threading.Thread(target=self._follow, name="release-follower", daemon=True)
        self._thread.start()

    @property
    def _current(self) -> tuple[Served, Store]:
        return self._pinned.get() or self._held

    @property
    def _store(self) -> Store:
        return self._current[1]

    @property
    def served(self) -> Served:
        """The release this request sees (the one held when it began), or this worker serves now, with the
        registry's rows as they were when it was loaded."""
        return self._current[0]

    @property
    def release(self) -> int:
        """The number of the release ``served``."""
        return self._current[0].current

    @contextmanager
    def pinned(self) -> Iterator[None]:
        """Within the block, this thread sees the release held when it began, whatever a swap does: one
        request never answers from two releases (a page's several queries, an answer and its ETag)."""
        token = self._pinned.set(self._held)
        try:
            yield
        finally:
            self._pinned.reset(token)

    def refresh(self) -> bool:
        """Load the current release now if the registry's generation changed; whether it did."""
        if self._releases.registry.state()[1] == self._held[0].generation:
            return False
        served, files = self._releases.served_files()
        self._ensure_search(served)  # before the swap: the first search of the release finds its index
        fresh = self._make(files)
        old = self._held[1]
        self._held = (served, fresh)
        self._retiring = [*(t for t in self._retiring if t.is_alive()), retire(old, self._retire_after_s)]
        log.info("now serving release %d (generation %d)", served.current, served.generation)
        return True

    def _ensure_search(self, served: Served) -> None:
        """The release's search index made if it has none; a failure leaves search of this release empty
        (logged), never the release unserved."""
        try:
            self._releases.ensure_search(served)
        except Exception:
            log.exception("could not index release %d for search", served.current)

    def pinning(self, wsgi_app: WSGIApplication) -> WSGIApplication:
        """``wsgi_app`` with every request ``pinned`` (the answers are made within the call)."""

        def pinned_app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
            with self.pinned():
                return wsgi_app(environ, start_response)

        return pinned_app

    def _follow(self) -> None:
        while not self._stop.wait(self._poll_s):
            try:
                self.refresh()
            except RegistryUnavailable as exc:  # its database is down: an outage, not a fault of ours
                log.warning("the store of record cannot be reached (%s); still serving release %d", exc, self.release)
            except Exception:  # a registry or a load that failed: keep serving the release held, try again
                log.exception("could not load the current release; still serving release %d", self.release)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self._poll_s + 5)
        retire_now(self._retiring)
        self._store.close()
        self._releases.registry.close()


class DraftStoresBusy(Exception):
    """Every slot for a draft's store is taken by stores still retiring: 503, try again shortly."""


class DraftStores:
    """The stores behind the drafts' previews and SPARQL endpoints: made on first use from the draft's
    content, the last ``keep`` kept, keyed by the draft's revision (a change makes a new one). A store
    pushed out retires after ``retire_after_s`` (the requests still holding it are past their time
    limit by then); while ``keep`` stores are still retiring no new one is made, so cycling through drafts
    cannot pile up processes. The draft is loaded outside the lock, so one large draft holds up no other."""

    def __init__(self, make: Callable[[ox.Store, str], Store], keep: int = 2, retire_after_s: float = 15.0) -> None:
        self._make = make
        self._keep = keep
        self._retire_after_s = retire_after_s
        self._held: OrderedDict[tuple[str, int], Store] = OrderedDict()
        self._retiring: list[threading.Timer] = []
        self._lock = threading.Lock()

    def holds(self, draft: DraftSummary) -> bool:
        with self._lock:
            return (draft.id, draft.revision) in self._held

    def get(self, draft: DraftSummary, load: Callable[[], Draft]) -> Store:
        """The store of ``draft``'s revision; ``load`` reads the draft's data only when one must be made."""
        key = (draft.id, draft.revision)
        with self._lock:
            found = self._held.get(key)
            if found is not None:
                self._held.move_to_end(key)
                return found
            self._retiring = [t for t in self._retiring if t.is_alive()]
            if len(self._retiring) >= self._keep:
                raise DraftStoresBusy("the drafts' stores are all in use; try again in a few seconds")
        loaded = load()
        key = (loaded.id, loaded.revision)  # the revision read (a replace meanwhile is another store)
        engine = ox.Store()
        load_keeping_labels(engine, loaded.nquads)  # its stable labels: the preview's pages only sort
        made = self._make(engine, hashlib.sha256(loaded.nquads).hexdigest()[:20])
        with self._lock:
            found = self._held.get(key)
            if found is not None:  # another request made it meanwhile
                made.close()
                return found
            self._held[key] = made
            while len(self._held) > self._keep:
                _, old = self._held.popitem(last=False)
                self._retiring.append(retire(old, self._retire_after_s))
            return made

    def close(self) -> None:
        with self._lock:
            for store in self._held.values():
                store.close()
            self._held.clear()
            retire_now(self._retiring)
