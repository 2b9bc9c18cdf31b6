"""Performance at scale, side by side in one run: `make bench` runs this and writes bench/results.md.

Not a test. On synthetic data from ``bench/generate.py`` (~10k, ~100k and ~1M triples), loopback only,
every load bounded in time (``wrk`` from ``sparql_bench``):

1. load time and peak memory: rdflib in memory against the embedded store (pyoxigraph);
2. the SPARQL mix (lookup, join, aggregate, path) at 100k triples, 8 keep-alive connections, against
   ``ceopgraph serve`` (gunicorn and Granian, answer cache on, and Granian with it off), Oxigraph
   server (``serve-read-only --union-default-graph``, the same file) and rdflib-endpoint (uvicorn);
3. lookups at 10k and 1M triples (flat?), ceopgraph against Oxigraph server;
4. memory per server worker (the worker and its query processes) against the store's own;
5. resource pages (HTML, Turtle) and ``POST /validate`` of a 10k-triple submission;
6. validation time of 10k- and 100k-triple submissions with the shapes (bounded).
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import generate
from sparql_bench import Run, free_port, server, wrk

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
BASE = generate.DEFAULT_BASE
DATASET = BASE + "data/synthetic/body-000007"
OBSERVATION = DATASET + "/reports-received/2009-2010"
P = (
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> PREFIX prov: <http://www.w3.org/ns/prov#> "
    "PREFIX oa: <http://www.w3.org/ns/oa#> PREFIX qb: <http://purl.org/linked-data/cube#> "
    "PREFIX m: <http://purl.org/linked-data/sdmx/2009/measure#> "
    "PREFIX a: <http://purl.org/linked-data/sdmx/2009/attribute#> "
)
QUERIES = {
    "lookup": f"SELECT ?p ?o WHERE {{ <{OBSERVATION}> ?p ?o }}",
    "join": P + f"SELECT ?label ?value ?unit WHERE {{ ?obs qb:dataSet <{DATASET}> ; rdfs:label ?label ; "
    "m:obsValue ?value ; a:unitMeasure ?unit }",
    "aggregate": P + f"SELECT ?statistic (COUNT(*) AS ?n) (AVG(?value) AS ?mean) WHERE {{ ?obs "
    f"<{BASE}def/dimension/statistic> ?statistic ; m:obsValue ?value }} GROUP BY ?statistic",
    "path": P + f"SELECT ?obs ?exact WHERE {{ ?obs qb:dataSet <{DATASET}> ; "
    "prov:wasDerivedFrom/oa:hasSelector ?sel . ?sel oa:exact ?exact }",
}
TIERS = {"10k": 10_000, "100k": 100_000, "1M": 1_000_000}
ACCEPT = "application/sparql-results+json"

# Peak RSS from VmHWM (this process's own); ru_maxrss would carry the parent's over fork and exec.
HWM = "next(int(x.split()[1]) / 1024 for x in open('/proc/self/status') if x.startswith('VmHWM'))"
LOAD_SCRIPT = """
import sys, time
started = time.perf_counter()
if sys.argv[1] == "rdflib":
    from rdflib import Dataset
    store = Dataset(default_union=True)
    store.parse(sys.argv[2], format="nquads")
    size = len(store)
else:
    import pyoxigraph
    store = pyoxigraph.Store()
    store.bulk_load(path=sys.argv[2], format=pyoxigraph.RdfFormat.N_QUADS)
    size = len(store)
print(time.perf_counter() - started, HWM, size)
""".replace("HWM", HWM)
VALIDATE_SCRIPT = """
import sys, time
from pathlib import Path
from ceopgraph.config import load_settings
from ceopgraph.rdfio import read_files
from ceopgraph.validate import load_shapes, validate_graph
settings = load_settings()
shapes = load_shapes(settings.shapes_dir, settings.base_uri)
started = time.perf_counter()
data = read_files([Path(sys.argv[1])], 1 << 34, settings.base_uri)
parsed = time.perf_counter()
report = validate_graph(data, shapes)
print(parsed - started, time.perf_counter() - parsed, report.conforms)
"""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def worker_memory(root: int) -> list[float]:
    """RSS of each server worker plus its query processes (MB): the server's children, recursively."""
    return [rss_mb(w) + sum(rss_mb(c) for c in children(w)) for w in children(root)]


@contextmanager
def ceopgraph(data: Path, server_kind: str, cache: bool = True) -> Iterator[tuple[str, int]]:
    port = free_port()
    command = [str(BIN / "ceopgraph"), "serve", "--host", "127.0.0.1", "--port", str(port), "--data", str(data)]
    command += ["--server", server_kind, "--workers", "2", "--threads", "4"]
    env = {} if cache else {"CEOPGRAPH_ANSWER_CACHE_MB": "0"}
    base = f"http://127.0.0.1:{port}/"
    with server(command, base + "healthz", env) as process:
        yield base, process.pid


@contextmanager
def oxigraph(data: Path, scratch: Path) -> Iterator[str]:
    location = scratch / f"oxigraph-{data.stem}"
    if not location.exists():
        subprocess.run([str(BIN / "oxigraph"), "load", "--location", str(location), "--file", str(data)],
                       check=True, capture_output=True)  # fmt: skip
    port = free_port()
    command = [str(BIN / "oxigraph"), "serve-read-only", "--location", str(location)]
    command += ["--bind", f"127.0.0.1:{port}", "--union-default-graph"]
    base = f"http://127.0.0.1:{port}/query"
    with server(command, base + "?query=ASK%7B%7D"):
        yield base


@contextmanager
def rdflib_endpoint(data: Path) -> Iterator[str]:
    port = free_port()
    command = [str(BIN / "rdflib-endpoint"), "serve", str(data), "--host", "127.0.0.1", "--port", str(port)]
    base = f"http://127.0.0.1:{port}/"
    with server(command, base + "?query=ASK%7B%7D"):
        yield base


def solutions(endpoint: str, query: str) -> int:
    request = urllib.request.Request(endpoint + "?query=" + urllib.parse.quote(query), headers={"Accept": ACCEPT})
    with urllib.request.urlopen(request, timeout=60) as answer:
        body = answer.read()
    return body.count(b'"type":') if b'"bindings"' in body else -1


def query_url(endpoint: str, query: str) -> str:
    return endpoint + "?query=" + urllib.parse.quote(query)


class Results:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def section(self, title: str, note: str = "") -> None:
        self.lines += ["", f"## {title}", ""] + ([note, ""] if note else [])

    def table(self, header: list[str], rows: list[list[str]]) -> None:
        self.lines.append("| " + " | ".join(header) + " |")
        self.lines.append("|" + "|".join("---:" if i else "---" for i in range(len(header))) + "|")
        self.lines += ["| " + " | ".join(row) + " |" for row in rows]
        print("\n".join(self.lines[-len(rows) - 2 :]), flush=True)

    def text(self, *lines: str) -> None:
        self.lines += list(lines)
        print("\n".join(lines), flush=True)


def fmt_run(run: Run) -> list[str]:
    return [f"{run.requests_per_s:,.0f}", f"{run.median_ms:.2f}", f"{run.p99_ms:.2f}", str(run.errors)]


def timed_posts(url: str, body: bytes, media_type: str, count: int, timeout: float) -> list[tuple[float, int]]:
    found = []
    for _ in range(count):
        started = time.perf_counter()
        request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": media_type})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                answer.read()
                status = answer.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except OSError:
            status = 0
        found.append((time.perf_counter() - started, status))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--pages-only", action="store_true", help="measure the resource pages at 100k only and print that section"
    )
    parser.add_argument("--seconds", type=float, default=3.0, help="load per run (default 3)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--validation-limit", type=float, default=120.0, help="cap per validation run, s")
    parser.add_argument("--skip-1m", action="store_true", help="leave out the 1M-triple tier")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results.md"))
    args = parser.parse_args()
    started = time.monotonic()
    if args.pages_only:
        return pages_only(args.seconds, args.connections)
    seconds, connections = args.seconds, args.connections
    tiers = {k: v for k, v in TIERS.items() if not (args.skip_1m and k == "1M")}
    out = Results()

    with tempfile.TemporaryDirectory(prefix="ceopgraph-scale-") as scratch_name, ExitStack():
        scratch = Path(scratch_name)
        files: dict[str, Path] = {}
        triples: dict[str, int] = {}
        for name, size in tiers.items():
            files[name] = scratch / f"synthetic-{name}.nq"
            triples[name] = generate.generate(generate.observations_for(size), files[name])
            log(f"generated {name}: {triples[name]:,} triples")

        # 1. Load time and peak memory ---------------------------------------------------------------
        out.section("Load time and peak memory", "One fresh process per load (N-Quads file); peak RSS of it.")
        rows, store_mb = [], {}
        for name, path in files.items():
            for engine in ("rdflib", "pyoxigraph"):
                try:
                    done = subprocess.run([sys.executable, "-c", LOAD_SCRIPT, engine, str(path)], capture_output=True,
                                          text=True, check=True, timeout=300).stdout.split()  # fmt: skip
                    rows.append([name, engine, f"{float(done[0]):.2f}", f"{float(done[1]):,.0f}"])
                    if engine == "pyoxigraph":
                        store_mb[name] = float(done[1])
                except subprocess.TimeoutExpired:
                    rows.append([name, engine, "> 300", "-"])
                log(f"loaded {name} with {engine}")
        out.table(["tier", "engine", "load s", "peak RSS MB"], rows)
        baseline = subprocess.run([sys.executable, "-c", f"import pyoxigraph; print({HWM})"], capture_output=True,
                                  text=True, check=True).stdout  # fmt: skip
        interpreter_mb = float(baseline)

        # 2. The SPARQL mix at 100k ------------------------------------------------------------------
        data = files["100k"]
        ratios: dict[str, dict[str, float]] = {}
        with ExitStack() as stack:
            ox = stack.enter_context(oxigraph(data, scratch))
            ours_g, gunicorn_pid = stack.enter_context(ceopgraph(data, "gunicorn"))
            ours_r, granian_pid = stack.enter_context(ceopgraph(data, "granian"))
            raw, _ = stack.enter_context(ceopgraph(data, "granian", cache=False))
            peer = stack.enter_context(rdflib_endpoint(data))
            log("servers up (100k)")
            servers = {
                "oxigraph": ox,
                "ceopgraph gunicorn": ours_g + "sparql",
                "ceopgraph granian": ours_r + "sparql",
                "ceopgraph granian, no cache": raw + "sparql",
                "rdflib-endpoint": peer,
            }
            rows = []
            for klass, query in QUERIES.items():
                counts = {label: solutions(url, query) for label, url in servers.items()}
                runs = {label: wrk(query_url(url, query), seconds, connections) for label, url in servers.items()}
                base_rate = runs["oxigraph"].requests_per_s or 1.0
                peer_rate = runs["rdflib-endpoint"].requests_per_s or 0.01
                ratios[klass] = {label: run.requests_per_s / base_rate for label, run in runs.items()}
                ratios[klass]["vs rdflib-endpoint"] = runs["ceopgraph granian"].requests_per_s / peer_rate
                for label, run in runs.items():
                    answer = (
                        ""
                        if counts[label] == counts["oxigraph"]
                        else f" ({counts[label]} vs {counts['oxigraph']} rows)"
                    )
                    rows.append([klass, label + answer, *fmt_run(run), f"{run.requests_per_s / base_rate:.2f}x"])
                log(f"SPARQL {klass} done")
            memory = {"gunicorn": worker_memory(gunicorn_pid), "granian": worker_memory(granian_pid)}
            out.section(
                f"SPARQL over HTTP at 100k triples ({triples['100k']:,})",
                f"{connections} keep-alive connections (wrk), {seconds:g} s per run; ratio = requests/s over Oxigraph "
                "server's in the same run. ceopgraph: 2 workers x 4 threads, answers cached per dataset version "
                "unless said; rdflib-endpoint answers at `/` under uvicorn.",
            )
            out.table(["class", "server", "req/s", "median ms", "p99 ms", "non-2xx", "ratio"], rows)

            # 5. Resource pages and /validate at 100k ------------------------------------------------
            pages_section(out, data, seconds, connections)
            submission = files["10k"].read_bytes()
            posts = timed_posts(ours_g + "validate", submission, "application/n-quads", 2, 90)
            out.section(
                f"POST /validate of a {triples['10k']:,}-triple submission (N-Quads, {len(submission):,} bytes)",
                "Sequential, one at a time (a validation takes seconds: a request rate means nothing here).",
            )
            out.table(
                ["run", "seconds", "status"], [[str(i + 1), f"{s:.2f}", str(c)] for i, (s, c) in enumerate(posts)]
            )
            log("/validate done")

        # 3. Lookups at every tier ----------------------------------------------------------------
        rows = []
        lookup_rates: dict[str, dict[str, float]] = {}
        for name in tiers:
            with ExitStack() as stack:
                ox = stack.enter_context(oxigraph(files[name], scratch))
                ours, pid = stack.enter_context(ceopgraph(files[name], "granian"))
                raw, _ = stack.enter_context(ceopgraph(files[name], "granian", cache=False))
                if name == "1M":
                    memory["granian, 1M"] = worker_memory(pid)
                lookup_rates[name] = {}
                for label, url in (("oxigraph", ox), ("ceopgraph granian", ours + "sparql"),
                                   ("ceopgraph granian, no cache", raw + "sparql")):  # fmt: skip
                    run = wrk(query_url(url, QUERIES["lookup"]), seconds, connections)
                    lookup_rates[name][label] = run.requests_per_s
                    rows.append([name, f"{triples[name]:,}", label, *fmt_run(run)])
            log(f"lookups {name} done")
        out.section("Lookups from 10k to 1M triples", "The same lookup query; the store grows 100x.")
        out.table(["tier", "triples", "server", "req/s", "median ms", "p99 ms", "non-2xx"], rows)

        # 4. Memory per worker ---------------------------------------------------------------------
        rows = []
        for label, values in memory.items():
            tier = "1M" if "1M" in label else "100k"
            own = store_mb.get(tier, 0.0) - interpreter_mb
            for index, value in enumerate(values):
                rows.append(
                    [label, str(index + 1), f"{value:,.0f}", f"{own:,.0f}", f"{value / own:.1f}x" if own else "-"]
                )
        out.section(
            "Memory per server worker",
            "RSS of each worker plus its endpoint query processes (4 per worker by default, each holding a copy "
            f"of the data) against the store's own: the embedded load's peak RSS less the interpreter's "
            f"({interpreter_mb:.0f} MB).",
        )
        out.table(["server", "worker", "RSS MB (worker + query processes)", "store MB", "ratio"], rows)

        # 6. Validation time -----------------------------------------------------------------------
        rows = []
        for name in ("10k", "100k"):
            try:
                done = subprocess.run([sys.executable, "-c", VALIDATE_SCRIPT, str(files[name])], capture_output=True,
                                      text=True, check=True, timeout=args.validation_limit).stdout.split()  # fmt: skip
                rows.append([name, f"{triples[name]:,}", f"{float(done[0]):.2f}", f"{float(done[1]):.2f}", done[2]])
            except subprocess.TimeoutExpired:
                rows.append([name, f"{triples[name]:,}", "-", f"> {args.validation_limit:.0f} (stopped)", "-"])
            log(f"validation {name} done")
        out.section("Validation time with the shapes (pySHACL, in process)")
        out.table(["tier", "triples", "parse s", "validate s", "conforms"], rows)

    # Summary against the targets ------------------------------------------------------------------
    worst = {label: min(r[label] for r in ratios.values()) for label in ("ceopgraph gunicorn", "ceopgraph granian")}
    peer = min(r["vs rdflib-endpoint"] for r in ratios.values())
    out.section("Targets")
    out.text(
        "- SPARQL at 100k, lowest ratio to Oxigraph over the classes (target >= 0.5): "
        f"granian {worst['ceopgraph granian']:.2f}x, "
        f"gunicorn {worst['ceopgraph gunicorn']:.2f}x",
        f"- against rdflib-endpoint, lowest ratio over the classes (target >= 5): {peer:.1f}x",
        f"- lookups 10k -> {list(tiers)[-1]} (ceopgraph granian, no cache): "
        + " / ".join(f"{lookup_rates[t]['ceopgraph granian, no cache']:,.0f}" for t in tiers)
        + " req/s",
    )
    elapsed = time.monotonic() - started
    header = [
        "# Benchmark results",
        "",
        f"Measured {datetime.date.today().isoformat()} by `make bench` (bench/scale.py) in {elapsed / 60:.1f} min on "
        f"{os.cpu_count()} CPU cores, Python {sys.version.split()[0]}, loopback only. The load generator (wrk) "
        "and every server share these cores, and the machine is shared with other work: absolute numbers are noisy, "
        "ratios are measured side by side in the same run. Data: synthetic (bench/generate.py).",
    ]
    Path(args.out).write_text("\n".join(header + out.lines) + "\n")
    log(f"wrote {args.out} in {elapsed:.0f} s")
    return 0


def wrk_accept(url: str, seconds: float, connections: int, accept: str) -> Run:
    import sparql_bench

    previous = sparql_bench.ACCEPT
    sparql_bench.ACCEPT = accept
    try:
        return wrk(url, seconds, connections)
    finally:
        sparql_bench.ACCEPT = previous


# Resource pages ------------------------------------------------------------------------------------

PAGE = "data/synthetic/body-000007/reports-received/2009-2010"  # an observation: figure, provenance
DATASET_PAGE = "data/synthetic/body-000007"  # a dataset: a table and chart of ~50 figures, ~50 incoming links
OBSERVATIONS = "PREFIX qb: <http://purl.org/linked-data/cube#> SELECT ?obs WHERE { ?obs a qb:Observation } LIMIT 200"


def first_answers(base: str, paths: list[str], accept: str) -> tuple[list[float], int]:
    """One GET per path, one at a time: each page's first answer (rendered, not replayed); ms, non-2xx."""
    times, failed = [], 0
    for path in paths:
        started = time.perf_counter()
        request = urllib.request.Request(base + path, headers={"Accept": accept})
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                answer.read()
        except urllib.error.HTTPError:
            failed += 1
        times.append((time.perf_counter() - started) * 1000)
    return times, failed


def pages_section(out: Results, data: Path, seconds: float, connections: int) -> None:
    """Resource pages at 100k: the same page under load (replayed from the answer cache after its first
    answer, which a warm-up request takes), the same with the cache off (every request rendered), and
    the first answer of 200 distinct observation pages (what a crawler sees)."""
    rows = []
    with ExitStack() as stack:
        servers = {
            "gunicorn": stack.enter_context(ceopgraph(data, "gunicorn"))[0],
            "granian": stack.enter_context(ceopgraph(data, "granian"))[0],
            "granian, no cache": stack.enter_context(ceopgraph(data, "granian", cache=False))[0],
        }
        for base in servers.values():  # each worker past its start (templates, shapes), each page once
            first_answers(base, [p for page in (PAGE, DATASET_PAGE) for p in (page, page + ".ttl")] * 4, "text/html")
        for page, what in ((PAGE, "observation"), (DATASET_PAGE, "dataset")):
            for kind, path, accept in (("HTML", page, "text/html"), ("Turtle", page + ".ttl", "text/turtle")):
                for label, base in servers.items():
                    run = wrk_accept(base + path, seconds, connections, accept)
                    rows.append([f"{kind}, {what}", label, *fmt_run(run)])
        log("pages under load done")
        listing = urllib.request.Request(
            servers["granian, no cache"] + "sparql?query=" + urllib.parse.quote(OBSERVATIONS),
            headers={"Accept": "text/csv"},
        )
        with urllib.request.urlopen(listing, timeout=60) as answer:
            iris = answer.read().decode().split()[1:]
        paths = [iri.removeprefix(generate.DEFAULT_BASE) for iri in iris]
        cold = []
        for kind, accept, suffix in (("HTML", "text/html", ""), ("Turtle", "text/turtle", ".ttl")):
            times, failed = first_answers(servers["gunicorn"], [p + suffix for p in paths], accept)
            times.sort()
            cold.append([kind, str(len(times)), f"{times[len(times) // 2]:.2f}", f"{times[-1 - len(times) // 100]:.2f}",
                         f"{max(times):.2f}", str(failed)])  # fmt: skip
        log("first answers done")
    out.section(
        "Resource pages at 100k triples",
        f"`/{PAGE}` (an observation) and `/{DATASET_PAGE}` (a dataset with its table and chart), {connections} "
        f"keep-alive connections (wrk), {seconds:g} s per run; 2 workers x 4 threads. With the answer cache (the "
        "default) a page is rendered once per dataset version and representation (by a warm-up request), then "
        "replayed; `no cache` renders every request.",
    )
    out.table(["page", "server", "req/s", "median ms", "p99 ms", "non-2xx"], rows)
    out.text(
        "",
        f"First answers of {len(paths)} distinct observation pages, one request at a time (gunicorn, rendered, "
        "never replayed): client-side latency.",
        "",
    )
    out.table(["page", "pages", "median ms", "p99 ms", "max ms", "non-2xx"], cold)


def pages_only(seconds: float, connections: int) -> int:
    """``--pages-only``: generate the 100k tier, measure the pages, print the section."""
    with tempfile.TemporaryDirectory(prefix="ceopgraph-pages-") as scratch:
        data = Path(scratch) / "synthetic-100k.nq"
        triples = generate.generate(generate.observations_for(TIERS["100k"]), data)
        log(f"generated 100k: {triples:,} triples")
        out = Results()
        pages_section(out, data, seconds, connections)
    print(
        f"\nMeasured {datetime.date.today().isoformat()} by `bench/scale.py --pages-only` on {os.cpu_count()} CPU "
        f"cores (a shared machine), {triples:,} triples, Python {sys.version.split()[0]}."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
