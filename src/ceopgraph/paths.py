"""Paths of our URI space and the links pages make: what a request path may name, and where an IRI is served.

Nothing of a request path reaches a query before ``valid_rest`` accepts it; ``Linker`` turns canonical
IRIs into local paths and refuses to link anything but http(s) (no ``javascript:`` links on pages).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from ceopgraph.urischeme import UriScheme

# One path segment of our URI space: unreserved characters only (RFC 3986 section 2.3), never starting
# with a dot (so no "." or ".." segments), never empty (so no "//" tricks and no trailing slash).
_SEGMENT = r"[A-Za-z0-9_~-][A-Za-z0-9._~-]*"
_REST = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT})*")
_SEGMENT_ONLY = re.compile(_SEGMENT)
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

    Our IRIs are served where the scheme says (``UriScheme.served_at``: ``{base}id/x`` by ``/doc/x``);
    other http(s) IRIs link out; any other scheme (``urn:``, ``javascript:``…) never becomes a link.
    """

    scheme: UriScheme
    root: str = ""

    def is_local(self, iri: str) -> bool:
        return self.scheme.is_local(iri)

    def href(self, iri: str) -> str | None:
        served = self.scheme.served_at(iri)
        if served is not None:
            return self.root + served
        if iri.startswith(("http://", "https://")):
            return iri
        return None

    def document(self, iri: str, extension: str | None = None) -> str | None:
        """The local page of a resource, optionally the file of one format (``…/ceop.ttl``)."""
        href = self.href(iri) if self.is_local(iri) else None
        if href is None or extension is None:
            return href
        return f"{href}.{extension}"


# IRIs compared by the scheme ---------------------------------------------------------------------------

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_HEX = frozenset("0123456789abcdefABCDEF")
_DEFAULT_PORTS = {"http": "80", "https": "443"}


@dataclass(frozen=True)
class ParsedIri:
    """An IRI in RFC 3986's five parts, normalised as section 6.2.2 says (case of the scheme and host,
    percent-encoded unreserved characters decoded, dot segments removed, a default port dropped): two
    spellings of one resource parse to the same value. ``query`` and ``fragment`` are None when absent
    and ``""`` when present but empty (``…#`` is not ``…``)."""

    scheme: str
    authority: str | None
    path: str
    query: str | None
    fragment: str | None

    def __str__(self) -> str:
        text = f"{self.scheme}:" if self.scheme else ""
        if self.authority is not None:
            text += f"//{self.authority}"
        text += self.path
        if self.query is not None:
            text += f"?{self.query}"
        if self.fragment is not None:
            text += f"#{self.fragment}"
        return text

    def relative_path(self, base: ParsedIri) -> str | None:
        """The path after ``base``'s (a base ends with ``/``) when both name the same site, else None;
        the query and fragment are not part of it."""
        if (self.scheme, self.authority) != (base.scheme, base.authority) or not self.path.startswith(base.path):
            return None
        return self.path[len(base.path) :]


def parse_iri(iri: str) -> ParsedIri:
    """Split ``iri`` at its first ``#``, its first ``?`` and its authority (RFC 3986 appendix B), then
    normalise each part; one pass over the text."""
    rest, hash_sign, fragment = iri.partition("#")
    rest, question_mark, query = rest.partition("?")
    scheme, colon, after = rest.partition(":")
    if not colon or "/" in scheme:
        scheme, after = "", rest
    authority = None
    if after.startswith("//"):
        authority, slash, path = after[2:].partition("/")
        path = slash + path
        authority = _normal_authority(scheme.lower(), _decode_unreserved(authority))
        path = path or "/"
    else:
        path = after
    return ParsedIri(
        scheme.lower(),
        authority,
        _without_dot_segments(_decode_unreserved(path)),
        _decode_unreserved(query) if question_mark else None,
        _decode_unreserved(fragment) if hash_sign else None,
    )


def _decode_unreserved(text: str) -> str:
    """``%41`` → ``A`` for unreserved characters; other escapes kept, their hex digits in upper case."""
    if "%" not in text:
        return text
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "%" and i + 2 < n and text[i + 1] in _HEX and text[i + 2] in _HEX:
            decoded = chr(int(text[i + 1 : i + 3], 16))
            out.append(decoded if decoded in _UNRESERVED else "%" + text[i + 1 : i + 3].upper())
            i += 3
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _normal_authority(scheme: str, authority: str) -> str:
    """The host in lower case, an empty or default port dropped (``HTTPS://X.org:443`` → ``x.org``)."""
    userinfo, at, hostport = authority.rpartition("@")
    host, port = hostport, ""
    if not hostport.endswith("]"):  # an IPv6 literal without a port
        before, colon, after = hostport.rpartition(":")
        if colon and (after.isdigit() or not after):
            host, port = before, after
    shown_port = "" if port in ("", _DEFAULT_PORTS.get(scheme)) else f":{port}"
    return f"{userinfo}{at}{host.lower()}{shown_port}"


def _without_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4, on whole segments: ``/a/./b/../c`` → ``/a/c``."""
    if "." not in path:
        return path
    segments = path.split("/")
    kept: list[str] = []
    for segment in segments:
        if segment == ".":
            continue
        if segment == "..":
            if len(kept) > 1 or (kept and kept[0]):
                kept.pop()
            continue
        kept.append(segment)
    if segments[-1] in (".", ".."):
        kept.append("")  # "/a/b/.." names the folder "/a/"
    return "/".join(kept)


def valid_segment(segment: str) -> bool:
    """Whether ``segment`` is one segment of our URI space (what ``valid_rest`` allows between slashes)."""
    return len(segment) <= MAX_PATH_CHARS and _SEGMENT_ONLY.fullmatch(segment) is not None
