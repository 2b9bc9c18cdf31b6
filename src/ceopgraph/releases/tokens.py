"""Bearer tokens and sign-in sessions: random secrets shown once, stored only as slow hashes.

A token reads ``cgt_{id}_{secret}``: the id (public, in the audit and ``tokens list``) finds the one
stored hash to check, so a check costs one argon2 verification, not one per token; the secret (32
random bytes) is never stored, only its argon2id hash (``argon2-cffi``, the library this module wraps).
Verification is argon2's own constant-time comparison. A successful verification is remembered in this
process by a SHA-256 of the presented token, so a script's burst of writes pays the slow hash once; the
token's revocation is read from the registry on every request, so it takes effect at once everywhere.

Guessing is bounded per client address (``FailureBudget``): every check that will hash first takes a unit
of the address's budget of the minute in the registry, atomically, so however many requests race, at
most that many hashes run; a failed check keeps its unit, a successful one gives it back. So the budget
counts failed checks (sign-ins and bearer tokens alike, one budget), and past it an address's checks are
refused (``TooManyFailedChecks``) before any hashing; a token this process verified before costs no hash
and needs no unit.

Sessions (the browser's sign-in) are random too; the cookie carries the session secret, the registry
only its SHA-256 (a 256-bit random secret needs no slow hash), with the CSRF secret of its forms.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from ceopgraph.releases.registry import ROLES, Registry, Token, now

_FORMAT = re.compile(r"cgt_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")
MAX_TOKEN_CHARS = 80
SESSION_HOURS = 8
# argon2id at RFC 9106's second recommended option scaled for a server's request thread: 19 MiB, two
# passes (OWASP's minimum), ~20 ms here.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


_DECOY: list[str] = []  # a hash to verify against when there is no stored one, made once


def _spend_a_verification() -> None:
    if not _DECOY:
        _DECOY.append(_HASHER.hash(secrets.token_urlsafe(32)))
    with contextlib.suppress(VerifyMismatchError):
        _HASHER.verify(_DECOY[0], "not the secret")


class InvalidToken(Exception):
    """No token, a malformed, unknown or revoked one, or a wrong secret: 401 (the same answer for all)."""


class TooManyFailedChecks(Exception):
    """The address's failed checks of this minute are spent: 429, refused before any hashing."""


@dataclass(frozen=True)
class FailureBudget:
    """Whose failed checks a check counts against (a client address) and how many a minute it may fail."""

    client: str
    per_minute: int

    @property
    def key(self) -> str:
        return f"failed-checks:{self.client}"


class TokenBook:
    """Issuing and checking tokens against one registry."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry
        self._verified: set[str] = set()  # SHA-256 of presented tokens whose hash verified
        self._lock = threading.Lock()

    def create(self, role: str, name: str) -> tuple[Token, str]:
        """A new token: its record and the token itself, which is shown once and never stored."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        if not name.strip() or len(name) > 200:
            raise ValueError("a token needs a name (at most 200 characters) that says whose it is")
        token_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        record = Token(token_id, name.strip(), role, _HASHER.hash(secret), now(), None)
        self._registry.add_token(record)
        return record, f"cgt_{token_id}_{secret}"

    def check(self, presented: str, budget: FailureBudget | None = None) -> Token:
        """The live token ``presented`` names, or InvalidToken (whatever is wrong, the same message).

        With a ``budget`` (every check a request makes), a check that would hash first takes a unit of it
        (TooManyFailedChecks if none is left) and gives it back if the token is valid. Without one (the
        operator's own checks in a trusted process) nothing is counted."""
        refused = InvalidToken("no valid token: send Authorization: Bearer <token>, or sign in")
        match = _FORMAT.fullmatch(presented) if len(presented) <= MAX_TOKEN_CHARS else None
        if match is not None and self._verified_before(presented):  # no hash: no unit
            record = self._registry.token(match.group(1))
            if record is None or record.revoked is not None:
                raise refused
            return record
        reservation = None
        if budget is not None:
            reservation = self._registry.reserve(budget.key, budget.per_minute)
            if reservation is None:
                raise TooManyFailedChecks(
                    "too many failed sign-ins or token checks from this address in the last minute; "
                    "try again in a minute"
                )
        record = self._verify(match, refused)  # a failure keeps the unit: it counts
        if reservation is not None:
            self._registry.refund(reservation)
        return record

    def _verify(self, match: re.Match[str] | None, refused: InvalidToken) -> Token:
        """The slow check of a well-formed token (one argon2 verification, a decoy one for an unknown id)."""
        if match is None:
            raise refused
        record = self._registry.token(match.group(1))
        if record is None or record.revoked is not None:
            _spend_a_verification()  # as long as a wrong secret takes: the answer's time says nothing
            raise refused
        try:
            _HASHER.verify(record.hash, match.group(2))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            raise refused from None
        with self._lock:
            self._verified.add(_digest(match.group(0)))
        return record

    def _verified_before(self, presented: str) -> bool:
        """Whether this process verified ``presented`` already (so checking it again costs no slow hash)."""
        with self._lock:
            return _digest(presented) in self._verified


class SessionBook:
    """Browser sessions: a cookie's secret to a live token, and the CSRF secret of its forms."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    def open(self, token: Token) -> tuple[str, str]:
        """A new session for ``token``: (the cookie's secret, the CSRF secret)."""
        secret = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        expires = (datetime.now(UTC) + timedelta(hours=SESSION_HOURS)).replace(microsecond=0)
        self._registry.add_session(_digest(secret), token.id, csrf, expires.isoformat().replace("+00:00", "Z"))
        return secret, csrf

    def find(self, secret: str) -> tuple[Token, str] | None:
        if not secret or len(secret) > MAX_TOKEN_CHARS:
            return None
        return self._registry.session(_digest(secret))

    def close(self, secret: str) -> None:
        if secret and len(secret) <= MAX_TOKEN_CHARS:
            self._registry.end_session(_digest(secret))


def same_secret(given: str, expected: str) -> bool:
    """A constant-time comparison of two secrets (the CSRF field against the session's)."""
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8"))


def _digest(secret: str) -> str:
    """A SHA-256 of a secret: what a session row, and this process's memory of a verified token, keep."""
    return hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest()
