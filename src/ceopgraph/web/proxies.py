"""Which forwarding headers are believed: only those from the peers ``trusted_proxies`` names.

One policy under every server (gunicorn is told to trust nobody, ``server.py``; Granian trusts nobody
by itself), applied here, in front of the answer cache so its keys see the corrected request:

- From any peer not listed (the default: the list is empty), nothing forwarded counts. The scheme is
  the connection's, the client address is the peer's, the path prefix is the deployment's own
  ``SCRIPT_NAME`` (from the process environment, never from a request header), and ``Host`` is what
  the client asked for: answers that embed it (the VoID, the service description) carry it in their
  ``ETag`` and cache key, and nothing else depends on it (redirects are relative).
- From a listed peer, one hop of ``X-Forwarded-For`` (the client address), ``X-Forwarded-Proto``,
  ``X-Forwarded-Host`` and ``X-Forwarded-Prefix`` (the path prefix) are applied, by werkzeug's
  ``ProxyFix``. A ``SCRIPT_NAME`` request header means nothing from anyone.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from werkzeug.middleware.proxy_fix import ProxyFix

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


class TrustedProxies:
    """WSGI middleware: ``ProxyFix`` for requests from a trusted peer, the request as it came otherwise."""

    def __init__(self, wsgi_app: WSGIApplication, trusted: Iterable[str]) -> None:
        self._plain = wsgi_app
        self._fixed = ProxyFix(wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=0, x_prefix=1)
        self._trusted = frozenset(trusted)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REMOTE_ADDR") in self._trusted:
            return self._fixed(environ, start_response)
        return self._plain(environ, start_response)
