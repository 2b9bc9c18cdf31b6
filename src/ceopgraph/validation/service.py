"""Validating untrusted submissions: the safe parser, then our shapes, in worker processes that a time
limit can kill (``ceopgraph.processes.pool``); the refusals a service answers with.

The exceptions here say what went wrong, not how to answer it: ``ceopgraph.web.errors`` maps each to
its HTTP status.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

from rdflib import Graph

from ceopgraph.processes import pool
from ceopgraph.processes.pool import WorkerPool, hold_and_fork
from ceopgraph.rdfio import UnreadableRdf, format_for_name, parse_rdf
from ceopgraph.urischeme import UriScheme
from ceopgraph.validation.engine import Validator
from ceopgraph.validation.report import Report, Result
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

    @property
    def scheme(self) -> UriScheme:
        return UriScheme(self.base_uri)


def validate_submission(submission: Submission, validator: Validator, config: ValidatorConfig) -> Report:
    """The path of a submission's bytes: the safe parser (``rdfio``), then our shapes only."""
    fmt = format_for_name(submission.format_name)
    data = parse_rdf(submission.data, fmt, submission.source, config.max_bytes, config.base_uri)
    return validator.validate(data)


# The entry point ``ValidationPool`` gives its holder ("module:function", see ``ceopgraph.processes.pool.WorkerPool``).
HOLDER_ENTRY = "ceopgraph.validation.service:validation_holder_main"
# What the holder may use: the interpreter, pySHACL, rdflib and our shapes take about 100 MiB.
HOLDER_MEMORY_MB = 512


def validation_holder_main(fd: int) -> None:
    """The holder of the validation workers (``ceopgraph.processes.pool``): import pySHACL, load the shapes
    and prepare them (``engine.Validator``) once, then fork workers that parse and validate submissions until
    the server goes away or kills them (a time limit). A fresh interpreter took about 1.4 s of processor time
    to get there; a fork is ready in milliseconds, so a worker killed at its limit is replaced at once."""
    hold_and_fork(fd, _worker_setup, _worker_run)


def _worker_setup(config: ValidatorConfig) -> tuple[ValidatorConfig, Validator]:
    return config, Validator.of(load_shapes(Path(config.shapes_dir), config.scheme))


class Refusal(ABC):
    """A job's typed refusal, sent back as a value (the exceptions it stands for do not all pickle) and
    raised again on the caller's side by ``error``."""

    @abstractmethod
    def error(self) -> Exception:
        """The exception the caller raises."""


@dataclass(frozen=True)
class Unreadable(Refusal):
    """The submission could not be parsed (``UnreadableRdf``, whose constructor takes four arguments)."""

    message: str
    source: str
    line: int | None
    column: int | None

    @classmethod
    def of(cls, exc: UnreadableRdf) -> Unreadable:
        return cls(exc.message, exc.source, exc.line, exc.column)

    def error(self) -> Exception:
        return UnreadableRdf(self.message, self.source, self.line, self.column)


R = TypeVar("R", covariant=True)
T = TypeVar("T")


class WorkerJob(Protocol[R]):
    """Work on untrusted submissions that needs the shapes (``ValidateJob``; ``releases.drafting``: a draft
    is parsed, validated and compared here), run in a validation worker or, on the command line, in
    process (``run_here``): its typed result, or a typed ``Refusal``."""

    def run(self, config: ValidatorConfig, validator: Validator) -> R | Refusal: ...


class JobRunner(Protocol):
    """Where jobs run: ``ValidationPool.runner`` (the server) or ``run_here`` (the command line). Either
    way the result is returned and a refusal raised as its exception."""

    def __call__(self, job: WorkerJob[T], /) -> T: ...


def result_of(reply: T | Refusal) -> T:
    """A job's result, or its refusal raised again as its exception."""
    if isinstance(reply, Refusal):
        raise reply.error()
    return reply


def run_here(config: ValidatorConfig, validator: Callable[[], Validator]) -> JobRunner:
    """A runner of jobs in this process (the command line: the operator's own files, no time limit).
    ``validator`` gives each job the validator; the command line's prepares it at the first job (about
    a second: our shapes' queries parsed), so a command that runs none, listing tokens, never waits for it."""

    def run(job: WorkerJob[T]) -> T:
        return result_of(job.run(config, validator()))

    return run


@dataclass(frozen=True)
class SentReport:
    """A report as a worker sends it: bounded, and rendered there, so the server neither receives nor
    parses a report that grows with the submission (a 79 KB submission gave 18,000 results, 8.5 MB of
    Turtle, 8.5 s to parse in the server)."""

    conforms: bool
    results: tuple[Result, ...]
    labels: Mapping[str, str]
    omitted: int
    rendered: tuple[str, bytes]
    expected: Mapping[str, str]

    @classmethod
    def of(cls, report: Report) -> SentReport:
        shown = report.first(MAX_RESULTS_SHOWN)
        rendered = (shown.to_turtle(), shown.to_jsonld())
        return cls(shown.conforms, shown.results, dict(shown.labels), shown.omitted, rendered, dict(shown.expected))

    def report(self) -> Report:
        return Report(self.conforms, self.results, Graph(), self.labels, self.omitted, self.rendered, self.expected)


@dataclass(frozen=True)
class ValidateJob:
    """Parse a submission and validate it against our shapes."""

    submission: Submission

    def run(self, config: ValidatorConfig, validator: Validator) -> SentReport | Refusal:
        try:
            return SentReport.of(validate_submission(self.submission, validator, config))
        except UnreadableRdf as exc:
            return Unreadable.of(exc)


# The pool's own envelope: a job that ran replies (status, payload); this status says "it ran" (the pool
# uses others for its failures, ``ceopgraph.processes.pool``). What it ran answered is the typed payload.
_RAN = "ok"


def _worker_run(state: tuple[ValidatorConfig, Validator], job: WorkerJob[object]) -> tuple[str, object]:
    config, validator = state
    return (_RAN, job.run(config, validator))


class ValidationPool:
    """Worker processes that validate submissions, one at a time each.

    pySHACL has no way to stop a validation, so the only real time limit is a process that can be
    killed: the SPARQL endpoint's mechanism (``ceopgraph.processes.pool``), with a worker that runs the safe
    parser and pySHACL instead of the query engine. A submission waits for an idle worker and for its
    report within one time limit; past it the worker gets SIGKILL and a fresh one is started in the
    background. Workers start on first use, so creating an app costs nothing.
    """

    def __init__(self, config: ValidatorConfig, size: int, memory_mb: int) -> None:
        self._workers = WorkerPool(
            HOLDER_ENTRY, config, size, "validation worker", memory_mb=memory_mb, holder_memory_mb=HOLDER_MEMORY_MB
        )

    def start(self) -> None:
        """Start the workers in the background (idempotent)."""
        self._workers.start()

    def validate(self, submission: Submission, timeout_s: float) -> Report:
        """Parse and validate ``submission`` within ``timeout_s`` seconds, waiting included."""
        return self.run(ValidateJob(submission), timeout_s).report()

    def runner(self, timeout_s: float) -> JobRunner:
        """``run`` with this time limit, for ``releases.service.Releases``."""

        def run(job: WorkerJob[T]) -> T:
            return self.run(job, timeout_s)

        return run

    def run(self, job: WorkerJob[T], timeout_s: float) -> T:
        """Run one job in a worker within ``timeout_s`` seconds: its result, or its refusal raised."""
        # What the worker sent back is what ``job.run`` returned there (``_worker_run``), unpickled here.
        reply: T | Refusal
        try:
            _, reply = self._workers.run(job, timeout_s)
        except pool.WorkerPoolError as exc:
            pool.raise_as(
                exc,
                {
                    pool.NoIdleWorker: lambda _: ValidationTimeout(
                        f"the validators were busy for most of the {timeout_s:g} s limit; try again in a moment"
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
        return result_of(reply)

    def close(self) -> None:
        """Kill the idle workers; busy ones exit when their socket closes."""
        self._workers.close()
