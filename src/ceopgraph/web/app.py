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

from flask import Flask

from ceopgraph.config import Settings
from ceopgraph.releases.follower import ReleaseStore
from ceopgraph.store.protocol import Store
from ceopgraph.web import errors, middleware, proxies, releases, replay, resources, site, sparql, validation
from ceopgraph.web.services import Services, install


def create_app(
    settings: Settings, store: Store, *, owns_store: bool = False, clock: Callable[[], float] = time.time
) -> Flask:
    """An app over ``store``. Its services (``web.services``) are built now; ``close_app`` stops them,
    and closes the store too when ``owns_store`` (the server's worker made it for this app alone).
    ``clock`` places the write path's per-minute budgets: the wall clock, or a test's own."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = max(settings.max_query_bytes, settings.max_submission_bytes)
    services = Services.build(settings, store, owns_store=owns_store, clock=clock)
    install(app, services)
    errors.register(app)
    releases.register(app)
    for blueprint in (site.blueprint, sparql.blueprint, resources.blueprint, validation.blueprint, releases.blueprint):
        app.register_blueprint(blueprint)
    middleware.install(app)
    app.wsgi_app = sparql.QueryOperations(services, app.wsgi_app)  # type: ignore[method-assign]
    app.wsgi_app = replay.ReplayCache(store, app.wsgi_app, settings.answer_cache_mb * 1024 * 1024)  # type: ignore[method-assign]
    app.wsgi_app = proxies.TrustedProxies(app.wsgi_app, settings.trusted_proxies)  # type: ignore[method-assign]
    if isinstance(store, ReleaseStore):  # outermost: the whole request sees one release
        app.wsgi_app = store.pinning(app.wsgi_app)  # type: ignore[method-assign, assignment]
    return app
