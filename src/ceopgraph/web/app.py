"""``create_app(settings, store)``: one Flask app with its services, its blueprints and its layers.

Nothing is global, so tests can run several apps side by side. The request passes, outermost first:
``proxies.TrustedProxies`` (forwarding headers, from configured proxies only), ``replay.ReplayCache``
(repeated GET answers replayed before Flask runs), ``sparql.QueryOperations`` (the SPARQL query
operation, the hot path, answered with the same headers and log line without Flask's machinery), then
Flask: ``middleware`` (timing, the access log, security headers, CORS), one blueprint per concern, and
``errors`` (domain errors to HTTP answers, the query operation's failures included).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NoReturn

from flask import Flask, Request
from werkzeug.routing import RequestRedirect

from ceopgraph.config import Settings
from ceopgraph.releases.follower import ReleaseStore
from ceopgraph.store.protocol import Store
from ceopgraph.web import (
    catalogue,
    errors,
    middleware,
    proxies,
    reconcile,
    releases,
    replay,
    resources,
    search,
    site,
    sparql,
    validation,
)
from ceopgraph.web.services import Services, install

# A host of our own (RFC 2606: never a real one) that werkzeug's redirects are built with, then cut off.
_REDIRECT_HOST = "redirect.invalid"


class App(Flask):
    """Flask with werkzeug's own redirects (a slash added to a route that ends in one, slashes merged) made
    relative. werkzeug builds them absolute, from the request's ``Host`` (``Host: evil.example`` gave
    ``Location: http://evil.example/…``); here the path is matched again against our URL map bound to a
    host of our own, and the ``Location`` is what that match names after the host: our route, under the
    deployment's path prefix, with the request's query."""

    def raise_routing_exception(self, request: Request) -> NoReturn:
        if isinstance(request.routing_exception, RequestRedirect):
            adapter = self.url_map.bind(
                _REDIRECT_HOST,
                script_name=request.script_root or "/",
                url_scheme="http",
                path_info=request.path,
                query_args=request.query_string.decode("latin-1"),
            )
            try:
                adapter.match(method=request.method)
            except RequestRedirect as ours:
                raise RequestRedirect(ours.new_url.removeprefix(f"http://{_REDIRECT_HOST}")) from None
        super().raise_routing_exception(request)


def create_app(
    settings: Settings, store: Store, *, owns_store: bool = False, clock: Callable[[], float] = time.time
) -> Flask:
    """An app over ``store``. Its services (``web.services``) are built now; ``close_app`` stops them,
    and closes the store too when ``owns_store`` (the server's worker made it for this app alone).
    ``clock`` places the write path's per-minute budgets: the wall clock, or a test's own."""
    app = App(__name__)
    app.config["MAX_CONTENT_LENGTH"] = max(settings.max_query_bytes, settings.max_submission_bytes)
    services = Services.build(settings, store, owns_store=owns_store, clock=clock)
    install(app, services)
    errors.register(app)
    releases.register(app)
    blueprints = (site, sparql, resources, search, validation, releases, reconcile, catalogue)
    for blueprint in (module.blueprint for module in blueprints):
        app.register_blueprint(blueprint)
    middleware.install(app)
    app.wsgi_app = sparql.QueryOperations(services, app.wsgi_app)  # type: ignore[method-assign]
    app.wsgi_app = replay.ReplayCache(store, app.wsgi_app, settings.answer_cache_mb * 1024 * 1024)  # type: ignore[method-assign]
    app.wsgi_app = proxies.TrustedProxies(app.wsgi_app, settings.trusted_proxies)  # type: ignore[method-assign]
    if isinstance(store, ReleaseStore):  # outermost: the whole request sees one release
        app.wsgi_app = store.pinning(app.wsgi_app)  # type: ignore[method-assign, assignment]
    return app
