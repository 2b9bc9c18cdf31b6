"""The submission validation service: ``POST /validate`` for programs, ``GET /validate`` for people.

Views are thin: the request is turned into a ``Submission`` (bytes, a format, a name), the core
(``ceopgraph.validate``, which parses with ``ceopgraph.rdfio``: the command line's code) validates it
in a worker process that a time limit can kill, and the ``Report`` is rendered in the negotiated
format. Refusals are domain exceptions that ``web.errors`` maps to statuses: 400 unreadable, 406 no
acceptable report format, 413 too large, 415 unknown media type, 503 past the time limit.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import PurePosixPath

from flask import Blueprint, Response, current_app, render_template, request
from rdflib import Graph
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge

from ceopgraph import paths, web
from ceopgraph.build import graph_iri
from ceopgraph.conneg import FORMATS_BY_NAME, RDF_FORMATS, negotiate, rdf_format_for_media_type
from ceopgraph.namespaces import prefix_map
from ceopgraph.rdfio import UnreadableRdf, format_for_name, guess_format, serialise
from ceopgraph.validate import (
    SEVERITY_ORDER,
    SHAPES_NODE_PATH,
    GuideSection,
    Report,
    ReportNotAcceptable,
    Submission,
    SubmissionRefused,
    SubmissionTooLarge,
    UnsupportedSubmissionType,
    ValidationPool,
    ValidatorConfig,
    load_shapes,
    submission_guide,
)
from ceopgraph.web.body import BodyTooLarge, read_body

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
# The example: the figures with the structure and the code lists they use, a complete submission.
EXAMPLE_GRAPHS = ("figures", "structure", "vocabulary")
EXAMPLE_NAME = "example-submission.ttl"
_POOL_KEY = "ceopgraph.validation.pool"
_GUIDE_KEY = "ceopgraph.validation.guide"
_EXAMPLE_KEY = "ceopgraph.validation.example"


@blueprint.get("/validate")
def page() -> Response:
    """The form, the example and the guide; opening it starts the validation workers."""
    _pool().start()
    return _html(None, status=200)


@blueprint.post("/validate")
def submit() -> Response:
    """Validate the body (or the form's file or text) and answer the report in the accepted format."""
    report_type = _report_type()
    submission = _submission()
    settings = web.current_settings()
    with web.current_admission().expensive():  # not per client: one submitter may send a batch
        report = _pool().validate(submission, settings.validation_timeout_s)
    if report_type == HTML:
        pasted = request.form.get("text", "") if request.mimetype in FORM_TYPES else ""
        return _html(report, status=200, pasted=pasted)
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
        _example(),
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


def _submission() -> Submission:
    """The submitted bytes within the submission limit (checked before reading, and while reading)."""
    limit = web.current_settings().max_submission_bytes
    too_large = SubmissionTooLarge(
        f"the submission is larger than the limit of {limit:,} bytes; split it, or validate it "
        "with the command line (ceopgraph validate)"
    )
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    # The app's MAX_CONTENT_LENGTH is the larger of the query and submission limits: this route's own.
    request.max_content_length = limit + 64 * 1024  # room for the multipart framing
    request.max_form_memory_size = limit
    try:
        # Read whole first (ends early: 400, too slow: 408): forms are then parsed from the complete copy.
        read_body(limit + 64 * 1024)
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
    except (RequestEntityTooLarge, BodyTooLarge):
        raise too_large from None
    if not submission.data.strip():
        raise SubmissionRefused("nothing to validate: the submission is empty")
    if len(submission.data) > limit:
        raise too_large
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


# Per-app resources: the worker pool, the guide and the example ---------------------------------


def _pool() -> ValidationPool:
    """One pool per app; an unstarted pool costs nothing, so a lost race just discards one."""
    pool = current_app.extensions.get(_POOL_KEY)
    if pool is None:
        settings = web.current_settings()
        config = ValidatorConfig(str(settings.shapes_dir), settings.base_uri, settings.max_submission_bytes)
        pool = current_app.extensions.setdefault(
            _POOL_KEY, ValidationPool(config, settings.validation_processes, settings.validation_memory_mb)
        )
    assert isinstance(pool, ValidationPool)
    return pool


def _guide() -> list[GuideSection]:
    if _GUIDE_KEY not in current_app.extensions:
        settings = web.current_settings()
        current_app.extensions[_GUIDE_KEY] = submission_guide(load_shapes(settings.shapes_dir, settings.base_uri))
    guide: list[GuideSection] = current_app.extensions[_GUIDE_KEY]
    return guide


def _example() -> bytes:
    """Read from the store (so it is the published data), kept per dataset version."""
    store, base = web.current_store(), web.current_settings().base_uri
    cached = current_app.extensions.get(_EXAMPLE_KEY)
    if cached is None or cached[0] != store.version:
        graph = Graph()
        for name in EXAMPLE_GRAPHS:
            graph += store.graph_triples(graph_iri(base, name))
        cached = (store.version, serialise(graph, FORMATS_BY_NAME["turtle"], prefix_map(base)))
        current_app.extensions[_EXAMPLE_KEY] = cached
    body: bytes = cached[1]
    return body


def _html(report: Report | None, status: int, pasted: str = "") -> Response:
    counts = {s: sum(1 for r in report.results if r.severity == s) for s in SEVERITY_ORDER} if report else {}
    body = render_template(
        "validate.html",
        report=report,
        counts=counts,
        groups=report.groups() if report else [],
        linker=paths.Linker(web.current_settings().base_uri, request.script_root),
        shapes_base=web.current_settings().base_uri + SHAPES_NODE_PATH + "/",
        guide=_guide(),
        formats=RDF_FORMATS,
        pasted=pasted,
        example_name=EXAMPLE_NAME,
        limit=web.current_settings().max_submission_bytes,
    )
    return Response(body, status=status, mimetype=HTML, headers={"Cache-Control": "no-store", "Vary": "Accept"})
