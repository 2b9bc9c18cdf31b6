"""The write path over HTTP: sign-in, drafts, their diffs and SPARQL endpoints, publishing, releases.

Views are thin over ``releases.service`` (the rules) and answer JSON for programs, HTML for browsers.
Who is acting comes from a bearer token (``Authorization: Bearer cgt_…``) or a sign-in session cookie
(``HttpOnly``, ``SameSite=Strict``, ``Secure`` over HTTPS); a write by cookie must carry the session's
CSRF secret (the form's hidden ``csrf`` field or ``X-CSRF-Token``) and, when the browser sends one, an
``Origin`` equal to ours. Every write is counted against the token's and the client's per-minute budgets
(one counter in the registry, shared by every worker) before any work; every token check, bearer or
sign-in, against the client's one budget of failed checks (``releases.tokens``). Nothing here is cached: every
answer says ``Cache-Control: no-store``, and the replay cache never sees these paths.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    has_request_context,
    render_template,
    request,
)

from ceopgraph import paths, rdfio, tables, tablesin
from ceopgraph.build import dump_media_type
from ceopgraph.conneg import FORMATS_BY_NAME, RDF_FORMATS, negotiate, rdf_format_for_media_type
from ceopgraph.releases.changes import KIND_TITLES
from ceopgraph.releases.content import releases_graph
from ceopgraph.releases.registry import Draft, DraftSummary, Release, Token
from ceopgraph.releases.service import (
    DraftInvalid,
    Forbidden,
    NotSignedIn,
    ReleaseNotFound,
    Releases,
    Unavailable,
    acknowledgements,
    listed,
    may_publish,
    may_submit,
)
from ceopgraph.releases.tokens import FailureBudget, InvalidToken, same_secret
from ceopgraph.store.protocol import Store
from ceopgraph.tablesin import TableProblems, TableUpload
from ceopgraph.validation.service import Submission, SubmissionRefused
from ceopgraph.web import requeststate, resources, search
from ceopgraph.web.pages.index import SubjectIndex
from ceopgraph.web.resources import View
from ceopgraph.web.services import current
from ceopgraph.web.sparql import QueryAnswerer
from ceopgraph.web.validation import FORM_TYPES, guide_link, read_submission_body, submission_from_request, table_way

blueprint = Blueprint("releases", __name__)

HTML = "text/html"
JSON = "application/json"
TRIG = FORMATS_BY_NAME["trig"]
COOKIE = "ceopgraph_session"
# A hint for the navigation of public pages, which are shared and cached and so cannot vary by session: the
# browser holds it beside the session cookie, and static/nav.js shows Drafts and Sign out while it is set. It
# is no secret and grants nothing (every write path checks the session itself).
SIGNED_IN_HINT = "ceopgraph_signed_in"
NO_STORE = {"Cache-Control": "no-store", "Vary": "Accept, Authorization, Cookie"}


class RateLimited(Exception):
    """Past a per-minute write budget."""


class BadField(Exception):
    """A query parameter or form field that is not what it must be (400)."""


class NotConfirmed(Exception):
    """The publish form sent without its confirmation box ticked."""


# Who is acting ----------------------------------------------------------------------------------------


def _releases() -> Releases:
    found = current().releases
    if found is None:
        raise Unavailable("this server has no write path: it serves one built dataset (set CEOPGRAPH_DATA_DIR)")
    return found


def _session() -> tuple[Token, str] | None:
    secret = request.cookies.get(COOKIE, "")
    return _releases().sessions.find(secret) if secret else None


def _actor(*, writing: bool = False) -> Token:
    """The token acting: a bearer token, else a session (whose writes need its CSRF secret); NotSignedIn."""
    releases = _releases()
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, presented = header.partition(" ")
        if scheme.lower() != "bearer":
            raise NotSignedIn("send Authorization: Bearer <token>")
        token = _checked(releases, presented.strip())
    else:
        found = _session()
        if found is None:
            raise NotSignedIn("sign in, or send Authorization: Bearer <token>")
        token, csrf = found
        if writing:
            _check_csrf(csrf)
    if writing:
        _count_write(token)
    return token


def _checked(releases: Releases, presented: str) -> Token:
    """A bearer token checked within the address's budget of failed checks (each costs a slow hash)."""
    try:
        return releases.tokens.check(presented, _failure_budget())
    except InvalidToken as exc:
        raise NotSignedIn(str(exc)) from None


def _failure_budget() -> FailureBudget:
    """The one budget of failed token checks, bearer and sign-in alike, of this request's address."""
    return FailureBudget(_client(), current().settings.sign_ins_per_client)


def _check_csrf(csrf: str) -> None:
    """A cookie-authenticated write: the session's CSRF secret, and our own origin if the browser names one."""
    _same_origin("a write")
    given = request.headers.get("X-CSRF-Token")
    if given is None and request.mimetype in FORM_TYPES:  # the form holds it: read the body within limits first
        read_submission_body()
        given = request.form.get("csrf", "")
    if not same_secret(given or "", csrf):
        raise Forbidden("the form's CSRF token is missing or wrong; reload the page and try again")


def _same_origin(what: str) -> None:
    """Refuse a browser's request from another site (its ``Origin``; requests without one are not a browser's
    cross-site form, which always names it)."""
    origin = request.headers.get("Origin")
    if origin is not None and origin != request.host_url.rstrip("/"):
        raise Forbidden(f"{what} from another origin ({origin[:100]}) is refused")


def _field(name: str) -> str | None:
    """A field of a small form or JSON body (sign-in, publish, withdraw), read within limits like every body."""
    if request.mimetype not in (*FORM_TYPES, JSON):
        return None
    read_submission_body()
    if request.mimetype == JSON:
        body = request.get_json(silent=True)
        return str(body[name]) if isinstance(body, dict) and name in body else None
    return request.form.get(name)


def _values(name: str) -> list[str]:
    """Every value of ``name``: as query parameters, form fields, or a JSON body's field (a string or a
    list of strings), read within limits like every body."""
    found = request.args.getlist(name)
    if request.mimetype in FORM_TYPES:
        read_submission_body()
        found += request.form.getlist(name)
    elif request.mimetype == JSON:
        read_submission_body()
        body = request.get_json(silent=True)
        given = body.get(name) if isinstance(body, dict) else None
        if isinstance(given, str):
            found.append(given)
        elif isinstance(given, list):
            found += [v for v in given if isinstance(v, str)]
    return found


def _made_from() -> int | None:
    """The release a draft was made from, as its upload names it (``base=N``, a query parameter or a form
    field), or None; a blank value names none (the upload form's field left empty)."""
    given = [value for value in _values("base") if value.strip()]
    if not given:
        return None
    if len(given) > 1 or not given[0].isascii() or not given[0].isdigit() or len(given[0]) > 18:
        shown = ", ".join(v[:20] for v in given[:3])
        raise BadField(f"base={shown}: name one release the draft was made from, by its number (base=1)")
    return int(given[0])


def _client() -> str:
    return request.remote_addr or "-"


def _count_write(token: Token) -> None:
    settings = current().settings
    budgets = ((f"token:{token.id}", settings.writes_per_token), (f"client:{_client()}", settings.writes_per_client))
    over = _releases().registry.count_write(budgets)
    if over is not None:
        kind = "token" if over.startswith("token:") else "address"
        raise RateLimited(f"too many writes from this {kind} in the last minute; try again in a minute")


def _wants_html() -> bool:
    return negotiate(request.headers.get("Accept"), [JSON, HTML], default=JSON) == HTML


def _answer(data: dict[str, Any] | list[Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return Response(body, status=status, mimetype=JSON, headers={**NO_STORE, **(headers or {})})


def _see_other(location: str) -> Response:
    return Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})


def _page(template: str, status: int = 200, **context: Any) -> Response:
    found = _session()
    context.setdefault("me", found[0] if found else None)
    context.setdefault("csrf", found[1] if found else "")
    return Response(render_template(template, **context), status=status, mimetype=HTML, headers=NO_STORE)


# Sign-in ----------------------------------------------------------------------------------------------


@blueprint.get("/sign-in")
def sign_in_page() -> Response:
    _releases()
    return _page("sign_in.html", problem=None)


@blueprint.post("/sign-in")
def sign_in() -> Response:
    releases = _releases()
    _same_origin("a sign-in")
    try:
        token = releases.tokens.check((_field("token") or "").strip(), _failure_budget())
    except InvalidToken:
        releases.registry.audit("-", "sign-in", "-", "refused", f"from {_client()}")
        return _page("sign_in.html", status=401, problem="That token is not valid (or was revoked).")
    secret, _ = releases.sessions.open(token)
    releases.registry.audit(token.id, "sign-in", token.id, "done")
    response = _see_other(request.script_root + "/drafts")
    response.set_cookie(
        COOKIE, secret, httponly=True, secure=request.is_secure, samesite="Strict", path=request.script_root or "/"
    )
    path = request.script_root or "/"
    response.set_cookie(SIGNED_IN_HINT, "1", secure=request.is_secure, samesite="Strict", path=path)
    return response


@blueprint.get("/sign-out")
def sign_out_page() -> Response:
    """The navigation's Sign out: a form holding the session's CSRF secret (a public page has none to post).
    Signed out already (a session that expired), it says so and drops the navigation's hint."""
    _releases()
    response = _page("sign_out.html")
    if _session() is None:
        response.delete_cookie(SIGNED_IN_HINT, path=request.script_root or "/")
    return response


@blueprint.post("/sign-out")
def sign_out() -> Response:
    found = _session()
    if found is not None:
        _check_csrf(found[1])
        _releases().sessions.close(request.cookies.get(COOKIE, ""))
        _releases().registry.audit(found[0].id, "sign-out", found[0].id, "done")
    response = _see_other(request.script_root + "/")
    response.delete_cookie(COOKIE, path=request.script_root or "/")
    response.delete_cookie(SIGNED_IN_HINT, path=request.script_root or "/")
    return response


# Drafts -----------------------------------------------------------------------------------------------


def _summary_json(draft: DraftSummary) -> dict[str, Any]:
    """A draft as a listing shows it: no report (``GET /drafts/{id}`` has it)."""
    root = request.script_root
    return {
        "id": draft.id,
        "status": draft.status,
        "submitted_by": _who(draft.owner),
        "created": draft.created,
        "updated": draft.updated,
        "source": draft.source,
        "triples": draft.triples,
        "conforms": draft.conforms,
        "violations": draft.violations,
        "base_release": draft.base_release,
        "made_from": draft.made_from,
        "acknowledge": sorted(draft.needs()),
        "release": draft.release,
        "version": draft.version,
        "links": {
            "self": f"{root}/drafts/{draft.id}",
            "diff": f"{root}/drafts/{draft.id}/diff",
            "sparql": f"{root}/drafts/{draft.id}/sparql",
            "publish": f"{root}/drafts/{draft.id}/publish",
        },
    }


def _draft_json(draft: Draft) -> dict[str, Any]:
    return {**_summary_json(draft), "report": json.loads(draft.report)}


def _who(token_id: str) -> dict[str, str]:
    """A draft's submitter for its readers: the token's id and name (the operator for the command line)."""
    token = _releases().registry.token(token_id)
    return {"id": token_id, "name": token.name if token else "operator (command line)"}


@blueprint.get("/drafts")
def drafts() -> Response:
    if _wants_html():
        if _session() is None and not request.headers.get("Authorization"):
            return _see_other(request.script_root + "/sign-in")
        actor = _actor()
        return _page(
            "drafts.html",
            drafts=_releases().drafts(actor),
            submitters={t.id: t.name for t in _releases().registry.tokens()},  # one read, not one per draft
            may_submit=may_submit(actor),
            formats=RDF_FORMATS,
            **table_way(upload_here=True),
        )
    return _answer([_summary_json(d) for d in _releases().drafts(_actor())])


def _table_from_request() -> TableUpload | None:
    """The table a draft is made from, if the request sends one: a ``text/csv`` or XLSX body (its title as
    the query's ``title``), or a form's ``.csv`` or ``.xlsx`` file (field ``file``) with an optional source
    document (field ``source``, UTF-8 text) and ``title``; None for an RDF submission. The body is read
    within the submission limit first, like every body; the table itself is read in a validation worker."""
    kinds = {tables.CSV_MEDIA_TYPE: tables.CSV_EXTENSION, tablesin.XLSX_MEDIA_TYPE: tablesin.XLSX_EXTENSION}
    if request.mimetype in kinds:
        read_submission_body()
        body = kinds[request.mimetype]
        return TableUpload(request.get_data(), "the table", title=request.args.get("title"), format=body)
    if request.mimetype not in FORM_TYPES:
        return None
    read_submission_body()
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return None
    name = PurePosixPath(upload.filename).name
    suffix = PurePosixPath(name).suffix.lower().lstrip(".")
    kind = suffix if suffix in kinds.values() else kinds.get(upload.mimetype)
    if kind is None:
        return None
    data = upload.read()
    if not data.strip():
        raise SubmissionRefused(f"{name[:100]}: the table is empty")
    source = request.files.get("source")
    given = source.read() if source is not None and source.filename else None
    source_name = PurePosixPath(source.filename).name if source is not None and source.filename else None
    title = request.form.get("title") or request.args.get("title")
    return TableUpload(data, name, given, source_name, title, kind)


@blueprint.post("/drafts")
def create_draft() -> Response:
    """A draft from RDF, or from a table (``_table_from_request``), which becomes the draft's RDF."""
    actor = _actor(writing=True)
    table = _table_from_request()
    submission = Submission(table.data, table.format, table.name) if table else submission_from_request()
    made_from = _made_from()
    with current().admission.expensive():  # a validation worker's job, as /validate's
        draft = _releases().create_draft(actor, submission, made_from, table)
    location = f"{request.script_root}/drafts/{draft.id}"
    if _wants_html():
        return _see_other(location)
    return _answer(_draft_json(draft), status=201, headers={"Location": location})


@blueprint.get("/drafts/<draft_id>")
def draft(draft_id: str) -> Response:
    actor = _actor()
    found = _releases().current_diff(actor, draft_id)  # what a reviewer reads: the diff against the current release
    if _wants_html():
        return _draft_page(actor, found)
    return _answer(_draft_json(found), headers={"ETag": f'"{found.version}"'})


# How many statement changes a draft's page lists (the diff as JSON has them all).
DIFF_ROWS = 300


def _capped(subjects: list[dict[str, Any]], limit: int) -> tuple[list[dict[str, Any]], int]:
    """The subjects' first ``limit`` changes (a subject cut short keeps those), and how many are left out."""
    shown: list[dict[str, Any]] = []
    room = limit
    total = 0
    for subject in subjects:
        changes = subject["changes"]
        total += len(changes)
        if room > 0:
            shown.append({**subject, "changes": changes[:room]})
            room -= min(room, len(changes))
    return shown, total - (limit - room)


def _draft_page(actor: Token, found: Draft) -> Response:
    report = json.loads(found.report)
    changes = json.loads(found.diff)
    for key, empty in (("subjects", []), ("reverts", []), ("warnings", []), ("made_from", found.base_release)):
        changes.setdefault(key, empty)  # a draft stored before the diff listed them
    counted = {"added": 0, "removed": 0, "changed": 0}
    counted.update(changes.get("statements", {}))
    subjects, more = _capped(changes["subjects"], DIFF_ROWS)
    reverts = []
    for revert in changes["reverts"]:
        shown, left = _capped(revert["subjects"], DIFF_ROWS)
        reverts.append({**revert, "subjects": shown, "more": left})
    return _page(
        "draft.html",
        draft=found,
        report=report,
        diff=changes,
        statements=counted,
        subjects=subjects,
        more=more,
        reverts=reverts,
        kinds=KIND_TITLES,
        may_publish=may_publish(actor),
        next_release=_releases().next_number(),
        is_owner=found.owner == actor.id,
        formats=RDF_FORMATS,
        **_report_links(found),
    )


def _report_links(found: Draft) -> dict[str, Any]:
    """Where a draft's report links: its focus nodes into the draft's own preview (they are not published),
    its rules to the guide's entry for them."""
    preview = paths.Linker(current().settings.scheme, f"{request.script_root}/drafts/{found.id}/view")
    return {"preview": preview, "guide_link": guide_link}


@blueprint.put("/drafts/<draft_id>")
def replace_draft(draft_id: str) -> Response:
    return _answer(_draft_json(_replaced(draft_id)))


@blueprint.post("/drafts/<draft_id>/replace")
def replace_draft_form(draft_id: str) -> Response:
    """The browser's replace (a form cannot PUT)."""
    _replaced(draft_id)
    return _see_other(f"{request.script_root}/drafts/{draft_id}")


def _replaced(draft_id: str) -> Draft:
    actor = _actor(writing=True)
    _releases().find_draft(actor, draft_id)  # a draft the actor may not see is not found, whatever the body
    table = _table_from_request()
    submission = Submission(table.data, table.format, table.name) if table else submission_from_request()
    made_from = _made_from()
    with current().admission.expensive():
        return _releases().replace_draft(actor, draft_id, submission, made_from, table)


@blueprint.delete("/drafts/<draft_id>")
def discard_draft(draft_id: str) -> Response:
    _releases().discard_draft(_actor(writing=True), draft_id)
    return Response(status=204, headers=NO_STORE)


@blueprint.post("/drafts/<draft_id>/discard")
def discard_draft_form(draft_id: str) -> Response:
    _releases().discard_draft(_actor(writing=True), draft_id)
    return _see_other(f"{request.script_root}/drafts")


@blueprint.get("/drafts/<draft_id>/diff")
def diff(draft_id: str) -> Response:
    """The diff against the current release: JSON (statements by subject, figures, things, graphs, reverts,
    warnings), TriG (the changeset: graphs ``…/diff#removed`` and ``…/diff#added``), or a page."""
    offered = [JSON, HTML, TRIG.media_type]
    return _diff(draft_id, negotiate(request.headers.get("Accept"), offered, default=JSON), offered)


@blueprint.get("/drafts/<draft_id>/diff.<any(json,trig):extension>")
def diff_as(draft_id: str, extension: str) -> Response:
    """The diff in the format its extension names, whatever the browser's ``Accept`` (the page's links)."""
    return _diff(draft_id, JSON if extension == "json" else TRIG.media_type, [JSON, TRIG.media_type])


def _diff(draft_id: str, chosen: str | None, offered: list[str]) -> Response:
    actor = _actor()
    found = _releases().current_diff(actor, draft_id)
    if chosen == HTML:
        return _draft_page(actor, found)
    if chosen == TRIG.media_type:  # as the worker wrote it: nothing parsed here
        return Response(found.changeset, mimetype=TRIG.media_type, headers=NO_STORE)
    if chosen is None:
        return _answer({"error": "no acceptable format; offered: " + ", ".join(offered)}, status=406)
    return _answer(json.loads(found.diff))


def _draft_store(actor: Token, found: DraftSummary) -> Store:
    """The draft's store; making one (a process, the draft in memory) counts as a write of the token's,
    and only then is the draft's data read."""
    stores = current().draft_stores
    if not stores.holds(found):
        _count_write(actor)
    return stores.get(found, lambda: _releases().draft(actor, found.id))


@blueprint.route("/drafts/<draft_id>/sparql", methods=["GET", "POST"])
def draft_sparql(draft_id: str) -> Response:
    """SPARQL over the draft's data, for those who may see the draft; answers are never cached."""
    actor = _actor()
    found = _releases().find_draft(actor, draft_id)
    services = current()
    answer = QueryAnswerer(services).answer(request.environ, request.method, _draft_store(actor, found))
    if answer is None:
        return _answer({"error": "send a query: ?query=… or a POST (SPARQL 1.1 Protocol)"}, status=400)
    status, headers, body = answer
    kept = [(k, v) for k, v in headers if k not in ("Cache-Control", "ETag", "Vary")]
    return Response(body, status=status, headers=[*kept, *NO_STORE.items()])


@blueprint.get("/drafts/<draft_id>/view/", defaults={"segment": "", "rest": ""})
@blueprint.get("/drafts/<draft_id>/view/<any(id,doc,def,data):segment>/<path:rest>", merge_slashes=False)
def draft_view(draft_id: str, segment: str, rest: str) -> Response:
    """The draft's pages and documents as they would be published (links stay in the preview), for those
    who may see the draft; private, never stored by a cache."""
    actor = _actor()
    found = _releases().find_draft(actor, draft_id)
    root = f"{request.script_root}/drafts/{draft_id}/view"
    requeststate.current().draft_preview = found
    store = _draft_store(actor, found)
    try:
        view = View(store, root, SubjectIndex(), f"{request.script_root}/drafts/{draft_id}/sparql")
        response = resources.preview(view, segment, rest)
    except (resources.NoSuchResource, resources.DocumentNotAcceptable) as exc:
        response = current_app.make_response(current_app.handle_user_exception(exc))  # web.errors answers it
    for header in ("ETag", "Last-Modified"):
        response.headers.pop(header, None)
    response.headers.update(NO_STORE)
    return response


@blueprint.get("/drafts/<draft_id>/view/search")
def draft_search(draft_id: str) -> Response:
    """Search the draft's data as ``/search`` searches the published data (an index of the draft made in
    memory once per revision), its links in the preview; private, never stored by a cache."""
    actor = _actor()
    found = _releases().find_draft(actor, draft_id)
    requeststate.current().draft_preview = found
    store = _draft_store(actor, found)
    index = current().memory_search.of(store)
    response = search.answer(index.search, f"{request.script_root}/drafts/{draft_id}/view", draft=True)
    response.headers.update(NO_STORE)
    return response


def _reviewed_version() -> str | None:
    """The draft version the publisher read: ``If-Match`` (the draft's ETag), or the form's or JSON's ``version``."""
    tags = request.if_match.as_set()
    if len(tags) == 1:
        return next(iter(tags))
    return _field("version") or None


@blueprint.post("/drafts/<draft_id>/publish")
def publish(draft_id: str) -> Response:
    """Publish a draft: the version reviewed, a release note (``note``) and, from the page's form, its
    confirmation box (``confirm``); a program's explicit request with its note is its confirmation."""
    actor = _actor(writing=True)
    if not request.headers.get("Authorization") and _field("confirm") != "yes":
        raise NotConfirmed(
            f"tick the box confirming that you reviewed draft {draft_id[:64]} and want to publish it, then publish"
        )
    with current().admission.expensive():
        acknowledged = acknowledgements(_values("acknowledge"))
        release = _releases().publish(actor, draft_id, _reviewed_version(), _field("note"), acknowledged=acknowledged)
    if _wants_html():
        return _see_other(f"{request.script_root}/releases")
    return _answer(_release_json(release), status=201, headers={"Location": f"{request.script_root}/releases"})


# Releases ---------------------------------------------------------------------------------------------


def _release_json(release: Release) -> dict[str, Any]:
    scheme = current().settings.scheme
    root = request.script_root
    return {
        "release": release.n,
        "iri": str(scheme.release(release.n)),
        "issued": release.issued,
        "previous": release.previous,
        "triples": release.triples,
        "withdrawn": release.withdrawn,
        "withdrawn_note": release.withdrawn_note,
        "notes": release.notes,
        "dumps": {
            name: {"url": f"{root}/releases/{release.n}/dumps/{name}", "sha256": digest}
            for name, digest in sorted(release.dumps.items())
        },
    }


@blueprint.get("/releases")
def releases_list() -> Response:
    """Every release: a page, JSON, or the live releases graph in any RDF format."""
    releases = _releases()
    current_n, _ = releases.registry.state()
    every = releases.registry.releases()
    offered = [HTML, JSON, *(f.media_type for f in RDF_FORMATS)]
    chosen = negotiate(request.headers.get("Accept"), offered, default=HTML)
    if chosen == JSON:
        return _answer({"current": current_n, "releases": [_release_json(r) for r in every]})
    fmt = rdf_format_for_media_type(chosen) if chosen else None
    if fmt is not None:
        graph = releases_graph(current().settings.scheme, [listed(r) for r in every], current_n)
        graph += resources.dcatap_context(graph, current().store)
        return Response(rdfio.serialise(graph, fmt), mimetype=fmt.media_type, headers=NO_STORE)
    if chosen is None:
        return _answer({"error": "no acceptable format; offered: " + ", ".join(offered)}, status=406)
    return _page("releases.html", releases=list(reversed(every)), current=current_n)


@blueprint.get("/releases/<int:n>")
def release_page(n: int) -> Response:
    """One release: a page (its note, status, neighbours and dumps), JSON, or its description in any RDF
    format (what the live releases graph says of it)."""
    releases = _releases()
    current_n, _ = releases.registry.state()
    every = releases.registry.releases()
    found = next((r for r in every if r.n == n), None)
    if found is None:
        raise ReleaseNotFound(f"no release {n}; /releases lists every release")
    offered = [HTML, JSON, *(f.media_type for f in RDF_FORMATS)]
    chosen = negotiate(request.headers.get("Accept"), offered, default=HTML)
    if chosen == JSON:
        return _answer(_release_json(found))
    fmt = rdf_format_for_media_type(chosen) if chosen else None
    if fmt is not None:
        graph = releases_graph(current().settings.scheme, [listed(found)], 0)
        graph += resources.dcatap_context(graph, current().store)
        return Response(rdfio.serialise(graph, fmt), mimetype=fmt.media_type, headers=NO_STORE)
    if chosen is None:
        return _answer({"error": "no acceptable format; offered: " + ", ".join(offered)}, status=406)
    later = [r.n for r in every if r.n > n]
    return _page(
        "release.html",
        release=found,
        current=current_n,
        successor=later[0] if later else None,
        iri=current().settings.scheme.release(n),
        formats=RDF_FORMATS,
    )


@blueprint.get("/releases/<int:n>/dumps/<name>")
def release_dump(n: int, name: str) -> Response:
    """A release's dumps, immutable: cacheable for a year. A release this worker knows of (its ``Served``)
    needs no registry read: the current release's dumps download while the database is down."""
    releases = _releases()
    release = current().served().release(n) or releases.registry.release(n)  # one published since: asked
    media_type = dump_media_type(name)
    if release is None or media_type is None or name not in release.dumps:
        raise ReleaseNotFound(f"no release {n}, or no dump {name[:80]} of it")
    folder = releases.materialised(n, release)
    return resources.dump_answer(folder, name, media_type, "public, max-age=31536000, immutable")


@blueprint.post("/releases/<int:n>/withdraw")
def withdraw(n: int) -> Response:
    actor = _actor(writing=True)
    release = _releases().withdraw(actor, n, _field("note") or "")
    if _wants_html():
        return _see_other(f"{request.script_root}/releases")
    return _answer(_release_json(release))


# Errors -----------------------------------------------------------------------------------------------


def error_answer(status: int, title: str, message: str, exc: Exception) -> Response:
    """A write-path error as this blueprint answers: JSON (a refused draft's report with it), or a page for
    browsers; never cached. ``web.errors`` gives the status, title, message and any further headers."""
    if _wants_html():
        if isinstance(exc, TableProblems):
            return _problems_page(status, title, message, exc)
        body = render_template("error.html", status=status, title=title, message=message)
        return Response(body, status=status, mimetype=HTML, headers=NO_STORE)
    data: dict[str, Any] = {"error": message, "status": status}
    if isinstance(exc, TableProblems):
        data["problems"] = [p.as_json() for p in exc.problems]
    if isinstance(exc, DraftInvalid):
        data["report"] = json.loads(exc.report_json)
    return _answer(data, status=status)


def _problems_page(status: int, title: str, message: str, exc: TableProblems) -> Response:
    """A refused table's page: every problem, and the rows they are on with the cells at fault marked."""
    by_row: dict[int, dict[str, list[str]]] = {}
    for problem in exc.problems:
        by_row.setdefault(problem.row, {}).setdefault(problem.column, []).append(problem.message)
    rows = [(n, cells, by_row.get(n, {})) for n, cells in exc.rows]
    body = render_template(
        "table_problems.html",
        status=status,
        title=title,
        message=message,
        problems=exc.problems,
        header=exc.header,
        rows=rows,
        shown={n for n, _ in exc.rows},
        header_problems=by_row.get(1, {}),
        max_problems=tablesin.MAX_PROBLEMS,
    )
    return Response(body, status=status, mimetype=HTML, headers=NO_STORE)


def readable_time(stamp: str) -> str:
    """A registry time (``2026-12-07T05:51:00Z``) as people read it: "7 December 2026, 05:51 UTC"; what
    is not such a time is shown as it is."""
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    return f"{moment.day} {moment:%B %Y, %H:%M} UTC"


def register(app: Flask) -> None:
    app.add_template_filter(readable_time, "readable_time")
    app.context_processor(lambda: {"has_releases": current().releases is not None})
    app.context_processor(_preview_context)


def _preview_context() -> dict[str, DraftSummary | None]:
    """The draft a page previews, for its banner (none outside a request)."""
    return {"draft_preview": requeststate.current().draft_preview if has_request_context() else None}
