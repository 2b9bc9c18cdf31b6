"""The write path's rules: who may do what to drafts and releases, and how a publish stays atomic.

Every operation takes the acting ``Token`` (``OPERATOR`` for the command line, which runs with the data
directory's owner's rights) and raises a domain error that ``web.releases`` maps to a status: 401 no
token, 403 a role that may not, 404 a draft the actor may not see (so draft ids do not leak), 409 a
state that changed, 422 a draft with violations, 428 a publish that names no reviewed version, 429 a
limit. Every write is audited (who, what, when, outcome): a publish and a withdrawal in the same
transaction as the change, a draft's write right after it; refusals too.

A publish carries the publisher's release note (the release's version notes, in its dumps' DCAT) and a
withdrawal its reason: both are required (400 without). Reading a draft never writes: its diff against a
newer current release is computed again for the reader and not stored, and the version a publisher
reviews names the release that diff was against.

The data directory holds the registry (``registry``) and one folder per release, ``releases/{n}/``,
with its six dumps. A publish renders the dumps first (in a validation worker), writes them to a
staging folder and syncs them, then in one registry transaction checks that nothing changed, moves the
folder to its place and makes the release current. A crash before the commit leaves a folder no row
names, which ``recover`` removes; after it, everything is in place. Released folders are never written
again.

When the registry holds the release files too (PostgreSQL: ``Registry.holds_files``), the same
transaction stores their bytes, and a data directory is only this machine's copy: ``materialised(n)``
writes a release's folder from the database when it is missing or differs, each file checked against the
hash its release row records (a mismatch is ``ReleaseFilesDamaged``, never served). With SQLite the
folders are the files of record, as they always were.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

from rdflib import Dataset

from ceopgraph import rdfio, search
from ceopgraph.build import dump_media_type
from ceopgraph.config import Settings
from ceopgraph.conneg import FORMATS_BY_EXTENSION
from ceopgraph.releases import drafting
from ceopgraph.releases.changes import ACKNOWLEDGEMENTS
from ceopgraph.releases.content import (
    RELEASES_GRAPH,
    ListedRelease,
    Version,
    content_of,
    releases_graph,
    version_metadata,
)
from ceopgraph.releases.drafting import Prepared, PrepareJob, ReleaseFile, RenderJob
from ceopgraph.releases.history import Gone, History, Notice, Subjects, SubjectsJob
from ceopgraph.releases.registry import RELEASE_NUMBERS, Conflict, Draft, DraftSummary, Registry, Release, Token, now
from ceopgraph.releases.tokens import SessionBook, TokenBook
from ceopgraph.tablesin import TableUpload
from ceopgraph.urischeme import DUMP_STEM, UriScheme
from ceopgraph.validation.service import JobRunner, Submission

RELEASES_FOLDER = "releases"
LIVE_FOLDER = "live"
_STAGING_PREFIX = ".staging-"
# The longest release note or withdrawal reason kept (a paragraph, not a document).
NOTE_CHARACTERS = 2000
# The command line acts as the operator: every role's rights, audited as "operator".
OPERATOR = Token("operator", "operator (command line)", "operator", "", "", None)


class NotSignedIn(Exception):
    """No token or session says who is acting."""


class Forbidden(Exception):
    """The actor's role may not do this."""


class DraftNotFound(Exception):
    """No such draft, or one the actor may not see."""


class ReleaseNotFound(Exception):
    """No release has this number."""


class DraftInvalid(Exception):
    """The draft does not conform to the shapes; carries its report."""

    def __init__(self, message: str, report_json: str) -> None:
        super().__init__(message)
        self.report_json = report_json


class NotAcknowledged(Exception):
    """A publish of a draft that reverts or removes what needs acknowledging (``changes.Warning``), without
    the acknowledgement; the message says what and how to acknowledge it."""


class UnknownAcknowledgement(Exception):
    """A publish names an acknowledgement that is not one (400)."""


class UnknownBase(Exception):
    """A draft names a release it was made from (``base=N``) that does not exist."""


class NoteRequired(Exception):
    """A publish without its release note, or a withdrawal without its reason: what readers of the
    release are told, so it cannot be left out."""


class PreconditionRequired(Exception):
    """A publish that does not name the draft version its publisher reviewed."""


class Unavailable(Exception):
    """The write path is not configured (no data directory)."""


class ReleaseFilesDamaged(Exception):
    """A release's files, as the store of record holds them, are not the ones its row records: the
    release cannot be served from them."""


@dataclass(frozen=True)
class Served:
    """A release as a worker serves it: its number, the registry's generation it was read at, and every
    release's row at that generation. The public read path answers from it (what the worker holds), never
    from a fresh registry read: pages go on while the database is down, and one request never mixes the
    release it serves with the registry's newer state."""

    current: int
    generation: int
    releases: tuple[Release, ...]

    def release(self, n: int) -> Release | None:
        return next((r for r in self.releases if r.n == n), None)


@dataclass(frozen=True)
class Limits:
    max_open_drafts: int = 200
    max_open_drafts_per_submitter: int = 20
    max_draft_bytes: int = 32 * 1024 * 1024

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(settings.max_open_drafts, settings.max_open_drafts_per_submitter, settings.max_draft_bytes)


def may_submit(actor: Token) -> bool:
    return actor.role in ("submitter", "operator")


def _viewer(actor: Token) -> str | None:
    """Whose drafts the actor sees: its own (a submitter), or everybody's (None)."""
    return None if sees_every_draft(actor) else actor.id


def may_publish(actor: Token) -> bool:
    return actor.role in ("publisher", "operator")


def sees_every_draft(actor: Token) -> bool:
    return actor.role in ("publisher", "operator")


class Releases:
    """The drafts and releases in one data directory."""

    def __init__(
        self,
        folder: Path,
        scheme: UriScheme,
        registry: Registry,
        run: JobRunner | None = None,
        limits: Limits = Limits(),
        on_change: Callable[[Releases], object] | None = None,
    ) -> None:
        """``folder`` holds the releases' dumps, ``registry`` the records. ``run`` runs the work that grows
        with a draft (preparing it, rendering a release: ``drafting``'s jobs), in a validation worker or
        in process; without it (the read path, which only follows the current release) every write is
        Unavailable. ``on_change`` runs after each committed publish or withdrawal (a remote store's
        push: ``releases.remote``); what it raises reaches the caller, the change committed. Built by
        ``ceopgraph.compose.open_releases``."""
        self.folder = folder
        self.scheme = scheme
        self.registry = registry
        self.tokens = TokenBook(self.registry)
        self.sessions = SessionBook(self.registry)
        self._run = run
        self._limits = limits
        self._on_change = on_change
        self._history = History(self._summarise)
        self._checked: set[int] = set()  # releases whose folder here was checked against the store of record
        (folder / RELEASES_FOLDER).mkdir(parents=True, exist_ok=True)  # a registry elsewhere made no folder
        (folder / LIVE_FOLDER).mkdir(exist_ok=True)

    # Recovery and the first release ----------------------------------------------------------------

    def recover(self) -> list[str]:
        """Remove what a crash left: staging folders, and release folders no committed row names."""
        removed = []
        # Under the registry's write lock: a publish in another process moves its folder into place and
        # commits its row while holding it, so no folder is taken for a leftover between the two.
        with self.registry.transaction() as tx:
            known = {str(n) for n in tx.release_numbers()}
            for entry in sorted((self.folder / RELEASES_FOLDER).iterdir()):
                if not entry.exists():  # a lock file removed with its folder, just now
                    continue
                if entry.name.startswith(_STAGING_PREFIX):
                    folder = entry.with_name(entry.name.removesuffix(".lock"))
                    if entry.name.endswith(".lock") and folder.exists():
                        continue  # decided with its folder
                    if _abandoned(folder):
                        shutil.rmtree(folder, ignore_errors=True)
                        folder.with_name(folder.name + ".lock").unlink(missing_ok=True)
                        removed.append(entry.name)
                elif entry.is_dir() and entry.name not in known:
                    shutil.rmtree(entry, ignore_errors=True)
                    removed.append(entry.name)
        return removed

    def _built_content(self, built_trig: Path) -> tuple[bytes, int]:
        parsed = rdfio.parse_dataset(
            built_trig.read_bytes(),
            FORMATS_BY_EXTENSION["trig"],
            str(built_trig),
            drafting.OWN_FILE_LIMIT,
            self.scheme.base,
            drafting.draft_graph_name(self.scheme),
        )
        content = content_of(parsed, self.scheme)
        return rdfio.serialise(content, drafting.NQUADS), len(set(content.quads()))

    def ensure_first_release(self, built_trig: Path) -> Release | None:
        """Make the built dataset release 1 if there is no release yet (the published 2012/13 review)."""
        if self.registry.releases():
            return None
        encoded, triples = self._built_content(built_trig)
        try:
            return self._commit_release(OPERATOR, encoded, triples, None, expected_current=0)
        except Conflict:  # another worker or process made it first
            return None

    def serves_built(self, built_trig: Path) -> bool:
        """Whether the current release holds the built dataset's content (a changed build is not served
        until it is published as a draft)."""
        current, _ = self.registry.state()
        served = drafting.read_content(Path(self._content_path(current) or ""), self.scheme) if current else None
        return served is not None and rdfio.serialise(served, drafting.NQUADS) == self._built_content(built_trig)[0]

    # Drafts ------------------------------------------------------------------------------------------

    def _prepared(
        self,
        submission: Submission,
        draft_id: str,
        *,
        ours: bool = False,
        made_from: int | None = None,
        table: TableUpload | None = None,
    ) -> tuple[Prepared, int]:
        """``ours``: the submission is a stored draft's canonical N-Quads, accepted before (larger than
        what was uploaded, so not held to the upload limit). ``made_from``: the release the draft was made
        from (UnknownBase if there is none such), else the worker finds the one it matches best; a table
        (``table``) is made from the current release, whose content it edits."""
        current, _ = self.registry.state()
        if table is not None and made_from is None and current:
            made_from = current
        changeset = self.scheme.changeset(draft_id)
        known = {r.n: r for r in self.registry.releases()}
        if made_from is not None and made_from not in known:
            latest = max(known, default=0)
            raise UnknownBase(
                f"base={made_from}: there is no release {made_from} to have made this draft from; "
                + (f"releases run from 1 to {latest}" if latest else "there is no release yet")
            )
        lineage: list[ReleaseFile] = []
        at: int | None = current or None
        while at is not None and at in known:  # the releases in force, from the current one back
            lineage.insert(0, ReleaseFile(at, str(self._content_path(at))))
            at = known[at].previous
        job = PrepareJob(
            submission,
            self._content_path(current),
            current,
            changeset,
            self._limits.max_draft_bytes,
            drafting.OWN_FILE_LIMIT if ours else None,
            tuple(lineage),
            None if made_from is None else ReleaseFile(made_from, str(self._content_path(made_from))),
            table,
        )
        if self._run is None:
            raise Unavailable("this process does not prepare drafts")
        return self._run(job), current

    def create_draft(
        self, actor: Token, submission: Submission, made_from: int | None = None, table: TableUpload | None = None
    ) -> Draft:
        """A new draft of ``actor``'s, made from release ``made_from`` (else the release it matches best);
        from ``table`` (``tablesin``) when one is given, ``submission`` then naming it."""
        if not may_submit(actor):
            self._refused(actor, "create-draft", "-", "only a submitter may create drafts")
        room = {
            "max_open": self._limits.max_open_drafts,
            "max_open_per_owner": self._limits.max_open_drafts_per_submitter,
        }
        self.registry.check_room(actor.id, **room)  # before a worker's work, not only after it
        draft_id = secrets.token_hex(16)  # 128 random bits: ids cannot be guessed
        prepared, base_release = self._prepared(submission, draft_id, made_from=made_from, table=table)
        stamp = now()
        draft = _draft_of(draft_id, actor.id, stamp, stamp, submission.source, prepared, base_release)
        self.registry.add_draft(draft, **room)
        self.registry.audit(actor.id, "create-draft", draft_id, "done", _summary(prepared))
        return draft

    def find_draft(self, actor: Token, draft_id: str) -> DraftSummary:
        """A draft the actor may see (its submitter's, or any for a publisher), without its blobs;
        DraftNotFound otherwise, after the same single lookup whether the id is unknown or somebody else's."""
        found = self.registry.draft_summary(draft_id, _viewer(actor)) if len(draft_id) <= 64 else None
        if found is None:
            raise DraftNotFound("no such draft")
        return found

    def draft(self, actor: Token, draft_id: str) -> Draft:
        """``find_draft`` with the draft's data, report and diff: for the one draft shown, diffed or published.
        The blobs are selected only once the summary found the draft visible: a 404 never reads them."""
        self.find_draft(actor, draft_id)
        found = self.registry.draft(draft_id, _viewer(actor))
        if found is None:  # discarded just now
            raise DraftNotFound("no such draft")
        return found

    def drafts(self, actor: Token) -> list[DraftSummary]:
        return self.registry.drafts(_viewer(actor))

    def _own_open_draft(self, actor: Token, draft_id: str, action: str) -> DraftSummary:
        draft = self.find_draft(actor, draft_id)
        if draft.owner != actor.id and actor is not OPERATOR:
            self._refused(actor, action, draft_id, "only the draft's submitter may change it")
        if draft.status != "open":
            self._conflict(actor, action, draft_id, f"draft {draft_id} is {draft.status}, it can no longer change")
        return draft

    def replace_draft(
        self,
        actor: Token,
        draft_id: str,
        submission: Submission,
        made_from: int | None = None,
        table: TableUpload | None = None,
    ) -> Draft:
        old = self._own_open_draft(actor, draft_id, "replace-draft")
        prepared, base_release = self._prepared(submission, draft_id, made_from=made_from, table=table)
        draft = _draft_of(draft_id, old.owner, old.created, now(), submission.source, prepared, base_release)
        stored = self.registry.replace_draft(draft)
        self.registry.audit(actor.id, "replace-draft", draft_id, "done", _summary(prepared))
        return stored

    def discard_draft(self, actor: Token, draft_id: str) -> None:
        self._own_open_draft(actor, draft_id, "discard-draft")
        if not self.registry.discard_draft(draft_id):
            self._conflict(actor, "discard-draft", draft_id, f"draft {draft_id} is no longer open")
        self.registry.audit(actor.id, "discard-draft", draft_id, "done")

    def current_diff(self, actor: Token, draft_id: str) -> Draft:
        """The draft with its diff against the current release, computed again if that changed (so the
        diff a reviewer reads is the one a publish is checked against). Reading is never a write: the
        fresh diff is the reader's (its ``base_release`` the current release, so its ``version`` names
        it), and the stored draft, its "Updated" time and revision stay as they were."""
        draft = self.draft(actor, draft_id)
        current, _ = self.registry.state()
        if draft.status != "open" or draft.base_release == current:
            return draft
        submission = Submission(draft.nquads, "nquads", draft.source)
        prepared, base_release = self._prepared(submission, draft_id, ours=True, made_from=draft.made_from or None)
        fresh = _draft_of(draft_id, draft.owner, draft.created, draft.updated, draft.source, prepared, base_release)
        return replace(fresh, revision=draft.revision)

    # Publishing and withdrawing --------------------------------------------------------------------

    def publish(
        self,
        actor: Token,
        draft_id: str,
        version: str | None,
        note: str | None = None,
        *,
        acknowledged: frozenset[str] = frozenset(),
    ) -> Release:
        """Publish the draft as it was reviewed: ``version`` is the draft version the publisher read
        (``Draft.version`` of ``current_diff``: it names the release the diff was against; None only for
        the operator, who publishes what is there if its stored diff is against the current release).
        ``note`` is the release note, required of a publisher (the operator's may be left out). A draft
        whose submitter's token was revoked is refused (409): the revocation withdrew their say in what
        is published, including what they had submitted before it. A draft that reverts or removes what
        its diff against the current release warns of needs those warnings ``acknowledged``
        (``changes.ACKNOWLEDGEMENTS``; 409 otherwise)."""
        draft = self.find_draft(actor, draft_id)  # every check on the summary: blobs read only to publish
        if not may_publish(actor):
            self._refused(actor, "publish", draft_id, "only a publisher may publish")
        if draft.status != "open":
            self._conflict(actor, "publish", draft_id, f"draft {draft_id} is {draft.status}")
        if not draft.conforms:
            self.registry.audit(actor.id, "publish", draft_id, "refused", f"{draft.violations} violations")
            raise DraftInvalid(
                f"draft {draft_id} has {draft.violations} violation(s) of the shapes; fix them and replace it",
                self.draft(actor, draft_id).report,
            )
        if version is None and actor is not OPERATOR:
            raise PreconditionRequired(
                f'name the version of draft {draft_id} you reviewed (If-Match: "{draft.version}", or the '
                "form field version), so that what is published is what you read"
            )
        current, _ = self.registry.state()
        if version is None and draft.base_release != current:  # the operator's: stored against an older release
            self._conflict(
                actor,
                "publish",
                draft_id,
                f"draft {draft_id} was compared with release {draft.base_release}, and release {current} is current; "
                f"read its diff against release {current} (ceopgraph draft diff), then publish the version it names",
            )
        if version is not None and version != replace(draft, base_release=current).version:
            if version == draft.version:  # the stored diff, against an older release
                why = (
                    f"the current release is {current}, not {draft.base_release} as when the diff you read was "
                    f"computed; read the draft again (GET /drafts/{draft_id}), then publish the version it names"
                )
            else:
                why = f"draft {draft_id} changed since you read it, or its diff did; read it again"
            self._conflict(actor, "publish", draft_id, why)
        revoked = _revocation(draft_id, self.registry.owner_revoked(draft_id))
        if revoked is not None:
            self._conflict(actor, "publish", draft_id, revoked)
        # What the diff the publisher read warns of: the stored one, or the one against the current release
        # computed again (a draft made before the latest publish may revert it).
        reviewed = draft if draft.base_release == current else self.current_diff(actor, draft_id)
        missing = {key: why for key, why in reviewed.needs().items() if key not in acknowledged}
        if missing:
            said = " ".join(missing.values())
            self.registry.audit(actor.id, "publish", draft_id, "refused", f"not acknowledged: {', '.join(missing)}")
            raise NotAcknowledged(
                f"draft {draft_id} needs acknowledge={','.join(sorted(missing))} to be published. {said}"
            )
        notes = _note(note)  # after the checks of the draft and its diff: those say more
        if notes is None and actor is not OPERATOR:
            raise NoteRequired(
                f"give a release note for draft {draft_id} (the form field or JSON field note): what changed and "
                "why, as readers of the release will see it"
            )
        content = self.draft(actor, draft_id)
        if content.revision != draft.revision:
            self._conflict(actor, "publish", draft_id, f"draft {draft_id} changed since you read it; read it again")
        release = self._commit_release(
            actor, content.nquads, content.triples, content, expected_current=current, notes=notes
        )
        self._changed()
        return release

    def _commit_release(
        self,
        actor: Token,
        content: bytes,
        triples: int,
        draft: Draft | None,
        *,
        expected_current: int,
        notes: str | None = None,
    ) -> Release:
        n = self.next_number()
        version = Version(n, now(), expected_current or None, notes)
        if self._run is None:
            raise Unavailable("this process does not publish")
        dumps = self._run(RenderJob(content, version)).dumps
        # The release's search index, committed with it: a worker that loads the release finds it made.
        docs = search.documents_of_nquads(dumps[f"{DUMP_STEM}.nq"])
        # The lock first, then the folder: a staging folder is abandoned once no process holds its lock.
        staging = self.folder / RELEASES_FOLDER / f"{_STAGING_PREFIX}{secrets.token_hex(8)}"
        held = _hold(staging)
        staging.mkdir()
        moved = False
        try:
            digests = _write_synced(staging, dumps)
            release = Release(
                n,
                version.issued,
                version.previous,
                draft.id if draft else None,
                actor.id,
                triples,
                digests,
                None,
                None,
                notes,
            )
            target = self.folder / RELEASES_FOLDER / str(n)
            with self.registry.transaction() as tx:
                if tx.current() != expected_current or tx.next_release() != n:
                    raise Conflict("another release was published meanwhile; read the diff again, then publish")
                if draft is not None:
                    found = tx.draft_state(draft.id)
                    assert found is not None  # drafts are never deleted
                    if found.status != "open":
                        raise Conflict(f"draft {draft.id} is {found.status}")
                    if found.revision != draft.revision:  # replaced while its dumps were rendered
                        raise Conflict(f"draft {draft.id} changed while it was being published; read it again")
                    revoked = _revocation(draft.id, tx.owner_revoked(draft.id))
                    if revoked is not None:  # revoked while its dumps were rendered
                        raise Conflict(revoked)
                if target.exists():  # a folder a crash left before its commit: no row names it
                    shutil.rmtree(target)
                os.rename(staging, target)
                moved = True
                _sync_folder(target.parent)
                tx.add_release(release, dumps)
                tx.index_search(n, docs)
                # Kept: this one, the one it replaces and the one before (workers still serving them while
                # they load this one); an older release made current again is indexed again when loaded.
                tx.keep_search({n, n - 1, n - 2, expected_current})
                tx.set_current(n)
                if draft is not None:
                    tx.mark_published(draft.id, n)
                tx.audit(actor.id, "publish", draft.id if draft else "-", "done", f"release {n}")
        except Conflict as exc:
            self.registry.audit(actor.id, "publish", draft.id if draft else "-", "conflict", str(exc))
            raise
        except BaseException:
            # With the files of record in the database, a folder whose commit failed is nobody's (and if the
            # commit did happen, its answer lost, the folder is fetched again when first needed).
            if moved and self.registry.holds_files():
                shutil.rmtree(target, ignore_errors=True)
            raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            staging.with_name(staging.name + ".lock").unlink(missing_ok=True)
            held.close()
        return release

    def withdraw(self, actor: Token, n: int, note: str) -> Release:
        """Withdraw release ``n`` for the reason ``note`` (required: the 410 pages of what it held and the
        notices on changed pages show it)."""
        if not may_publish(actor):
            self._refused(actor, "withdraw", str(n), "only a publisher may withdraw a release")
        if n not in RELEASE_NUMBERS:
            raise ReleaseNotFound(f"no release {n}: release numbers run from 1")
        reason = _note(note)
        if reason is None:
            raise NoteRequired(
                f"give the reason for withdrawing release {n} (the form field or JSON field note): readers of "
                "its pages will see it"
            )
        with self.registry.transaction() as tx:
            found = tx.release(n)
            if found is None:
                raise ReleaseNotFound(f"no release {n}")
            if found.withdrawn is not None:
                raise Conflict(f"release {n} was withdrawn already, on {found.withdrawn}")
            current = tx.current()
            replacement = current
            if n == current:
                earlier = tx.latest_in_force_before(n)
                if earlier is None:
                    raise Conflict(f"release {n} is the only release in force; publish a replacement first")
                replacement = earlier
            tx.withdraw(n, reason)
            tx.set_current(replacement)
            tx.audit(actor.id, "withdraw", str(n), "done", reason)
        self._changed()
        withdrawn = self.registry.release(n)
        assert withdrawn is not None
        return withdrawn

    def next_number(self) -> int:
        """The number the next release will take: one past the highest, withdrawn ones included."""
        return max((r.n for r in self.registry.releases()), default=0) + 1

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change(self)

    # What the read path loads -----------------------------------------------------------------------

    def served(self) -> Served:
        """The current release as the registry says now (one read): what a worker loads, or what a page
        served from a remote store stands on."""
        current, generation, releases = self.registry.snapshot()
        return Served(current, generation, tuple(releases))

    def gone(self, iri: str, served: Served) -> Gone | None:
        """Where a resource no longer in the served release last was and what took it away; None if it is
        current, or was never published. A dictionary lookup once the generation's index is built; from
        ``served`` (what the worker holds), so a page needs no registry read and goes on when it is down."""
        return self._history.gone(*self._indexed(served), iri) if served.current else None

    def notices(self, iri: str, served: Served) -> tuple[Notice, ...]:
        """The corrections and withdrawals that changed a current resource, newest first (as ``gone``)."""
        return self._history.notices(*self._indexed(served), iri) if served.current else ()

    def _indexed(self, served: Served) -> tuple[int, int, Callable[[], list[Release]]]:
        return served.generation, served.current, lambda: list(served.releases)

    def _summarise(self, release: Release) -> Subjects:
        if self._run is None:
            raise Unavailable("this process does not read releases' subjects")
        return self._run(SubjectsJob(str(self.materialised(release.n, release) / f"{DUMP_STEM}.nq")))

    def release_folder(self, n: int) -> Path:
        return self.folder / RELEASES_FOLDER / str(n)

    def materialised(self, n: int, row: Release | None = None) -> Path:
        """Release ``n``'s folder with its files in it: as it is with SQLite (the folder is the record);
        with a registry that holds the files, checked once per process against the hashes of the release's
        row, and written from the registry's bytes (checked the same way) when missing or different. One
        process of this data directory writes it at a time, into a staging folder moved into place whole.
        ``row``: the release's row when the caller holds it (a worker's ``Served``; a release's hashes never
        change), so a folder already here is checked without the database: reads go on while it is down."""
        folder = self.release_folder(n)
        if n in self._checked or not self.registry.holds_files():
            return folder
        with _locked(self.folder / RELEASES_FOLDER / f".fetch-{n}.lock"):
            release = row if row is not None and row.n == n else self.registry.release(n)
            if release is None:
                raise ReleaseNotFound(f"no release {n}")
            if not _holds(folder, release.dumps):
                files = self.registry.release_files(n) or {}
                found = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
                if found != release.dumps:
                    raise ReleaseFilesDamaged(
                        f"release {n}'s files in the database are not the ones its row records "
                        f"({sorted(found)} against {sorted(release.dumps)}, or their sha256 differ); not served"
                    )
                staging = folder.with_name(f"{_STAGING_PREFIX}{secrets.token_hex(8)}")
                held = _hold(staging)
                staging.mkdir()
                try:
                    _write_synced(staging, files)
                    if folder.exists():  # a copy that is not the release's (a failed commit's leftover)
                        aside = folder.with_name(f"{_STAGING_PREFIX}{secrets.token_hex(8)}")
                        os.rename(folder, aside)
                        shutil.rmtree(aside, ignore_errors=True)
                    os.rename(staging, folder)
                    _sync_folder(folder.parent)
                finally:
                    shutil.rmtree(staging, ignore_errors=True)
                    staging.with_name(staging.name + ".lock").unlink(missing_ok=True)
                    held.close()
            self._checked.add(n)
        return folder

    def _content_path(self, n: int) -> str | None:
        return str(self.materialised(n) / f"{DUMP_STEM}.nq") if n else None

    def live_files(self) -> tuple[int, int, list[Path]]:
        """(current release, generation, the files to serve): ``served_files`` without the rows."""
        served, files = self.served_files()
        return served.current, served.generation, files

    def ensure_search(self, served: Served) -> None:
        """Index the release ``served`` if it has no search index yet (a registry imported or made before
        the index, a release made current again by a withdrawal): from its N-Quads dump, once, by the
        first worker that loads it."""
        n = served.current
        if n and not self.registry.search_indexed(n):
            folder = self.materialised(n, served.release(n))
            self.registry.index_search(n, search.documents_of_nquads((folder / f"{DUMP_STEM}.nq").read_bytes()))

    def served_files(self) -> tuple[Served, list[Path]]:
        """The current release as the registry says now, and the files to serve it: the release's TriG
        dump and the live releases graph of this generation, written once (its bytes are the same in every
        worker)."""
        served = self.served()
        current, generation = served.current, served.generation
        if not current:
            raise Unavailable("there is no release yet")
        live = self.folder / LIVE_FOLDER / f"releases-{generation}.trig"
        if not live.exists():
            items = [listed(r) for r in served.releases]
            graph = releases_graph(self.scheme, items, current)
            # The current release's own description is in its dumps' metadata graph, served beside this one: held
            # twice, the union default graph (an RDF merge, sd:UnionDefaultGraph) would give each statement twice.
            for item in items:
                if item.version.n == current:
                    for triple in version_metadata(self.scheme, item.version):
                        graph.remove(triple)
            held = Dataset()
            named = held.graph(self.scheme.graph_iri(RELEASES_GRAPH))
            for triple in graph:
                named.add(triple)
            _write_atomically(live, rdfio.serialise(held, FORMATS_BY_EXTENSION["trig"]))
            for old in live.parent.glob("releases-*.trig"):  # a worker still loading one is a generation behind
                if (
                    old.stem.removeprefix("releases-").isdigit()
                    and int(old.stem.removeprefix("releases-")) < generation - 2
                ):
                    old.unlink(missing_ok=True)
        return served, [self.materialised(current, served.release(current)) / f"{DUMP_STEM}.trig", live]

    # Refusals ---------------------------------------------------------------------------------------

    def _refused(self, actor: Token, action: str, target: str, why: str) -> None:
        self.registry.audit(actor.id, action, target, "forbidden", why)
        raise Forbidden(why)

    def _conflict(self, actor: Token, action: str, target: str, why: str) -> None:
        self.registry.audit(actor.id, action, target, "conflict", why)
        raise Conflict(why)


def acknowledgements(values: list[str]) -> frozenset[str]:
    """The acknowledgements a publish names: values comma-separated or repeated (``acknowledge``);
    UnknownAcknowledgement for any other than ``changes.ACKNOWLEDGEMENTS``."""
    named = frozenset(part.strip() for value in values for part in value.split(",") if part.strip())
    unknown = sorted(named - set(ACKNOWLEDGEMENTS))
    if unknown:
        raise UnknownAcknowledgement(
            f"acknowledge={','.join(v[:40] for v in unknown[:5])}: not an acknowledgement; "
            f"name {' or '.join(ACKNOWLEDGEMENTS)}, comma-separated or repeated"
        )
    return named


def listed(release: Release) -> ListedRelease:
    dumps = tuple(
        (name, dump_media_type(name) or "application/octet-stream", sha256)
        for name, sha256 in sorted(release.dumps.items())
    )
    version = Version(release.n, release.issued, release.previous, release.notes)
    return ListedRelease(version, dumps, release.withdrawn, release.withdrawn_note)


def _draft_of(
    draft_id: str, owner: str, created: str, updated: str, source: str, prepared: Prepared, base_release: int
) -> Draft:
    report = prepared.report.report()
    return Draft(
        id=draft_id,
        owner=owner,
        status="open",
        created=created,
        updated=updated,
        source=source,
        nquads=prepared.content,
        triples=prepared.triples,
        conforms=report.conforms,
        violations=len(report.violations),
        report=drafting.stored_report(report),
        base_release=base_release,
        made_from=prepared.diff.made_from,
        acknowledge=json.dumps(prepared.diff.needs(), sort_keys=True),
        diff=drafting.stored_diff(prepared.diff),
        changeset=prepared.changeset,
        release=None,
    )


def _note(text: str | None) -> str | None:
    """A release note or withdrawal reason as kept: trimmed, at most ``NOTE_CHARACTERS``; None if blank."""
    kept = (text or "").strip()[:NOTE_CHARACTERS]
    return kept or None


def _revocation(draft_id: str, revoked: str | None) -> str | None:
    """Why a draft whose submitter's token was revoked (at ``revoked``) is not published, or None."""
    if revoked is None:
        return None
    return (
        f"draft {draft_id} was submitted with a token revoked on {revoked}; it can no longer be published "
        "(its submitter may submit it again with a valid token)"
    )


def _summary(prepared: Prepared) -> str:
    report = prepared.report.report()
    return f"{prepared.triples} triples, {'conforms' if report.conforms else f'{len(report.violations)} violations'}"


def _hold(staging: Path) -> IO[bytes]:
    """An exclusive lock on ``{staging}.lock``, held by this process until it closes the file (or dies)."""
    held = staging.with_name(staging.name + ".lock").open("ab")
    fcntl.flock(held, fcntl.LOCK_EX)
    return held


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on the file ``path`` for the block (between processes and threads alike)."""
    with path.open("ab") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        yield


def _holds(folder: Path, dumps: dict[str, str]) -> bool:
    """Whether ``folder`` holds exactly the files ``dumps`` names, each with the recorded sha256."""
    try:
        present = sorted(entry.name for entry in folder.iterdir())
    except OSError:
        return False
    return present == sorted(dumps) and all(
        hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest for name, digest in dumps.items()
    )


def _abandoned(staging: Path) -> bool:
    """Whether no process holds the staging folder's lock (its publish ended, or died)."""
    with staging.with_name(staging.name + ".lock").open("ab") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


def _write_synced(folder: Path, files: dict[str, bytes]) -> dict[str, str]:
    """Write files and make them durable (each file, then the folder); their sha256 by name."""
    digests = {}
    for name, data in sorted(files.items()):
        path = folder / name
        with path.open("wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        digests[name] = hashlib.sha256(data).hexdigest()
    _sync_folder(folder)
    return digests


def _write_atomically(path: Path, data: bytes) -> None:
    scratch = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    with scratch.open("wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(scratch, path)
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
