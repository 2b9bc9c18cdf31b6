"""Command line: thin wrappers over the modules, one sub-command each.

Each command imports what only it uses (the web server, the write path, tables) in its own body, so a
command starts without loading the others': ``ceopgraph validate`` does not load Flask or the releases.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ceopgraph import rdfio, storedform
from ceopgraph.build import BuildError, build_dataset, union_graph, write_dumps
from ceopgraph.config import SERVERS, Settings, SettingsError, load_settings
from ceopgraph.conneg import FORMATS_BY_EXTENSION, RdfFormat
from ceopgraph.rdfio import UnreadableRdf, format_for_name, format_for_path, read_bounded, read_files
from ceopgraph.validation.engine import validate_graph
from ceopgraph.validation.shapes import load_shapes

if TYPE_CHECKING:
    from rdflib import Dataset

    from ceopgraph.publish import Target
    from ceopgraph.releases.service import Releases
    from ceopgraph.tablesin import TableUpload


def _validated_dataset(settings: Settings, refusal: str) -> Dataset | int:
    """The built dataset if it conforms to the shapes; otherwise the reason on stderr and an exit code
    (2: the sources cannot be read, 1: they do not conform). Build and publish share this gate."""
    try:
        dataset = build_dataset(settings)
    except BuildError as exc:
        print(f"build failed: {exc}", file=sys.stderr)
        return 2
    report = validate_graph(union_graph(dataset), load_shapes(settings.shapes_dir, settings.scheme))
    if report.conforms:
        return dataset
    print(
        f"{refusal}: the dataset does not conform to the shapes ({len(report.violations)} violations)",
        file=sys.stderr,
    )
    for result in report.violations:
        print(f"- {result.message}\n  focus: {result.focus_node}\n  shape: {result.source_shape}", file=sys.stderr)
    return 1


def _warn_rewrites(lines: Sequence[str], shown: int = 50) -> None:
    """The literals the store would not publish as written (see ``storedform``), on stderr."""
    if not lines:
        return
    print(
        f"warning: the store would publish {len(lines)} literal(s) in another form than written "
        "(it keeps typed values in canonical form); write them in the second form to publish them as written:",
        file=sys.stderr,
    )
    for line in lines[:shown]:
        print(f"  {line}", file=sys.stderr)
    if len(lines) > shown:
        print(f"  ... and {len(lines) - shown} more (`ceopgraph validate` lists every one)", file=sys.stderr)


def cmd_build(args: argparse.Namespace) -> int:
    """Assemble, validate, then write the dumps (or nothing, if the data does not conform)."""
    settings = load_settings(base_uri=args.base_uri)
    started = time.perf_counter()
    dataset = _validated_dataset(settings, "build refused, nothing written")
    if isinstance(dataset, int):
        return dataset
    # The dumps keep every literal as written; the embedded store serving them may not.
    _warn_rewrites([rewrite.describe() for rewrite in storedform.rewrites(union_graph(dataset))])
    dumps = write_dumps(dataset, Path(args.out), settings.scheme)
    graphs = {g for *_, g in dataset.quads()}
    print(
        f"built {len(union_graph(dataset))} triples in {len(graphs)} named graphs, validated and written "
        f"in {time.perf_counter() - started:.2f} s (base URI {settings.base_uri})"
    )
    for dump in dumps:
        print(f"  {dump.path}  {dump.media_type}  sha256:{dump.sha256[:16]}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """Validate submitted files, merged, against our shapes: 0 conforms, 1 violations, 2 unreadable."""
    settings = load_settings(base_uri=args.base_uri)
    try:
        fmt = format_for_name(args.input_format) if args.input_format else None
        data = read_files([Path(f) for f in args.files], settings.max_submission_bytes, settings.base_uri, fmt)
    except UnreadableRdf as exc:
        print(f"cannot validate: {exc.message}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    report = validate_graph(data, load_shapes(settings.shapes_dir, settings.scheme))
    rendered = {"text": report.to_text, "json": report.to_json, "turtle": report.to_turtle}[args.format]()
    print(rendered, end="" if rendered.endswith("\n") else "\n")
    print(f"validated {len(data)} triples in {time.perf_counter() - started:.2f} s", file=sys.stderr)
    return 0 if report.conforms else 1


def _files_to_serve(settings: Settings, data: Sequence[str] | None, dist: Path) -> tuple[list[Path], list[RdfFormat]]:
    """The files to serve: those named, or the built TriG dump (built first when missing)."""
    if data:
        paths = [Path(p) for p in data]
        formats = []
        for path in paths:
            fmt = FORMATS_BY_EXTENSION.get(path.suffix.lstrip("."))
            if fmt is None or not path.is_file():
                raise SystemExit(f"cannot serve {path}: not a readable file with a known RDF extension")
            formats.append(fmt)
        return paths, formats
    trig = dist / "ceopgraph.trig"
    if not trig.is_file():
        write_dumps(build_dataset(settings), dist, settings.scheme)
    return [trig], [FORMATS_BY_EXTENSION["trig"]]


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the dataset over HTTP under Granian (or gunicorn) until interrupted."""
    from flask import Flask

    from ceopgraph.compose import open_store, push_target
    from ceopgraph.processes.sandbox import SandboxUnavailable, check_available
    from ceopgraph.server import serve
    from ceopgraph.store.disk import DiskStore
    from ceopgraph.web.app import create_app

    dist = Path(args.dist)
    settings = load_settings(  # the dumps are served from dist_dir
        base_uri=args.base_uri,
        dist_dir=dist.resolve(),
        endpoint=args.endpoint,
        data_dir=Path(args.data_dir).resolve() if args.data_dir else None,
        database_url=args.database_url,
    )
    try:  # untrusted work runs only in processes the system denies the network to (fail closed)
        check_available()
    except SandboxUnavailable as exc:
        raise SystemExit(f"cannot serve: query and validation processes cannot be confined here: {exc}") from exc
    if settings.query_store not in ("memory", "disk"):
        raise SystemExit(f"cannot serve: CEOPGRAPH_QUERY_STORE is {settings.query_store!r}, not memory or disk")
    disk: DiskStore | None = None
    paths, formats = _files_to_serve(settings, args.data, dist) if not settings.endpoint else ([], [])
    if not settings.endpoint and settings.query_store == "disk":
        # Written here, once, before the server forks its workers: every query process of every worker
        # opens this one copy read-only (a scratch folder unless CEOPGRAPH_STORE_PATH names one).
        try:
            disk = DiskStore.build(paths, formats, settings.store_path)
        except OSError as exc:  # unreadable data (the writer printed why) or an unusable folder
            raise SystemExit(f"cannot serve: {exc}") from exc
    if args.data and not settings.endpoint:  # the built dump was checked when it was built
        _warn_rewrites(
            [
                f"{path}: {change.written} would be published as {change.stored} ({change.count} triples)"
                for path, changes in storedform.rewrites_in_files(paths, formats).items()
                for change in changes
            ]
        )

    if settings.database_url and settings.data_dir is None:
        raise SystemExit(
            "cannot serve: CEOPGRAPH_DATABASE_URL holds the releases; give this machine's data directory for "
            "their files too (--data-dir)"
        )
    if settings.data_dir is not None:
        if args.data or (not settings.endpoint and settings.query_store != "memory"):
            raise SystemExit(
                "cannot serve: CEOPGRAPH_DATA_DIR (releases) serves its releases: no --data, and the embedded "
                "store in memory (CEOPGRAPH_QUERY_STORE=memory) or a remote one (--endpoint)"
            )
        if settings.endpoint and not paths:
            paths, formats = _files_to_serve(settings, None, dist)  # the built dataset, for release 1
        writer = local_releases(settings)
        for name in writer.recover():
            print(f"removed {name} from {settings.data_dir}: left by a publish that did not finish", file=sys.stderr)
        if writer.ensure_first_release(paths[0]) is not None:
            print(f"the built dataset is release 1 in {settings.data_dir}")
        elif not writer.serves_built(paths[0]):
            print(
                f"warning: {settings.data_dir} serves its current release, which differs from the built dataset "
                f"({paths[0]}); publish the change as a draft, or serve another data directory",
                file=sys.stderr,
            )
        target = push_target(settings)
        if target is not None:  # the store holds the current release, or a newer state, before any request
            _push_at_start(writer, target)
        # Before the workers are forked: a pool's connections and thread are never shared with a child, and
        # each worker opens its own registry.
        writer.registry.close()

    def make_app() -> Flask:  # in each server worker; queries run in processes a timeout can kill
        return create_app(settings, open_store(settings, paths, formats, disk, start=True), owns_store=True)

    print(f"serving on http://{args.host}:{args.port}/ (base URI {settings.base_uri})", flush=True)
    try:
        serve(make_app, args.host, args.port, args.workers, args.threads, args.server, settings.header_timeout_s)
    finally:
        if disk is not None:
            disk.remove()
    return 0


def _push_at_start(writer: Releases, target: Target) -> None:
    """Bring the remote store to this replica's current release, unless it holds a newer state: a replica
    restarted with a registry behind the store's (a rolling deploy over separate data folders) serves the
    store as it is and says so, never taking it back (``releases.remote``)."""
    from ceopgraph.releases.remote import StoreAhead, StoreNotUpdated, push_current

    try:
        pushed = push_current(writer, target)
    except StoreAhead as exc:
        print(
            f"warning: the store holds {exc.held}; this replica has {exc.pushing}. Not written: this replica "
            "serves the store's newer release (its /releases and dumps are its own data folder's)",
            file=sys.stderr,
        )
        return
    except StoreNotUpdated as exc:
        raise SystemExit(f"cannot serve: {exc}") from exc
    if pushed.report is None:
        print(f"{pushed.state} is in the store already, whole: nothing written")
    else:
        report = pushed.report
        print(f"{pushed.state} is in the store ({report.triples} triples, {report.seconds:.1f} s)")


def cmd_publish(args: argparse.Namespace) -> int:
    """Build and validate the dataset, replace its graphs in a SPARQL 1.1 store, then read them back."""
    from ceopgraph.publish import PublishError, Target, describe, publish
    from ceopgraph.releases.remote import read_marker
    from ceopgraph.store.client import Credentials
    from ceopgraph.store.jobs import StoreError

    settings = load_settings(base_uri=args.base_uri, endpoint=args.endpoint, update_endpoint=args.update_endpoint)
    if not settings.endpoint:
        print("publish needs --endpoint (or CEOPGRAPH_ENDPOINT): the store's SPARQL query URL", file=sys.stderr)
        return 2
    for url in (settings.endpoint, settings.update_endpoint, args.graph_store):
        if url and not url.startswith(("http://", "https://")):
            print(f"not an http(s) URL: {url}", file=sys.stderr)
            return 2
    credentials = None
    if args.user:
        # Never on the command line, where other users of the machine can read it.
        password = os.environ.get(args.password_env or "")
        if password is None:
            print("--user needs --password-env VAR, with the password in the environment variable VAR", file=sys.stderr)
            return 2
        credentials = Credentials(args.user, password, scheme=args.auth)
    dataset = _validated_dataset(settings, "publish refused, the store was not touched")
    if isinstance(dataset, int):
        return dataset
    target = Target(
        query_url=settings.endpoint,
        update_url=settings.update_endpoint,
        graph_store_url=args.graph_store,
        credentials=credentials,
        timeout_s=args.timeout,
    )
    try:
        held = read_marker(target, settings.scheme)
    except StoreError as exc:
        print(f"publish failed: {exc}", file=sys.stderr)
        return 3
    if held is not None:  # a server with releases pushes into it: replacing its graphs here would take it back
        print(
            f"publish refused, the store was not touched: it holds {held}, pushed by a server with releases "
            "(serve --data-dir); change it by publishing a draft there, or publish to another store",
            file=sys.stderr,
        )
        return 3
    try:
        published = publish(dataset, target, str(settings.scheme.graph))
    except PublishError as exc:
        print(f"publish failed: {exc}", file=sys.stderr)
        return 3
    print("\n".join(describe(published, settings.endpoint)))
    return 0 if published.verified else 3


def local_releases(settings: Settings) -> Releases:
    """The data directory's releases, for the operator: drafts prepared and releases rendered here."""
    from ceopgraph.compose import open_releases, run_in_process

    if settings.data_dir is None:
        raise SystemExit("set CEOPGRAPH_DATA_DIR (or --data-dir): the folder of the releases, drafts and tokens")
    return open_releases(settings, run_in_process(settings))


def _releases_settings(args: argparse.Namespace) -> Settings:
    return load_settings(
        base_uri=getattr(args, "base_uri", None),
        data_dir=Path(args.data_dir) if args.data_dir else None,
        database_url=args.database_url,
    )


def cmd_tokens(args: argparse.Namespace) -> int:
    """Create, list or revoke the tokens of submitters and publishers."""
    from ceopgraph.releases.service import OPERATOR

    releases = local_releases(_releases_settings(args))
    if args.action == "create":
        try:
            record, token = releases.tokens.create(args.role, args.name or "")
        except ValueError as exc:
            print(f"cannot create a token: {exc}", file=sys.stderr)
            return 2
        releases.registry.audit(OPERATOR.id, "create-token", record.id, "done", f"{record.role} {record.name}")
        print(f"created {record.role} token {record.id} for {record.name}; it is shown once, keep it secret:")
        print(token)
        return 0
    if args.action == "revoke":
        if not args.id or not releases.registry.revoke_token(args.id):
            print(f"no live token {args.id!r}", file=sys.stderr)
            return 1
        releases.registry.audit(OPERATOR.id, "revoke-token", args.id, "done")
        print(f"revoked token {args.id}; it is refused from now on, in every worker")
        return 0
    for held in releases.registry.tokens():
        state = f"revoked {held.revoked}" if held.revoked else "live"
        print(f"{held.id}  {held.role:<9}  {held.created}  {state:<28}  {held.name}")
    return 0


def _table(path: Path, args: argparse.Namespace, limit: int) -> TableUpload | None:
    """The table a draft is made from (a ``.csv`` or ``.xlsx`` file, or ``--input-format csv|xlsx``) with its
    ``--source`` and ``--title``; None for an RDF file."""
    from ceopgraph import tables
    from ceopgraph.tablesin import XLSX_EXTENSION, TableUpload

    named = (args.input_format or path.suffix.lstrip(".")).lower()
    if named not in (tables.CSV_EXTENSION, XLSX_EXTENSION):
        if args.source or args.title:
            raise SystemExit("--source and --title go with a table (a .csv file)")
        return None
    source = Path(args.source) if args.source else None
    return TableUpload(
        read_bounded(path, limit),
        path.name,
        read_bounded(source, limit) if source else None,
        source.name if source else None,
        args.title,
        named,
    )


def cmd_draft(args: argparse.Namespace) -> int:
    """Create a draft from a file, show a draft's diff, or publish it (as the operator)."""
    import json

    from ceopgraph.releases import drafting
    from ceopgraph.releases.registry import Conflict
    from ceopgraph.releases.remote import StoreNotUpdated
    from ceopgraph.releases.service import (
        OPERATOR,
        DraftInvalid,
        DraftNotFound,
        NotAcknowledged,
        UnknownAcknowledgement,
        UnknownBase,
        acknowledgements,
    )
    from ceopgraph.tablesin import TableProblems
    from ceopgraph.validation.service import Submission

    releases = local_releases(_releases_settings(args))
    try:
        if args.action == "create":
            path = Path(args.target)
            limit = load_settings().max_submission_bytes
            table = _table(path, args, limit)
            if table is not None:
                submission = Submission(table.data, table.format, path.name)
            else:
                fmt = format_for_name(args.input_format) if args.input_format else format_for_path(path)
                submission = Submission(read_bounded(path, limit), fmt.name, path.name)
            draft = releases.create_draft(OPERATOR, submission, args.base, table)
            verdict = "conforms" if draft.conforms else f"{draft.violations} violation(s)"
            print(f"draft {draft.id}: {draft.triples} triples, {verdict}")
            return 0 if draft.conforms else 1
        if args.action == "diff":
            draft = releases.current_diff(OPERATOR, args.target)
            diff = json.loads(draft.diff)
            counted = diff["statements"]
            print(f"against release {diff['base_release']}, made from release {diff['made_from']}: "
                  f"{counted['added']} statement(s) added, {counted['removed']} removed, "
                  f"{counted['changed']} changed; version {draft.version}")  # fmt: skip
            for warning in diff["warnings"]:
                print(f"  needs --acknowledge {warning['acknowledge']}: {warning['message']}")
            for figure in diff["figures"]:
                print(f"  {figure['change']}")
            for figure in diff["figures"]:
                if figure.get("row_change"):  # the same, by row of the cube's table (a diff stored before has none)
                    print(f"  in the table: {figure['row_change']}")
            for kind in ("threat_areas", "quotations", "claims"):
                for change in ("added", "removed", "changed"):
                    for item in diff[kind][change]:
                        print(f"  {kind.replace('_', ' ')} {change}: {item['label']}")
            return 0
        acknowledged = acknowledgements(args.acknowledge)
        # The operator publishes what is there, or the version its diff named (``draft diff``).
        release = releases.publish(OPERATOR, args.target, args.version, args.note, acknowledged=acknowledged)
        print(f"published release {release.n} ({release.triples} triples), now current")
        return 0
    except UnreadableRdf as exc:
        print(f"cannot read the draft: {exc.message}", file=sys.stderr)
        return 2
    except drafting.DraftTooLarge as exc:
        print(f"draft {args.action} refused: {exc}", file=sys.stderr)
        return 2
    except TableProblems as exc:
        print(f"draft {args.action} refused: {exc}; nothing was made", file=sys.stderr)
        for problem in exc.problems:
            print(
                f"  row {problem.row}, {problem.column or 'the row'}: {problem.message} ({problem.value!r})",
                file=sys.stderr,
            )
        return 1
    except (DraftNotFound, DraftInvalid, Conflict, NotAcknowledged, UnknownAcknowledgement, UnknownBase) as exc:
        print(f"draft {args.action} refused: {exc}", file=sys.stderr)
        return 1
    except StoreNotUpdated as exc:  # published here; the remote store is mended by the next push
        print(f"draft {args.action}: {exc}", file=sys.stderr)
        return 3


def cmd_transfer(args: argparse.Namespace) -> int:
    """``export DIR`` or ``import DIR``: every release, draft, token hash and audit record."""
    from ceopgraph.releases.transfer import TransferError, export, import_

    move, done = (export, "exported to") if args.command == "export" else (import_, "imported from")
    releases = local_releases(_releases_settings(args))
    try:
        counts = move(releases, Path(args.folder))
    except TransferError as exc:
        print(f"{args.command} refused: {exc}", file=sys.stderr)
        return 1
    finally:
        releases.registry.close()
    print(f"{done} {args.folder}: " + ", ".join(f"{n} {table}" for table, n in counts.items()))
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    """The audit records, as PROV-O activities in the internal audit graph (TriG), on stdout."""
    from ceopgraph.namespaces import prefix_map
    from ceopgraph.releases.transfer import audit_graph

    settings = _releases_settings(args)
    releases = local_releases(settings)
    graph = audit_graph(releases.registry.audit_records(), settings.scheme)
    sys.stdout.write(rdfio.serialise(graph, FORMATS_BY_EXTENSION["trig"], prefix_map(settings.scheme)).decode())
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ceopgraph", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    build = commands.add_parser("build", help="assemble, validate and write the dumps")
    build.add_argument("--out", default="dist", help="folder for the dumps (default: dist)")
    build.add_argument("--base-uri", help="canonical base URI (default: CEOPGRAPH_BASE_URI or the built-in one)")
    build.set_defaults(handler=cmd_build)

    data_dir_help = "the folder of releases, drafts and tokens (default: CEOPGRAPH_DATA_DIR)"
    database_url_help = (
        "the store of record in PostgreSQL, postgresql://… (default: CEOPGRAPH_DATABASE_URL; "
        "without it, SQLite in the data directory)"
    )
    run = commands.add_parser("serve", help="serve the dataset over HTTP (SPARQL endpoint and linked data)")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=5000)
    run.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    run.add_argument(
        "--threads", type=int, default=32, help="threads per worker (default 32; see CEOPGRAPH_BUSY_REQUESTS)"
    )
    run.add_argument("--server", choices=SERVERS, default="granian", help="WSGI server (default granian; or gunicorn)")
    run.add_argument("--data", nargs="+", metavar="FILE", help="serve these RDF files instead of the built dataset")
    run.add_argument("--dist", default="dist", help="folder of the built dumps (default: dist)")
    run.add_argument("--endpoint", help="serve from this SPARQL 1.1 query URL instead (default: CEOPGRAPH_ENDPOINT)")
    run.add_argument("--base-uri", help="canonical base URI")
    run.add_argument("--data-dir", help="serve releases from this folder, with the write path (CEOPGRAPH_DATA_DIR)")
    run.add_argument("--database-url", help=database_url_help)
    run.set_defaults(handler=cmd_serve)

    check = commands.add_parser(
        "validate", help="validate RDF files against the shapes (exit 0 conforms, 1 violations, 2 unreadable)"
    )
    check.add_argument("files", nargs="+", metavar="FILE", help="Turtle, TriG, N-Triples, N-Quads, JSON-LD, RDF/XML")
    check.add_argument("--format", choices=["text", "json", "turtle"], default="text", help="report format")
    check.add_argument("--input-format", metavar="NAME", help="read every file as NAME (default: by extension)")
    check.add_argument("--base-uri", help="base URI for relative IRIs (default: CEOPGRAPH_BASE_URI or built-in)")
    check.set_defaults(handler=cmd_validate)

    # No abbreviations: "--password" must not be taken for "--password-env".
    push = commands.add_parser("publish", help="load the validated dataset into a SPARQL 1.1 store", allow_abbrev=False)
    push.add_argument("--endpoint", help="the store's SPARQL query URL (default: CEOPGRAPH_ENDPOINT)")
    push.add_argument("--update-endpoint", help="its SPARQL Update URL (default: the query URL)")
    push.add_argument("--graph-store", help="its Graph Store Protocol URL; when given, graphs are PUT there")
    push.add_argument("--user", help="user name for the store's write endpoints")
    push.add_argument("--password-env", metavar="VAR", help="environment variable holding the password")
    push.add_argument("--auth", choices=["digest", "basic"], default="digest", help="HTTP auth scheme (default digest)")
    push.add_argument("--timeout", type=float, default=60.0, help="seconds per request (default 60)")
    push.add_argument("--base-uri", help="canonical base URI")
    push.set_defaults(handler=cmd_publish)

    tokens = commands.add_parser("tokens", help="create, list or revoke submitter and publisher tokens")
    tokens.add_argument("action", choices=["create", "list", "revoke"])
    tokens.add_argument("id", nargs="?", help="the token to revoke")
    tokens.add_argument("--role", choices=["submitter", "publisher"], default="submitter")
    tokens.add_argument("--name", help="whose token it is (create)")
    tokens.add_argument("--data-dir", help=data_dir_help)
    tokens.add_argument("--database-url", help=database_url_help)
    tokens.set_defaults(handler=cmd_tokens)

    draft = commands.add_parser("draft", help="create a draft from a file, show its diff, or publish it")
    draft.add_argument("action", choices=["create", "diff", "publish"])
    draft.add_argument("target", metavar="FILE|ID", help="the file of a new draft, or a draft's id")
    draft.add_argument("--input-format", metavar="NAME", help="read the file as NAME (default: by extension)")
    draft.add_argument("--base", type=int, metavar="N", help="create: the release the file was made from")
    draft.add_argument("--source", metavar="TEXT_FILE", help="create from a table: the source its quotes are in")
    draft.add_argument("--title", help="create from a table: the title of a dataset it makes")
    draft.add_argument(
        "--acknowledge",
        action="append",
        default=[],
        metavar="reverts|removals",
        help="publish: acknowledge what the diff warns of (repeated, or comma-separated)",
    )
    draft.add_argument("--note", help="publish: the release note, what changed and why (its version notes)")
    draft.add_argument(
        "--version",
        help="publish: the version draft diff named (for a draft compared with an older release)",
    )
    draft.add_argument("--data-dir", help=data_dir_help)
    draft.add_argument("--database-url", help=database_url_help)
    draft.set_defaults(handler=cmd_draft)

    out = commands.add_parser("export", help="write every release, draft, token hash and audit record to a folder")
    out.add_argument("folder")
    out.add_argument("--data-dir", help=data_dir_help)
    out.add_argument("--database-url", help=database_url_help)
    out.set_defaults(handler=cmd_transfer)
    into = commands.add_parser("import", help="load an export into an empty data directory")
    into.add_argument("folder")
    into.add_argument("--data-dir", help=data_dir_help)
    into.add_argument("--database-url", help=database_url_help)
    into.set_defaults(handler=cmd_transfer)
    audit = commands.add_parser("audit", help="print the audit records (who did what, when, the outcome) as PROV")
    audit.add_argument("--data-dir", help=data_dir_help)
    audit.add_argument("--database-url", help=database_url_help)
    audit.set_defaults(handler=cmd_audit)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; a ``CEOPGRAPH_*`` variable whose value is not of its setting's type ends it with one
    line naming the variable (exit 2, as for unreadable input), not a stack trace."""
    from ceopgraph.releases.registry import RegistryUnavailable

    args = _parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except SettingsError as exc:
        print(f"ceopgraph: bad setting: {exc}", file=sys.stderr)
        return 2
    except RegistryUnavailable as exc:  # the database of record is down or unreachable: nothing was changed
        print(f"ceopgraph: the store of record cannot be reached: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
