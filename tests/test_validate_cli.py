"""``ceopgraph validate``: exit 0 conforms (warnings printed), 1 violations, 2 unreadable input; never a
traceback, never a request. Runs the real command in a subprocess, each bounded by a timeout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from rdflib import Dataset, Graph

from ceopgraph import rdfio
from ceopgraph.config import Settings
from ceopgraph.conneg import FORMATS_BY_NAME, RDF_FORMATS, RdfFormat
from ceopgraph.namespaces import prefix_map

from .conftest import ROOT
from .listener import Listener
from .submissions import HERE as SUBMISSIONS
from .submissions import MUTATIONS, absolute, mutate
from .test_rdfio import REFUSED, hostile


def run(*args: str | Path, cwd: Path = ROOT, limit: int | None = None) -> subprocess.CompletedProcess[str]:
    """The command, with ``limit`` as ``CEOPGRAPH_MAX_SUBMISSION_BYTES`` when given."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "src")}
    if limit is not None:
        env["CEOPGRAPH_MAX_SUBMISSION_BYTES"] = str(limit)
    return subprocess.run(
        [sys.executable, "-m", "ceopgraph.cli", "validate", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env=env,
    )


def write(path: Path, graph: Graph) -> Path:
    """Turtle written by our serialiser, which keeps each literal as it is (rdflib's Turtle writer would
    turn "85"^^xsd:decimal into 85.0, a form the store rewrites, and the report would warn of it)."""
    path.write_bytes(rdfio.serialise(graph, FORMATS_BY_NAME["turtle"]))
    return path


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory, dataset: Dataset, settings: Settings) -> Path:
    folder = tmp_path_factory.mktemp("published")
    for fmt in RDF_FORMATS:
        (folder / f"ceopgraph.{fmt.extension}").write_bytes(rdfio.serialise(dataset, fmt, prefix_map(settings.scheme)))
    return folder


@pytest.mark.parametrize("fmt", RDF_FORMATS, ids=[f.name for f in RDF_FORMATS])
def test_published_dump_conforms_in_every_format(fmt: RdfFormat, published: Path) -> None:
    done = run(published / f"ceopgraph.{fmt.extension}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("Data conforms.")
    assert "Traceback" not in done.stderr


def test_violations_exit_1_with_the_json_report(tmp_path: Path, union: Graph, settings: Settings) -> None:
    mutation = next(m for m in MUTATIONS if m.name == "figure-as-string")
    done = run(write(tmp_path / "submission.ttl", mutate(union, settings, mutation.update)), "--format", "json")
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["conforms"] is False
    expected = {
        "focusNode": absolute(settings, mutation.focus),
        "sourceShape": absolute(settings, mutation.shape),
        "severity": "Violation",
    }
    assert any(expected.items() <= result.items() for result in report["results"])


def test_warnings_are_printed_and_exit_0(tmp_path: Path, union: Graph, settings: Settings) -> None:
    mutation = next(m for m in MUTATIONS if m.name == "concept-without-definition")
    done = run(write(tmp_path / "submission.ttl", mutate(union, settings, mutation.update)))
    assert done.returncode == 0
    assert "Data conforms (1 warning)." in done.stdout
    assert "Warning: Concept has no definition" in done.stdout
    assert "(children)" in done.stdout  # the focus node's label


def test_turtle_report_is_a_shacl_validation_report(tmp_path: Path, union: Graph, settings: Settings) -> None:
    mutation = next(m for m in MUTATIONS if m.name == "shifted-selector")
    done = run(write(tmp_path / "s.ttl", mutate(union, settings, mutation.update)), "--format", "turtle")
    assert done.returncode == 1
    report = Graph().parse(data=done.stdout, format="turtle")
    assert len(list(report.subjects(None, None))) > 0
    assert "sh:ValidationReport" in done.stdout and "TextPositionSelectorShape" in done.stdout


def test_several_files_are_merged_before_validation(tmp_path: Path, published: Path) -> None:
    extra = tmp_path / "extra.nt"
    extra.write_text(
        "<https://w3id.org/ceopgraph/data/annual-review-2012-13/children-safeguarded/2012-2013> "
        '<http://purl.org/linked-data/sdmx/2009/measure#obsValue> "790" .\n'
    )
    assert run(extra).returncode == 0  # alone, nothing is targeted
    done = run(published / "ceopgraph.trig", extra)
    assert done.returncode == 1
    assert "no single numeric value" in done.stdout


def test_input_format_overrides_the_extension(tmp_path: Path, published: Path) -> None:
    renamed = tmp_path / "submission.data"
    renamed.write_bytes((published / "ceopgraph.nq").read_bytes())
    assert run(renamed).returncode == 2
    assert run(renamed, "--input-format", "nquads").returncode == 0


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("missing.ttl", None, "missing.ttl: cannot read the file"),
        ("broken.ttl", "@prefix ex: <http://example.org/> .\nex:a ex:b ex:c .\nex:a ex:b ex:c ex:d .\n", "line 3"),
        ("broken.jsonld", '{\n  "@id": \n}', "line 3"),
        ("submission.n3", "<a> <b> <c> .", "cannot tell the RDF format"),
    ],
)
def test_unreadable_input_exits_2_naming_the_file(
    name: str, content: str | None, expected: str, tmp_path: Path
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    done = run(path)
    assert done.returncode == 2
    assert name in done.stderr and expected in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


@pytest.mark.parametrize(("name", "reason"), REFUSED, ids=[n for n, _ in REFUSED])
def test_hostile_input_exits_2_without_any_request(name: str, reason: str, listener: Listener, tmp_path: Path) -> None:
    done = run(hostile(name, listener.url, tmp_path))
    assert done.returncode == 2
    assert reason in done.stderr and "Traceback" not in done.stderr
    assert listener.requests == 0


@pytest.mark.parametrize("name", ["owl-imports.ttl", "own-shapes.ttl"])
def test_imports_and_own_shapes_are_never_followed_or_run(name: str, listener: Listener, tmp_path: Path) -> None:
    done = run(hostile(name, listener.url, tmp_path), "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "exfiltrated" not in done.stdout
    assert listener.requests == 0


def test_corpus_files_exist() -> None:
    assert all((SUBMISSIONS / n).exists() or (SUBMISSIONS / f"{n}.template").exists() for n, _ in REFUSED)


def assert_refused_in_one_line(done: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.startswith("cannot validate: ") and done.stderr.count("\n") == 1, done.stderr[-2000:]
    assert all(text in done.stderr for text in expected), done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize(
    "data", [b"[" * 1000, b'{"http://a.example/p": ' * 5000 + b"1" + b"}" * 5000], ids=["1000-arrays", "5000-objects"]
)
def test_deep_json_exits_2_with_one_line(data: bytes, tmp_path: Path) -> None:
    (tmp_path / "deep.jsonld").write_bytes(data)
    assert_refused_in_one_line(run(tmp_path / "deep.jsonld"), "deep.jsonld: the JSON nests deeper than 256 levels")


def test_deep_turtle_exits_2_naming_the_line(tmp_path: Path) -> None:
    (tmp_path / "deep.ttl").write_bytes(b"<http://a.example/s> <http://a.example/p> " + b"(" * 100_000)
    assert_refused_in_one_line(run(tmp_path / "deep.ttl"), "deep.ttl: turtle syntax error at line 1, column")


def test_dev_zero_is_refused_at_the_size_limit() -> None:
    """A special file has no size to check first: at most limit + 1 bytes are read, then refused."""
    done = run("--input-format", "turtle", "/dev/zero", limit=100_000)
    assert_refused_in_one_line(done, "/dev/zero: more than the limit of 100,000 bytes")


def feed(fifo: Path, data: bytes, sent: list[int]) -> threading.Thread:
    """Write ``data`` into ``fifo`` from a thread, counting in ``sent`` what the reader took."""

    def write() -> None:
        with open(fifo, "wb", buffering=0) as pipe:
            view = memoryview(data)
            try:
                while view:
                    written = pipe.write(view[: 64 * 1024])
                    assert written is not None
                    sent[0] += written
                    view = view[written:]
            except BrokenPipeError:  # the reader stopped reading: what the test is about
                pass

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def test_a_pipe_over_the_limit_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    fifo = tmp_path / "submission.ttl"
    os.mkfifo(fifo)
    sent = [0]
    writer = feed(fifo, b"# filler\n" * 1_600_000, sent)  # 14.4 MB for a 100 kB limit
    done = run(fifo, limit=100_000)
    writer.join(10)
    assert_refused_in_one_line(done, "submission.ttl: more than the limit of 100,000 bytes")
    assert sent[0] < 1_000_000, f"the command read {sent[0]:,} bytes of a 100,000-byte limit"


def test_a_pipe_within_the_limit_is_read_and_validated(tmp_path: Path) -> None:
    fifo = tmp_path / "submission.nt"
    os.mkfifo(fifo)
    writer = feed(fifo, b'<http://a.example/s> <http://a.example/p> "o" .\n', [0])
    done = run(fifo, limit=100_000)
    writer.join(10)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Data conforms.")


def test_validating_loads_neither_the_web_server_nor_the_write_path(published: Path) -> None:
    """A command imports what only it uses (``ceopgraph.cli``): validating a file starts without Flask,
    the releases or search (they took about 0.4 s of its 2.4 s)."""
    code = (
        "import sys\nfrom ceopgraph import cli\n"
        f"status = cli.main(['validate', {str(published / 'ceopgraph.ttl')!r}])\n"
        "heavy = ('flask', 'ceopgraph.web', 'ceopgraph.server', 'ceopgraph.compose', 'ceopgraph.releases.service',"
        " 'ceopgraph.search')\n"
        "print(status, sorted(m for m in sys.modules if m in heavy or m.startswith(tuple(h + '.' for h in heavy))))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT, env=env)
    assert done.stdout.splitlines()[-1] == "0 []", done.stdout[-500:] + done.stderr[-500:]
