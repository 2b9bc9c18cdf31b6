"""Performance at scale, side by side in one run: `make bench` runs this and writes bench/results.md.

Not a test. On synthetic data from ``bench/generate.py`` (~10k, ~100k and ~1M triples), loopback only,
every load bounded in time (``wrk`` from ``sparql_bench``):

1. load time and peak memory: rdflib in memory against the embedded store (pyoxigraph);
2. the SPARQL mix (lookup, join, aggregate, path) at 100k triples, 8 keep-alive connections, against
   ``ceopgraph serve`` (gunicorn and Granian, answer cache on, and Granian with it off), Oxigraph
   server (``serve-read-only --union-default-graph``, the same file) and rdflib-endpoint (uvicorn);
3. varied traffic (``bench/varied.py``: every request a different query, each class, every tier) against
   Oxigraph server and rdflib-endpoint, with ceopgraph as `make serve` runs it; the limits each layer sets
   alone (``bench/limits.py``); lookups at 10k and 1M triples (flat?), ceopgraph against Oxigraph server;
4. memory per server worker (the worker and its query processes) against the store's own;
5. resource pages (HTML, Turtle) and ``POST /validate`` of a 10k-triple submission;
6. validation time of 10k- and 100k-triple submissions with the shapes (bounded);
7. attack: hostile clients against a server of its own on the built dataset (``bench/attack.py``, which
   also runs alone and then replaces only that section).
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
import varied
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
from ceopgraph.validation.engine import validate_graph
from ceopgraph.validation.shapes import load_shapes
settings = load_settings()
shapes = load_shapes(settings.shapes_dir, settings.scheme)
started = time.perf_counter()
data = read_files([Path(sys.argv[1])], 1 << 34, settings.base_uri)
parsed = time.perf_counter()
report = validate_graph(data, shapes)
print(parsed - started, time.perf_counter() - parsed, report.conforms)
"""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def memory_mb(pid: int) -> tuple[float, float]:
    """RSS and PSS of one process (MB). PSS divides each shared page among the processes mapping it,
    so pages shared between workers and query processes (the interpreter's libraries) count once."""
    values = {"Rss:": 0.0, "Pss:": 0.0}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            key, *rest = line.split()
            if key in values:
                values[key] = int(rest[0]) / 1024
    except OSError:
        pass
    return values["Rss:"], values["Pss:"]


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def descendants(pid: int) -> list[int]:
    found, pending = [], children(pid)
    while pending:
        found.append(pid := pending.pop())
        pending += children(pid)
    return found


def worker_memory(root: int) -> list[tuple[tuple[float, float], list[tuple[float, float]]]]:
    """Per server worker (the server's children): its RSS and PSS, and those of each process under it (the query
    processes' holder and the query processes it forked, the checkers, the validators once started)."""
    return [(memory_mb(w), [memory_mb(c) for c in descendants(w)]) for w in children(root)]


def warm(endpoint: str, rounds: int) -> None:
    """Every query of the mix ``rounds`` times, uncached, so every query process has read the data."""
    for _ in range(rounds):
        for query in QUERIES.values():
            solutions(endpoint, query)


@contextmanager
def ceopgraph(
    data: Path, server_kind: str | None, cache: bool = True, seconds: float = 60
) -> Iterator[tuple[str, int]]:
    """``ceopgraph serve --data``: with ``server_kind`` None, exactly as `make serve` runs (the defaults);
    else that server, 2 workers x 4 threads."""
    port = free_port()
    command = [str(BIN / "ceopgraph"), "serve", "--host", "127.0.0.1", "--port", str(port), "--data", str(data)]
    if server_kind is not None:
        command += ["--server", server_kind, "--workers", "2", "--threads", "4"]
    env = {} if cache else {"CEOPGRAPH_ANSWER_CACHE_MB": "0"}
    base = f"http://127.0.0.1:{port}/"
    with server(command, base + "healthz", env, seconds) as process:
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


def load_section(
    out: Results, files: dict[str, Path], engines: tuple[str, ...] = ("rdflib", "pyoxigraph")
) -> tuple[dict[str, float], float]:
    """Load time and peak RSS per tier and engine; returns the embedded store's peak RSS per tier and
    the bare interpreter's (with pyoxigraph imported)."""
    out.section("Load time and peak memory", "One fresh process per load (N-Quads file); peak RSS of it.")
    rows, store_mb = [], {}
    for name, path in files.items():
        for engine in engines:
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
    return store_mb, float(baseline)


def memory_section(
    out: Results, files: dict[str, Path], triples: dict[str, int], store_mb: dict[str, float], interpreter_mb: float
) -> None:
    """Memory per server worker at 100k and 1M (as `make serve` runs, answer cache off), after the uncached query
    mix has gone through every query process; against the store's own (its load's peak RSS less the interpreter's)."""
    rows = []
    for name in ("100k", "1M"):
        if name not in files:
            continue
        own = store_mb[name] - interpreter_mb
        # At 1M every worker loads the data into memory on a shared, busy machine: allow a slow start.
        with ceopgraph(files[name], None, cache=False, seconds=300) as (base, pid):
            warm(base + "sparql", rounds=12)
            time.sleep(1)
            for index, ((rss, pss), queries) in enumerate(worker_memory(pid)):
                total_rss, total_pss = rss + sum(r for r, _ in queries), pss + sum(p for _, p in queries)
                each = max((r for r, _ in queries), default=0.0)
                under = f"{len(queries)}, at most {each:,.0f}"
                rows.append([
                    f"{name} ({triples[name]:,})", str(index + 1), f"{rss:,.0f}", under,
                    f"{total_rss:,.0f}", f"{total_pss:,.0f}", f"{own:,.0f}",
                    f"{total_rss / own:.1f}x", f"{total_pss / own:.1f}x",
                ])  # fmt: skip
        log(f"memory {name} done")
    out.section(
        "Memory per server worker",
        "As `make serve` runs (Granian, 2 workers, 4 endpoint query processes each), answer cache off; measured after "
        "the query mix ran 12 times uncached (every query process has read the data). The worker keeps the store in "
        "memory for its own queries (pages); under it, the holder of the data in memory and the 4 query processes "
        "it forked, which share its pages (each one's RSS counts them all; PSS divides each shared page among the "
        "processes that map it, so the sum counts them once), and 2 checkers. "
        f"Store's own: the embedded load's peak RSS less the interpreter's ({interpreter_mb:.0f} MB).",
    )
    out.table(
        ["tier", "worker", "worker RSS MB", "processes under it, RSS MB", "total RSS MB", "total PSS MB", "store MB",
         "RSS ratio", "PSS ratio"],
        rows,
    )  # fmt: skip


def splice(path: Path, out: Results, title: str, note: str) -> None:
    """Replace section ``title`` of an existing results file with the one in ``out`` (plus ``note``)."""
    lines = path.read_text().splitlines()
    start = lines.index(f"## {title}")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    fresh = out.lines[out.lines.index(f"## {title}") :]
    fresh = fresh[: next((i for i in range(1, len(fresh)) if fresh[i].startswith("## ")), len(fresh))]
    path.write_text("\n".join([*lines[:start], *fresh[:2], note, "", *fresh[2:], "", *lines[end:]]).rstrip() + "\n")


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
    parser.add_argument(
        "--memory-only", action="store_true", help="measure memory per worker only and replace that section of --out"
    )
    args = parser.parse_args()
    started = time.monotonic()
    if args.pages_only:
        return pages_only(args.seconds, args.connections)
    seconds, connections = args.seconds, args.connections
    tiers = {k: v for k, v in TIERS.items() if not (args.skip_1m and k == "1M")}
    if args.memory_only:
        tiers = {k: v for k, v in tiers.items() if k != "10k"}
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
        engines = ("pyoxigraph",) if args.memory_only else ("rdflib", "pyoxigraph")
        store_mb, interpreter_mb = load_section(out, files, engines)
        if args.memory_only:
            memory_section(out, files, triples, store_mb, interpreter_mb)
            note = (
                f"Measured {datetime.date.today().isoformat()} by `bench/scale.py --memory-only` on {os.cpu_count()} "
                "CPU cores (a shared machine), after the rest of this file; the other sections are from the date above."
            )
            splice(Path(args.out), out, "Memory per server worker", note)
            log(f"updated the memory section of {args.out}")
            return 0

        # 2. The SPARQL mix at 100k ------------------------------------------------------------------
        data = files["100k"]
        ratios: dict[str, dict[str, float]] = {}
        with ExitStack() as stack:
            ox = stack.enter_context(oxigraph(data, scratch))
            ours_g, _ = stack.enter_context(ceopgraph(data, "gunicorn"))
            ours_r, _ = stack.enter_context(ceopgraph(data, "granian"))
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

        # 3. Varied traffic at every tier, and the limits each layer sets ------------------------
        varied_ratios, pages_rate = varied_section(out, files, triples, scratch, seconds, connections)
        import limits  # here, not above: limits.py imports this module when it runs alone

        limits.limits_section(out, files["100k"], triples["100k"], scratch, seconds, connections)

        # 3b. Lookups at every tier (one query, repeated) -----------------------------------------
        rows = []
        lookup_rates: dict[str, dict[str, float]] = {}
        for name in tiers:
            with ExitStack() as stack:
                ox = stack.enter_context(oxigraph(files[name], scratch))
                ours, _ = stack.enter_context(ceopgraph(files[name], "granian"))
                raw, _ = stack.enter_context(ceopgraph(files[name], "granian", cache=False))
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
        memory_section(out, files, triples, store_mb, interpreter_mb)

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

    # 7. Attack ------------------------------------------------------------------------------------
    import attack  # here, not above: attack.py imports this module when it runs alone

    attack.attack_section(out, ROOT / "dist")

    # Summary against the targets ------------------------------------------------------------------
    worst = {label: min(r[label] for r in ratios.values()) for label in ("ceopgraph gunicorn", "ceopgraph granian")}
    peer = min(r["vs rdflib-endpoint"] for r in ratios.values())
    out.section("Targets")
    out.text(
        *(
            f"- varied traffic at {tier}, lowest ratio to Oxigraph over the classes (target >= 0.5): "
            f"{min(r['oxigraph'] for r in by_class.values()):.2f}x ("
            + ", ".join(f"{klass} {r['oxigraph']:.2f}x" for klass, r in by_class.items())
            + ")"
            + (
                "; against rdflib-endpoint, lowest (target >= 5): "
                f"{min(r['rdflib-endpoint'] for r in by_class.values()):.1f}x"
                if all("rdflib-endpoint" in r for r in by_class.values())
                else ""
            )
            for tier, by_class in varied_ratios.items()
        ),
        f"- distinct resource pages at 100k (target >= 2,000/s): {pages_rate:,.0f}/s",
        "- repeated queries at 100k, lowest ratio to Oxigraph over the classes (target >= 1): "
        f"granian (the default) {worst['ceopgraph granian']:.2f}x, "
        f"gunicorn {worst['ceopgraph gunicorn']:.2f}x",
        f"- repeated queries against rdflib-endpoint, lowest ratio over the classes (target >= 5): {peer:.1f}x",
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


def varied_section(
    out: Results, files: dict[str, Path], triples: dict[str, int], scratch: Path, seconds: float, connections: int
) -> tuple[dict[str, dict[str, dict[str, float]]], float]:
    """Every request a different query (``bench/varied.py``), at every tier: ceopgraph as `make serve` runs
    it, Oxigraph server, and rdflib-endpoint up to 100k (at 1M it needs half a minute and 2 GB to load,
    and answers an aggregate in seconds). The ratios of ceopgraph's rate to each other's, by tier and
    class; and distinct observation pages a second at 100k."""
    rows = []
    ratios: dict[str, dict[str, dict[str, float]]] = {}
    pages_rate = 0.0
    for name in files:
        vocabulary = varied.Vocabulary.of(files[name])
        with ExitStack() as stack:
            ours, _ = stack.enter_context(ceopgraph(files[name], None))
            served = [
                varied.Served("ceopgraph", ours.rstrip("/"), "/sparql"),
                varied.Served("oxigraph", *_origin_and_path(stack.enter_context(oxigraph(files[name], scratch)))),
            ]
            if name != "1M":
                peer = stack.enter_context(rdflib_endpoint(files[name]))
                served.append(varied.Served("rdflib-endpoint", *_origin_and_path(peer)))
            log(f"varied traffic: servers up ({name})")
            rates: dict[str, dict[str, float]] = {}
            for klass, server_, run in varied.run_classes(served, vocabulary, scratch, seconds, connections):
                rates.setdefault(klass, {})[server_.label] = run.requests_per_s
                rows.append([name, klass, server_.label, *fmt_run(run)])
            ratios[name] = {
                klass: {label: by["ceopgraph"] / (rate or 0.01) for label, rate in by.items() if label != "ceopgraph"}
                for klass, by in rates.items()
            }
            for row in rows:
                if row[0] == name and row[2] != "ceopgraph":
                    row.append(f"{ratios[name][row[1]][row[2]]:.2f}x")
                elif row[0] == name:
                    row.append("")
            if name == "100k":
                run = varied.distinct_pages(ours.rstrip("/"), vocabulary, scratch, seconds, connections)
                pages_rate = run.requests_per_s
            log(f"varied traffic {name} done")
    out.section(
        "Varied traffic: every request a different query",
        f"{connections} keep-alive connections (wrk), {seconds:g} s per run, each request the next of "
        f"{varied.PER_CLASS:,} different queries of its class (bench/varied.py: seeded, built from the data, the "
        "same for every server), so no answer cache holds any. ceopgraph exactly as `make serve` runs it "
        "(Granian, 2 workers, the default limits); Oxigraph server `serve-read-only --union-default-graph`; "
        "rdflib-endpoint up to 100k. Ratio: ceopgraph's requests/s over that server's, in the same run.",
    )
    out.table(["tier", "class", "server", "req/s", "median ms", "p99 ms", "non-2xx", "ceopgraph / it"], rows)
    out.text("", f"Distinct observation pages (HTML) at 100k, 10,000 different ones in turn: {pages_rate:,.0f}/s.")
    return ratios, pages_rate


def _origin_and_path(url: str) -> tuple[str, str]:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}", parts.path or "/"


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
