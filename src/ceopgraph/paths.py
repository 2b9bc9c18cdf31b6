"""Paths of our URI space and the links pages make: what a request path may name, and where an IRI is served.

Nothing of a request path reaches a query before ``valid_rest`` accepts it; ``Linker`` turns canonical
IRIs into local paths and refuses to link anything but http(s) (no ``javascript:`` links on pages).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# One path segment of our URI space: unreserved characters only (RFC 3986 section 2.3), never starting
# with a dot (so no "." or ".." segments), never empty (so no "//" tricks and no trailing slash).
_SEGMENT = r"[A-Za-z0-9_~-][A-Za-z0-9._~-]*"
_REST = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT})*")
MAX_PATH_CHARS = 512
HTML_EXTENSION = "html"


def valid_rest(rest: str) -> bool:
    """Whether ``rest`` (the path after ``/id/``, ``/def/``…) can name one of our resources."""
    return len(rest) <= MAX_PATH_CHARS and _REST.fullmatch(rest) is not None


def split_extension(rest: str, extensions: Iterable[str]) -> tuple[str, str | None]:
    """``organisation/ceop.ttl`` → (``organisation/ceop``, ``ttl``) when the extension is one we serve."""
    stem, dot, extension = rest.rpartition(".")
    if dot and stem and "/" not in extension and extension in extensions:
        return stem, extension
    return rest, None


@dataclass(frozen=True)
class Linker:
    """Maps canonical IRIs to the local paths that serve them, under the app's script root.

    ``{base}id/x`` is shown by ``/doc/x``; every other IRI under the base is served at its own path;
    other http(s) IRIs link out; any other scheme (``urn:``, ``javascript:``…) never becomes a link.
    """

    base: str
    root: str = ""

    def is_local(self, iri: str) -> bool:
        return iri.startswith(self.base)

    def href(self, iri: str) -> str | None:
        if iri.startswith(self.base):
            rest = iri[len(self.base) :]
            if rest.startswith("id/"):
                return f"{self.root}/doc/{rest[3:]}"
            return f"{self.root}/{rest}"
        if iri.startswith(("http://", "https://")):
            return iri
        return None

    def document(self, iri: str, extension: str | None = None) -> str | None:
        """The local page of a resource, optionally the file of one format (``…/ceop.ttl``)."""
        href = self.href(iri) if self.is_local(iri) else None
        if href is None or extension is None:
            return href
        return f"{href}.{extension}"
