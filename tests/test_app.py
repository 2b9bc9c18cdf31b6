"""The app's own redirects (``web.app.App``): werkzeug's slash redirects name our routes, never the
client's ``Host``. Our views' redirects are relative already (``test_resources``, ``test_releases_live``)."""

from __future__ import annotations

import pytest
from flask import Flask


@pytest.mark.parametrize(
    ("path", "query", "prefix", "location"),
    [
        ("/drafts/abc/view", "", "", "/drafts/abc/view/"),  # a slash added (strict slashes)
        ("/drafts//abc/view/", "", "", "/drafts/abc/view/"),  # slashes merged
        ("//drafts/abc/view", "", "", "/drafts/abc/view/"),  # never a protocol-relative //host
        ("/drafts/abc/view", "a=1&b=%2F", "", "/drafts/abc/view/?a=1&b=%2F"),
        ("/drafts/a%20b/view", "", "", "/drafts/a%20b/view/"),
        ("/drafts/abc/view", "", "/pre", "/pre/drafts/abc/view/"),  # under the deployment's path prefix
    ],
)
def test_slash_redirects_are_relative_whatever_the_host(
    app: Flask, path: str, query: str, prefix: str, location: str
) -> None:
    environ = {"PATH_INFO": path.replace("%20", " "), "QUERY_STRING": query, "SCRIPT_NAME": prefix}
    for host in ("evil.example", "evil.example:8080", "127.0.0.1"):
        answer = app.test_client().get("/", environ_overrides=environ, headers={"Host": host})
        assert answer.status_code == 308
        assert answer.headers["Location"] == location
