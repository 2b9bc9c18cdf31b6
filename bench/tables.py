"""Tables in and out: a draft from a table of 1k, 10k and 100k rows, and the CSV download against the TriG dump's.

``python bench/tables.py`` prints the section; ``--write`` puts it in bench/results.md ("Tables in and out").

Tables in: each table (1k, 10k, 100k rows below its header) is made as a submitter makes one, from the current
release's CSV download (read through the app) with rows appended for new synthetic observations: distinct keys (each
in a dataset of its own named in a ``dataset IRI`` column, a few keys each, since the release's codes give only a
few keys per dataset), each with a quote of the uploaded source text (a generated one) that writes its value, and a
segment IRI of its own. It is posted to ``/drafts`` as a form (the table and its source) through Flask's test client
over a data directory whose release 1 is the built dataset, with a submitter token and the default limits: the table
read in a validation worker with its time limit and memory cap. Seconds: the wall time of the POST. Peak RSS: the
validation workers' high-water mark (``VmHWM``), reset to their resident size before each POST (``clear_refs`` 5)
and read every 10 ms while it runs (a worker that grows past a quarter of its cap retires after its job, so its last
reading stands); the largest over the workers, which are observed as this process's children. A table refused before
any worker reads it (413 for the upload's bytes) shows the idle workers' peak. Last, the 1k CSV again with the
validation time limit raised to 300 s (not a default): what it costs when the limit does not stop it.

Tables out: the built dataset with 100,000 more observations in its cube (8 statements each, as a cube's
figures have), its dumps written by ``build.write_dumps`` (the CSV made by ``tables.table_files`` timed alone),
served by ``ceopgraph serve --dist`` on loopback; ``/dumps/{cube}.csv`` and ``/dumps/ceopgraph.trig`` downloaded
in turn in one run, by one client in sequence and by 4 at once (Python clients, a fixed time each).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the test app and the workbook writer

import openpyxl
from rdflib import Dataset, Literal, URIRef
from rdflib.namespace import RDF, RDFS
from tests.apps import embedded_app
from tests.releasing import local_releases

from ceopgraph import tables, tablesin
from ceopgraph.build import build_dataset, union_graph, write_dumps
from ceopgraph.config import load_settings
from ceopgraph.namespaces import QB
from ceopgraph.web.services import of
from scale import BIN, ROOT, Results, log, splice
from sparql_bench import free_port, server

TITLE = "Tables in and out"
BASE = "https://w3id.org/ceopgraph/"
CUBE = "annual-review-2012-13"
TABLE = f"{CUBE}.csv"
ROWS = {"1k": 1_000, "10k": 10_000, "100k": 100_000}
OUT_OBSERVATIONS = 100_000
SOURCE_NAME = "bench-news.txt"
COUNTS = ("children-safeguarded", "reports-received")
RAISED_LIMIT_S = 300.0
MEASURE = URIRef("http://purl.org/linked-data/sdmx/2009/measure#obsValue")
REF_PERIOD = URIRef("http://purl.org/linked-data/sdmx/2009/dimension#refPeriod")
UNIT = URIRef("http://purl.org/linked-data/sdmx/2009/attribute#unitMeasure")


# Tables in ------------------------------------------------------------------------------------------------


def _templates(header: list[str], rows: list[list[str]]) -> list[list[str]]:
    """The release's yearly counts (children safeguarded, reports received) as reported: the keys and cells a
    new dataset's rows copy, each with a new value and quote. The others are tied to figures of their dataset
    by the shapes (the count since launch, the monthly mean, the changes), which new datasets do not have."""
    at = {name: header.index(name) for name in header}
    return [
        row
        for row in rows
        if row[at["statistic IRI"]].rsplit("/", 1)[-1] in COUNTS and row[at["figure status IRI"]].endswith("/reported")
    ]


def appended(download: bytes, total: int) -> tuple[list[list[str]], str]:
    """The download with new rows up to ``total`` rows in all (and a ``dataset IRI`` column), and the source
    text their quotes are in: row i says ``Bench area i counted N`` with N written with grouping commas, as the
    shapes read it."""
    rows = list(csv.reader(io.StringIO(download.decode("utf-8"), newline="")))
    header, body = rows[0], rows[1:]
    count = total - len(body)
    templates = _templates(header, body)
    at = {name: header.index(name) for name in header}
    out = [[*header, tablesin.DATASET_COLUMN]] + [[*row, ""] for row in body]
    quotes = []
    for i in range(count):
        template = templates[i % len(templates)]
        dataset = f"{BASE}data/bench-{i // len(templates):06d}"
        value = 1_000 + (i * 7_919) % 900_000
        quote = f"Bench area {i} counted {value:,} {template[at['unit of measure']]}"
        row = list(template)
        row[at["observation IRI"]] = ""
        row[at["observation"]] = f"{template[at['statistic']]}, bench area {i}"
        row[at["value (integer)"]] = str(value)
        row[at["quote"]] = quote
        row[at["source segment IRI"]] = f"{BASE}id/news-item/bench-news/segment/{i}"
        for column in ("derived from IRIs", "value range IRI", "value range", "derivation"):
            row[at[column]] = ""
        out.append([*row, dataset])
        quotes.append(quote)
    return out, ".\n".join(quotes) + ".\n"


def as_csv(rows: list[list[str]]) -> bytes:
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows(rows)
    return text.getvalue().encode("utf-8")


def as_xlsx(rows: list[list[str]]) -> bytes:
    """As a spreadsheet saves it (``tests/spreadsheets.workbook``: digits as numbers, the rest as text), written
    in openpyxl's write-only mode so that 100k rows take seconds."""
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    for row in rows:
        sheet.append([None if v == "" else int(v) if v.isdigit() and len(v) < 16 else v for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _validation_workers() -> list[int]:
    """This process's children that are validation workers (the pool starts them as fresh interpreters)."""
    found = []
    for task in Path(f"/proc/{os.getpid()}/task").glob("*"):
        try:
            pids = [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
        for pid in pids:
            try:
                if b"ceopgraph.validation.service" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    found.append(pid)
            except OSError:
                continue
    return found


def _status_mb(pid: int, field: str) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@contextmanager
def peak_rss() -> Iterator[dict[str, float]]:
    """The validation workers' peak RSS (MB) while the block runs: their high-water marks reset first, then
    read every 10 ms until it ends (and once after, for the workers still there)."""
    found = {"peak": 0.0, "baseline": 0.0}
    for pid in _validation_workers():
        with suppress(OSError):  # gone already
            Path(f"/proc/{pid}/clear_refs").write_text("5")
        found["baseline"] = max(found["baseline"], _status_mb(pid, "VmRSS") or 0.0)
    done = threading.Event()

    def sample() -> None:
        while True:
            for pid in _validation_workers():
                found["peak"] = max(found["peak"], _status_mb(pid, "VmHWM") or 0.0)
            if done.wait(0.01):
                return

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield found
    finally:
        done.set()
        sampler.join()
        for pid in _validation_workers():
            found["peak"] = max(found["peak"], _status_mb(pid, "VmHWM") or 0.0)


def _outcome(answer: Any) -> str:
    if answer.status_code == 201:
        made = answer.get_json()
        return f"draft made, {'conforms' if made['conforms'] else str(made['violations']) + ' violations'}"
    body = answer.get_json() if answer.is_json else None
    if body and body.get("problems"):
        first = body["problems"][0]
        message = f"{len(body['problems'])} problems; row {first['row']}: {first['message']}"
    else:
        message = body.get("error", "") if body else answer.get_data(as_text=True)
    return " ".join(message.split())[:160].replace("|", "/")


def tables_in(
    sizes: dict[str, int], kinds: tuple[str, ...] = ("csv", "xlsx"), limit_s: float | None = None
) -> tuple[list[list[str]], dict[str, float]]:
    """One row per table: rows, format, time limit, upload bytes, status, seconds, peak RSS, what happened.
    ``limit_s``: the validation time limit instead of the default."""
    settings = load_settings(environ={}, root=ROOT)
    found: list[list[str]] = []
    facts: dict[str, float] = {}
    limits: dict[str, object] = {"writes_per_client": 1000, "writes_per_token": 1000}
    if limit_s is not None:
        limits["validation_timeout_s"] = limit_s
    with tempfile.TemporaryDirectory(prefix="ceopgraph-tables-") as folder:
        dist, data = Path(folder) / "dist", Path(folder) / "data"
        write_dumps(build_dataset(settings), dist, settings.scheme)
        assert local_releases(data).ensure_first_release(dist / "ceopgraph.trig") is not None
        with embedded_app(settings, dist, data_dir=data, **limits) as app:
            limit = of(app).settings.validation_timeout_s
            releases = of(app).releases
            assert releases is not None
            _, secret = releases.tokens.create("submitter", "bench")
            headers = {"Authorization": f"Bearer {secret}"}
            client = app.test_client()
            download = client.get(f"/releases/1/dumps/{TABLE}").data
            # The download as it is: starts the validation workers, so every measured POST finds them ready.
            warm = client.post("/drafts", data=download, headers={**headers, "Content-Type": "text/csv"})
            assert warm.status_code == 201, warm.data
            client.delete(f"/drafts/{warm.get_json()['id']}", headers=headers)
            time.sleep(1)
            facts["idle_mb"] = max((_status_mb(p, "VmRSS") or 0.0) for p in _validation_workers())
            for name, count in sizes.items():
                rows, source = appended(download, count)
                for kind in kinds:
                    started = time.perf_counter()
                    table = as_csv(rows) if kind == "csv" else as_xlsx(rows)
                    facts[f"make {name} {kind}"] = time.perf_counter() - started
                    media = tables.CSV_MEDIA_TYPE if kind == "csv" else tablesin.XLSX_MEDIA_TYPE
                    form = {
                        "file": (io.BytesIO(table), f"{CUBE}.{kind}", media),
                        "source": (io.BytesIO(source.encode("utf-8")), SOURCE_NAME, "text/plain"),
                        "title": "Bench figures",
                    }
                    with peak_rss() as memory:
                        started = time.perf_counter()
                        answer = client.post("/drafts", data=form, headers=headers, content_type="multipart/form-data")
                        seconds = time.perf_counter() - started
                    if answer.status_code == 201:
                        client.delete(f"/drafts/{answer.get_json()['id']}", headers=headers)
                    log(f"{name} {kind}: {answer.status_code} in {seconds:.2f} s, peak {memory['peak']:.0f} MB")
                    found.append([
                        f"{count:,}", kind.upper(), f"{limit:g}", f"{len(table):,}", f"{len(source):,}",
                        str(answer.status_code), f"{seconds:.2f}",
                        f"{memory['peak']:,.0f}" if memory["peak"] else "-", _outcome(answer),
                    ])  # fmt: skip
                    time.sleep(0.5)
    return found, facts


# Tables out -----------------------------------------------------------------------------------------------


def big_cube(settings: Any, count: int) -> Dataset:
    """The built dataset with ``count`` more observations in its cube: type, dataset, label, statistic, period,
    value, unit and figure status, each key its own (a period of its own per observation)."""
    data = build_dataset(settings)
    figures = next(g for g in data.graphs() if (None, QB.dataSet, URIRef(BASE + "data/" + CUBE)) in g)
    cube, statistic = URIRef(BASE + "data/" + CUBE), URIRef(BASE + "def/statistic/children-safeguarded")
    unit, reported = URIRef(BASE + "def/unit/child"), URIRef(BASE + "def/figure-status/reported")
    status = URIRef(BASE + "def/attribute/figure-status")
    for i in range(count):
        obs = URIRef(f"{BASE}data/{CUBE}/children-safeguarded/bench-{i:06d}")
        for p, o in (
            (RDF.type, QB.Observation),
            (QB.dataSet, cube),
            (RDFS.label, Literal(f"Children safeguarded and protected, bench period {i}", lang="en")),
            (URIRef(BASE + "def/dimension/statistic"), statistic),
            (REF_PERIOD, URIRef(f"{BASE}id/period/bench-{i:06d}")),
            (MEASURE, Literal(1_000 + (i * 7_919) % 900_000)),
            (UNIT, unit),
            (status, reported),
        ):
            figures.add((obs, p, o))
    return data


@dataclass
class Downloads:
    count: int
    seconds: float
    bytes: int

    def row(self, what: str, clients: int, size: int) -> list[str]:
        return [
            what, str(clients), str(self.count), f"{self.count / self.seconds:,.1f}",
            f"{self.bytes / self.seconds / 1e6:,.0f}", f"{self.seconds / self.count * clients * 1000:,.0f}",
        ]  # fmt: skip


def _fetch(url: str) -> int:
    with urllib.request.urlopen(url, timeout=120) as answer:
        total = 0
        while chunk := answer.read(1 << 20):
            total += len(chunk)
        return total


def downloads(url: str, clients: int, seconds: float) -> Downloads:
    """Downloads of ``url`` by ``clients`` at once, each client one after another, for ``seconds``."""
    counts, sizes = [0] * clients, [0] * clients
    started = time.perf_counter()
    deadline = started + seconds

    def client(index: int) -> None:
        while time.perf_counter() < deadline or counts[index] == 0:
            sizes[index] += _fetch(url)
            counts[index] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Downloads(sum(counts), time.perf_counter() - started, sum(sizes))


def tables_out(seconds: float) -> tuple[list[list[str]], list[list[str]], dict[str, float]]:
    settings = load_settings(environ={}, root=ROOT)
    facts: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="ceopgraph-tables-out-") as folder:
        dist = Path(folder) / "dist"
        started = time.perf_counter()
        data = big_cube(settings, OUT_OBSERVATIONS)
        facts["make"] = time.perf_counter() - started
        union = union_graph(data)
        facts["union"] = time.perf_counter() - started - facts["make"]
        started = time.perf_counter()
        made = tables.table_files(union)
        facts["table_files"] = time.perf_counter() - started
        facts["csv_rows"] = made[TABLE].count(b"\n") - 1
        del union, made
        started = time.perf_counter()
        write_dumps(data, dist, settings.scheme)
        facts["write_dumps"] = time.perf_counter() - started
        observations = len(set(data.subjects(QB.dataSet, URIRef(BASE + "data/" + CUBE))))
        facts["observations"] = observations
        facts["triples"] = len(data)
        del data
        log(f"dumps written in {facts['write_dumps']:.1f} s ({observations:,} observations)")
        files = {"CSV": dist / TABLE, "TriG": dist / "ceopgraph.trig"}
        size_rows = [
            [what, f"{path.stat().st_size:,}", f"{path.stat().st_size / observations:,.0f}"]
            for what, path in files.items()
        ]
        port = free_port()
        command = [str(BIN / "ceopgraph"), "serve", "--host", "127.0.0.1", "--port", str(port), "--dist", str(dist)]
        base = f"http://127.0.0.1:{port}/"
        rows = []
        with server(command, base + "healthz", seconds=300):
            for clients in (1, 4):
                for what, path in files.items():
                    url = f"{base}dumps/{path.name}"
                    _fetch(url)  # the file in the page cache, the connection path warm
                    done = downloads(url, clients, seconds)
                    assert done.bytes == done.count * path.stat().st_size, (what, done)
                    rows.append(done.row(what, clients, path.stat().st_size))
                    log(f"{what} x{clients}: {done.count} downloads in {done.seconds:.1f} s")
    return size_rows, rows, facts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="put the section in bench/results.md")
    parser.add_argument("--seconds", type=float, default=5.0, help="downloads per file and clients, s (default 5)")
    parser.add_argument("--rows", type=int, nargs="+", help="tables in: only these row counts (not with --write)")
    args = parser.parse_args()
    if args.rows:
        if args.write:
            parser.error("--rows measures a part only: it writes nothing")
        ROWS.clear()
        ROWS.update({f"{n:,}": n for n in args.rows})
        for row in tables_in(ROWS)[0]:
            print(" | ".join(row))
        return 0
    started = time.monotonic()
    inward, in_facts = tables_in(ROWS)
    # What the first size costs when the time limit does not stop it (not the default: a measure only).
    inward += tables_in({"1k": ROWS["1k"]}, ("csv",), RAISED_LIMIT_S)[0]
    sizes, outward, out_facts = tables_out(args.seconds)
    out = Results()
    out.section(TITLE)
    out.text(
        f"Measured {time.strftime('%Y-%m-%d')} by `make bench-tables` in {(time.monotonic() - started) / 60:.1f} "
        "min on the same shared 2 cores.",
        "",
        "Table to draft (`POST /drafts`, a form with the table and its source text; the validation workers idle at "
        f"{in_facts['idle_mb']:,.0f} MB RSS):",
        "",
    )
    out.table(
        [
            "rows",
            "format",
            "time limit s",
            "table bytes",
            "source bytes",
            "status",
            "seconds",
            "peak RSS MB",
            "what happened",
        ],
        inward,
    )
    n = int(out_facts["observations"])
    out.text(
        "",
        f"Tables out: a cube of {n:,} observations ({int(out_facts['triples']):,} statements in all). Made in "
        f"{out_facts['make']:.1f} s; `tables.table_files` made its CSV ({int(out_facts['csv_rows']):,} rows) in "
        f"{out_facts['table_files']:.1f} s (from the union graph, copied in {out_facts['union']:.1f} s); "
        f"`build.write_dumps` (six RDF dumps and the CSV) took {out_facts['write_dumps']:.1f} s.",
        "",
    )
    out.table(["file", "bytes", "bytes per observation"], sizes)
    out.text("", f"Downloads from `ceopgraph serve --dist` (Granian, 2 workers), {args.seconds:g} s each:", "")
    out.table(["file", "clients", "downloads", "downloads/s", "MB/s", "ms per download"], outward)
    if args.write:
        results = ROOT / "bench" / "results.md"
        text = results.read_text()
        if f"## {TITLE}" not in text:
            results.write_text(text.rstrip() + "\n\n## " + TITLE + "\n")
        note = re.sub(r"\s+", " ", (__doc__ or "").split("\n\n", 2)[2]).strip()
        splice(results, out, TITLE, note)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
