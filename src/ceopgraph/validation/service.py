"""Validating untrusted submissions: the safe parser, then our shapes, in worker processes that a time
limit can kill (``ceopgraph.processes.pool``); the refusals a service answers with.

The exceptions here say what went wrong, not how to answer it: ``ceopgraph.web.errors`` maps each to
its HTTP status.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from rdflib import Graph

from ceopgraph.processes import pool
from ceopgraph.processes.pool import WorkerPool, serve_jobs
from ceopgraph.rdfio import UnreadableRdf, format_for_name, parse_rdf
from ceopgraph.validation.engine import validate_graph
from ceopgraph.validation.report import Report
from ceopgraph.validation.shapes import load_shapes


class SubmissionRefused(Exception):
    """A submission refused before it is parsed (a bad request)."""


class SubmissionTooLarge(SubmissionRefused):
    """Larger than the size limit."""


class UnsupportedSubmissionType(SubmissionRefused):
    """In a media type or format that is not read."""


class ReportNotAcceptable(SubmissionRefused):
    """No report format the client accepts."""


class ValidationTimeout(Exception):
    """Validation ran past its time limit and its worker was killed (a service is unavailable: 503)."""


class ValidationMemoryExceeded(Exception):
    """Validation needed more memory than a validation worker may have; it was stopped (503)."""


class ValidatorUnavailable(Exception):
    """No validation worker could be started, or one died (503)."""


@dataclass(frozen=True)
class Submission:
    """Untrusted bytes, the format to read them in, and a name for messages ("line 3 of …")."""

    data: bytes
    format_name: str
    source: str


# Results a validation service sends back at most (in report order); the rest are counted, not sent.
MAX_RESULTS_SHOWN = 1000


@dataclass(frozen=True)
class ValidatorConfig:
    """What a worker needs to build its validator: our shapes, the base URI, the size limit."""

    shapes_dir: str
    base_uri: str
    max_bytes: int


def validate_submission(submission: Submission, shapes: Graph, config: ValidatorConfig) -> Report:
    """The command line's path for bytes: the safe parser (``rdfio``), then our shapes only."""
    fmt = format_for_name(submission.format_name)
    data = parse_rdf(submission.data, fmt, submission.source, config.max_bytes, config.base_uri)
    return validate_graph(data, shapes)


# The entry point ``ValidationPool`` gives its workers ("module:function", see ``ceopgraph.processes.pool.WorkerPool``).
WORKER_ENTRY = "ceopgraph.validation.service:validation_worker_main"


def validation_worker_main(fd: int) -> None:
    """A validation worker (``ceopgraph.processes.pool``): load the shapes once, then parse and validate
    submissions until the server goes away or kills it (a time limit)."""
    serve_jobs(fd, _worker_setup, _worker_validate)


def _worker_setup(config: ValidatorConfig) -> tuple[ValidatorConfig, Graph]:
    return config, load_shapes(Path(config.shapes_dir), config.base_uri)


class WorkerJob(Protocol):
    """Other work on untrusted submissions that needs the shapes (``releases.drafting``: a draft is parsed,
    validated and compared here): run in a validation worker, answering ``(status, payload)``."""

    def run(self, config: ValidatorConfig, shapes: Graph) -> tuple[str, object]: ...


def _worker_validate(state: tuple[ValidatorConfig, Graph], job: Submission | WorkerJob) -> tuple[str, object]:
    config, shapes = state
    if not isinstance(job, Submission):
        return job.run(config, shapes)
    try:
        report = validate_submission(job, shapes, config)
    except UnreadableRdf as exc:
        return unreadable(exc)
    return ("ok", report_payload(report))


def unreadable(exc: UnreadableRdf) -> tuple[str, object]:
    """A parse refusal as a reply: its constructor takes four arguments, so it is sent as values, rebuilt."""
    return ("unreadable", (exc.message, exc.source, exc.line, exc.column))


def payload_of(status: str, payload: object) -> object:
    """A job's reply as its caller takes it: the payload, or the parse refusal raised again (``unreadable``)."""
    if status == "unreadable":
        assert isinstance(payload, tuple)
        message, source, line, column = payload
        raise UnreadableRdf(message, source, line, column)
    return payload


def report_payload(report: Report) -> tuple[Any, ...]:
    """A report as a worker sends it: bounded, and rendered here, so the server neither receives nor
    parses a report that grows with the submission (a 79 KB submission gave 18,000 results, 8.5 MB of
    Turtle, 8.5 s to parse in the server)."""
    shown = report.first(MAX_RESULTS_SHOWN)
    rendered = (shown.to_turtle(), shown.to_jsonld())
    return (shown.conforms, shown.results, dict(shown.labels), shown.omitted, rendered)


def report_from(payload: tuple[Any, ...]) -> Report:
    conforms, results, labels, omitted, rendered = payload
    return Report(conforms, results, Graph(), labels, omitted, rendered)


class ValidationPool:
    """Worker processes that validate submissions, one at a time each.

    pySHACL has no way to stop a validation, so the only real time limit is a process that can be
    killed: the SPARQL endpoint's mechanism (``ceopgraph.processes.pool``), with a worker that runs the safe
    parser and pySHACL instead of the query engine. A submission waits for an idle worker and for its
    report within one time limit; past it the worker gets SIGKILL and a fresh one is started in the
    background. Workers start on first use, so creating an app costs nothing.
    """

    def __init__(self, config: ValidatorConfig, size: int, memory_mb: int) -> None:
        self._workers = WorkerPool(WORKER_ENTRY, config, size, "validation worker", memory_mb=memory_mb)

    def start(self) -> None:
        """Start the workers in the background (idempotent)."""
        self._workers.start()

    def validate(self, submission: Submission, timeout_s: float) -> Report:
        """Parse and validate ``submission`` within ``timeout_s`` seconds, waiting included."""
        return report_from(self.run(submission, timeout_s))  # type: ignore[arg-type]

    def run(self, job: Submission | WorkerJob, timeout_s: float) -> object:
        """Run one job in a worker within ``timeout_s`` seconds: its payload, or the refusal it replied."""
        try:
            status, payload = self._workers.run(job, timeout_s)
        except pool.WorkerPoolError as exc:
            pool.raise_as(
                exc,
                {
                    pool.NoIdleWorker: lambda _: ValidationTimeout(
                        f"no validator became free within the {timeout_s:g} s limit; try again in a moment"
                    ),
                    pool.DeadlinePassed: lambda _: ValidationTimeout(
                        f"validation took longer than the {timeout_s:g} s limit and was stopped; "
                        "submit a smaller file, or split it"
                    ),
                    pool.MemoryExceeded: lambda _: ValidationMemoryExceeded(
                        f"validating the submission needed more than the {self._workers.memory_mb} MiB a "
                        "validation may use and was stopped; submit a smaller file, or split it"
                    ),
                    pool.WorkerFailed: lambda _: ValidatorUnavailable(
                        "a validation worker failed; it is being replaced, try again"
                    ),
                },
            )
        return payload_of(status, payload)

    def close(self) -> None:
        """Kill the idle workers; busy ones exit when their socket closes."""
        self._workers.close()
