"""The access log (``web.middleware``): one line per request whatever the client sends, with every field
the client chose escaped, so a percent-encoded newline or NUL in a path can neither forge a line nor
write a control character into the log."""

from __future__ import annotations

import logging

import pytest
from flask import Flask

from ceopgraph.web import middleware


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "ceopgraph.access"]


@pytest.mark.parametrize(
    ("raw", "logged"),
    [
        ("/id/a%0a1.2.3.4%20%22GET%20/admin%22%20200", "/id/a\\x0a1.2.3.4 \\x22GET /admin\\x22 200"),
        ("/id/nul%00here", "/id/nul\\x00here"),
        ("/id/cr%0dtab%09del%7f", "/id/cr\\x0dtab\\x09del\\x7f"),
        ("/id/nel%C2%85ls%E2%80%A8ps%E2%80%A9", "/id/nel\\x85ls\\u2028ps\\u2029"),
        ("/id/zwsp%E2%80%8Bbom%EF%BB%BF", "/id/zwsp\\u200bbom\\ufeff"),
        ("/id/back%5Cslash", "/id/back\\x5cslash"),
        ("/id/caf%C3%A9-%F0%9F%93%8A", "/id/café-📊"),  # printable text stays readable
    ],
)
def test_a_decoded_path_is_logged_escaped_on_one_line(
    app: Flask, caplog: pytest.LogCaptureFixture, raw: str, logged: str
) -> None:
    with caplog.at_level(logging.INFO, logger="ceopgraph.access"):
        status = app.test_client().get(raw).status_code
    [line] = _lines(caplog)
    assert line.startswith(f'127.0.0.1 "GET {logged}" {status} ')
    assert line.isprintable() and line.count('"') == 2


def test_every_text_field_of_a_line_is_escaped(caplog: pytest.LogCaptureFixture) -> None:
    """The replay cache and the query operation write their lines with ``log_line`` too, from the raw
    environ: the client address (a trusted proxy's ``X-Forwarded-For``) and the method are text as well."""
    with caplog.at_level(logging.INFO, logger="ceopgraph.access"):
        middleware.log_line("10.0.0.1\n10.0.0.2", "GE\x00T", "/p\r\nx", 200, 1.5, "h\x1b[31m")
    assert _lines(caplog) == ['10.0.0.1\\x0a10.0.0.2 "GE\\x00T /p\\x0d\\x0ax" 200 1.50ms query=h\\x1b[31m']


def test_loggable_keeps_plain_text_and_escapes_astral_controls() -> None:
    assert middleware.loggable("/sparql") == "/sparql"
    assert middleware.loggable("\U000e0001tag") == "\\U000e0001tag"  # a format character outside the BMP
