"""The Flask front end: ``create_app(settings, store)`` and one blueprint per concern."""

from __future__ import annotations

from flask import Flask, current_app

from ceopgraph.config import Settings
from ceopgraph.store import Store
from ceopgraph.web import accesslog, cors, errors, proxies, replay, resources, site, sparql, validation
from ceopgraph.web.admission import Admission

STORE_KEY = "ceopgraph.store"
SETTINGS_KEY = "ceopgraph.settings"
ADMISSION_KEY = "ceopgraph.admission"


def create_app(settings: Settings, store: Store) -> Flask:
    """Build an app over ``store``; nothing is global, so tests can run several side by side."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = max(settings.max_query_bytes, settings.max_submission_bytes)
    app.extensions[STORE_KEY] = store
    app.extensions[SETTINGS_KEY] = settings
    app.extensions[ADMISSION_KEY] = Admission(settings.busy_requests, settings.client_queries)
    errors.register(app)
    app.register_blueprint(site.blueprint)
    app.register_blueprint(sparql.blueprint)
    app.register_blueprint(resources.blueprint)
    app.register_blueprint(validation.blueprint)
    accesslog.install(app)
    app.after_request(site.security_headers)
    cors.install(app)  # last: see its docstring
    # Repeated GET queries and pages are answered before Flask's request handling (the data is read-only).
    app.wsgi_app = replay.ReplayCache(app, app.wsgi_app, settings.answer_cache_mb * 1024 * 1024)  # type: ignore[method-assign]
    # Outermost: forwarding headers are applied (from trusted proxies only) before the cache keys on them.
    app.wsgi_app = proxies.TrustedProxies(app.wsgi_app, settings.trusted_proxies)  # type: ignore[method-assign]
    return app


def current_store() -> Store:
    """The store of the app handling this request."""
    store: Store = current_app.extensions[STORE_KEY]
    return store


def current_settings() -> Settings:
    settings: Settings = current_app.extensions[SETTINGS_KEY]
    return settings


def current_admission() -> Admission:
    """Who may start expensive work now, for the app handling this request."""
    admission: Admission = current_app.extensions[ADMISSION_KEY]
    return admission
