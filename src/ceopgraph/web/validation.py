"""The submission validation service: ``POST /validate`` for programs, ``GET /validate`` for people.

Views are thin: the request is turned into a ``Submission`` (bytes, a format, a name), the core
(``ceopgraph.validation``, which parses with ``ceopgraph.rdfio``: the command line's code) validates it
in a worker process that a time limit can kill, and the ``Report`` is rendered in the negotiated
format. Refusals are domain exceptions that ``web.errors`` maps to statuses: 400 unreadable, 406 no
acceptable report format, 413 too large, 415 unknown media type, 503 past the time limit.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath
from typing import Any

from flask import Blueprint, Response, render_template, request, url_for
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge

from ceopgraph import paths, tables
from ceopgraph.conneg import FORMATS_BY_NAME, RDF_FORMATS, negotiate, rdf_format_for_media_type
from ceopgraph.rdfio import UnreadableRdf, format_for_name, guess_format
from ceopgraph.validation.guide import GuideSection, guide_href
from ceopgraph.validation.report import Report
from ceopgraph.validation.service import (
    ReportNotAcceptable,
    Submission,
    SubmissionRefused,
    SubmissionTooLarge,
    UnsupportedSubmissionType,
)
from ceopgraph.web.body import BodyTooLarge
from ceopgraph.web.services import current

blueprint = Blueprint("validation", __name__)

HTML = "text/html"
# Report formats in the server's order of preference; no Accept header gets JSON (scripts, curl).
REPORT_TYPES: dict[str, str] = {
    "application/json": "json",
    HTML: "html",
    "text/turtle": "turtle",
    "application/ld+json": "jsonld",
    "text/csv": "csv",
    "text/plain": "text",  # the command line's default rendering
}
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
EXAMPLE_NAME = "example-submission.ttl"


@blueprint.get("/validate")
def page() -> Response:
    """The form, the example and the guide; opening it starts the validation workers."""
    current().validator.start()
    return report_page(None, status=200)


@blueprint.post("/validate")
def submit() -> Response:
    """Validate the body (or the form's file or text) and answer the report in the accepted format."""
    report_type = _report_type()
    submission = submission_from_request()
    settings = current().settings
    with current().admission.expensive():  # not per client: one submitter may send a batch
        report = current().validator.validate(submission, settings.validation_timeout_s)
    if report_type == HTML:
        pasted = request.form.get("text", "") if request.mimetype in FORM_TYPES else ""
        return report_page(report, status=200, pasted=pasted)
    rendered: dict[str, Callable[[], str | bytes]] = {
        "json": report.to_json,
        "turtle": report.to_turtle,
        "jsonld": report.to_jsonld,
        "csv": report.to_csv,
        "text": report.to_text,
    }
    body = rendered[REPORT_TYPES[report_type]]()
    headers = {"Cache-Control": "no-store", "Vary": "Accept"}
    if report.omitted:  # the formats without a place of their own for it (CSV, the SHACL report) say it here
        headers["X-Results-Omitted"] = str(report.omitted)
    if report_type == "text/csv":
        headers["Content-Disposition"] = 'attachment; filename="validation-report.csv"'
    return Response(body, mimetype=report_type, headers=headers)


@blueprint.get(f"/validate/{EXAMPLE_NAME}")
def example() -> Response:
    """A complete submission that conforms (the published figures, their structure and code lists)."""
    return Response(
        current().example.get(current().store.version),
        mimetype="text/turtle",
        headers={"Content-Disposition": f'attachment; filename="{EXAMPLE_NAME}"'},
    )


# Request → Submission ------------------------------------------------------------------------------


def _report_type() -> str:
    """Negotiated before any work, so a client that accepts nothing we write learns it at once."""
    chosen = negotiate(request.headers.get("Accept"), list(REPORT_TYPES), default="application/json")
    if chosen is None:
        raise ReportNotAcceptable("no acceptable report format; offered: " + ", ".join(REPORT_TYPES))
    return chosen


# Room for a multipart form's framing around a submission of the largest size.
FORM_FRAMING = 64 * 1024


def _too_large(limit: int) -> SubmissionTooLarge:
    return SubmissionTooLarge(
        f"the submission is larger than the limit of {limit:,} bytes; split it, or validate it "
        "with the command line (ceopgraph validate)"
    )


def read_submission_body() -> None:
    """Read the request's body whole within the submission limit (checked before reading, and while
    reading; ends early: 400, too slow: 408): a form is then parsed from the complete copy, and a second
    read of the body (the submission, after a CSRF check looked at the form) gets the same bytes."""
    limit = current().settings.max_submission_bytes
    if request.content_length is not None and request.content_length > limit:
        raise _too_large(limit)
    # The app's MAX_CONTENT_LENGTH is the larger of the query and submission limits: this route's own.
    request.max_content_length = limit + FORM_FRAMING
    request.max_form_memory_size = limit
    try:
        current().bodies.read(request.environ, limit + FORM_FRAMING)
    except BodyTooLarge:
        raise _too_large(limit) from None


def submission_from_request() -> Submission:
    """The submitted bytes within the submission limit, from the body or the form's file or text."""
    limit = current().settings.max_submission_bytes
    read_submission_body()
    try:
        if request.mimetype in FORM_TYPES:
            submission = _from_form()
        else:
            fmt = rdf_format_for_media_type(request.mimetype)
            if fmt is None:
                raise UnsupportedSubmissionType(
                    f"cannot validate {request.mimetype or 'a body without a Content-Type'}; send one of "
                    + ", ".join(f.media_type for f in RDF_FORMATS)
                    + ", or a form (multipart/form-data) with a file or a text field"
                )
            submission = Submission(request.get_data(), fmt.name, "the submission")
    except RequestEntityTooLarge:
        raise _too_large(limit) from None
    if not submission.data.strip():
        raise SubmissionRefused("nothing to validate: the submission is empty")
    if len(submission.data) > limit:
        raise _too_large(limit)
    return submission


def _from_form() -> Submission:
    """The uploaded file, else the pasted text; the format chosen, else from the file name or content."""
    chosen = request.form.get("format", "auto")
    if chosen != "auto" and chosen not in FORMATS_BY_NAME:
        raise UnsupportedSubmissionType(f"unknown format {chosen!r}; choose one of {', '.join(FORMATS_BY_NAME)}")
    upload: FileStorage | None = request.files.get("file")
    if upload is not None and upload.filename:
        data = upload.read()
        name = PurePosixPath(upload.filename).name
        if chosen == "auto":
            chosen = _format_of_name(name) or guess_format(data).name
        return Submission(data, chosen, name)
    data = request.form.get("text", "").encode("utf-8")
    if not data.strip():
        raise SubmissionRefused("nothing to validate: choose a file or paste RDF into the text box")
    return Submission(data, guess_format(data).name if chosen == "auto" else chosen, "the pasted text")


def _format_of_name(name: str) -> str | None:
    """The format a file name's extension names, or None to guess from the content."""
    suffix = PurePosixPath(name).suffix
    try:
        return format_for_name(suffix).name if suffix else None
    except UnreadableRdf:
        return None


def report_page(report: Report | None, status: int, pasted: str = "") -> Response:
    """The page: the form (``pasted`` kept in its box) and the guide, with ``report`` grouped by rule when
    there is one; what ``POST /validate`` answers a browser, and what the report tests render in process."""
    body = render_template(
        "validate.html",
        report=report,
        counts=report.counts if report else {},
        groups=report.groups() if report else [],
        linker=paths.Linker(current().settings.scheme, request.script_root),
        shapes_base=f"{current().settings.scheme.shapes}/",
        guide=_guide(),
        guide_link=guide_link,
        formats=RDF_FORMATS,
        pasted=pasted,
        example_name=EXAMPLE_NAME,
        limit=current().settings.max_submission_bytes,
        **(table_way() if report is None else {}),  # a report's page is about the RDF sent
    )
    return Response(body, status=status, mimetype=HTML, headers={"Cache-Control": "no-store", "Vary": "Accept"})


def table_way(upload_here: bool = False) -> dict[str, Any]:
    """What ``_table_way.html`` needs: each cube served now with its columns explained and the address of
    its live CSV, the drafts page's address where this server takes drafts, and whether the table form is
    on the page (``upload_here``: the drafts page)."""
    linker = paths.Linker(current().settings.scheme, request.script_root)
    found = []
    for guide in current().table_guides.get(current().store.version):
        document = linker.href(str(guide.dataset)) if linker.is_local(str(guide.dataset)) else None
        if document is not None:
            found.append({"guide": guide, "csv": tables.table_href(document)})
    drafts = f"{request.script_root}/drafts" if current().releases is not None else None
    return {"table_guides": found, "drafts_href": drafts, "upload_here": upload_here}


def _guide() -> list[GuideSection]:
    return current().guide.get(current().store.version)


def guide_link(shape: str, constraint: str | None = None) -> str:
    """Where a report's result links for its rule: the guide's entry for it on this page, which says what
    the rule wants and shows an example of a fix (the drafts' reports link here too)."""
    return url_for("validation.page") + guide_href(_guide(), shape, constraint)
