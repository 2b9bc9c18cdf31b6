"""Hostile drafts: every case of the hostile-draft corpus through the write path, and what the worst ones cost.

``python bench/drafts.py`` prints the section; ``--write`` puts it in bench/results.md ("Hostile drafts"). Each
case of ``tests/submissions/drafts.py`` (uploads of at most 4 MiB) is posted to ``/drafts`` as a submitter posts
it (the Flask test client over a data directory whose release 1 is the built dataset, the default limits: the
draft prepared in a validation worker with its time limit and memory cap), one at a time; a stored draft is
discarded after. Columns: the answer the corpus expects and the one given, the seconds the client waited, and the
bytes the draft takes once stored (data, changeset, report and diff), or for a 413 the bytes its data alone would
have taken. Then the blank-node cases in this process (``bench/bnodes.py``): parsing, labelling, the diff, and the
organisation's page rendered from the labelled data.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the corpus and the test app

from tests.apps import embedded_app
from tests.releasing import local_releases
from tests.submissions.drafts import CORPUS

from bnodes import HEADER
from bnodes import TITLE as BNODES_TITLE
from bnodes import rows as blank_node_rows
from ceopgraph.build import build_dataset, write_dumps
from ceopgraph.config import load_settings
from ceopgraph.web.services import of
from scale import ROOT, Results, log, splice

TITLE = "Hostile drafts"


def through_the_service() -> list[list[str]]:
    """One row per corpus case: upload bytes, expected and given status, seconds, stored bytes, what happened."""
    settings = load_settings(environ={}, root=ROOT)
    found = []
    with tempfile.TemporaryDirectory() as folder:
        dist, data = Path(folder) / "dist", Path(folder) / "data"
        write_dumps(build_dataset(settings), dist, settings.scheme)
        assert local_releases(data).ensure_first_release(dist / "ceopgraph.trig") is not None
        with embedded_app(settings, dist, data_dir=data) as app:
            releases = of(app).releases
            assert releases is not None
            _, secret = releases.tokens.create("submitter", "bench")
            client = app.test_client()
            dump = client.get("/releases/1/dumps/ceopgraph.trig").data
            for case in CORPUS:
                upload = case.upload(dump)
                headers = {"Authorization": f"Bearer {secret}", "Content-Type": case.content_type}
                started = time.perf_counter()
                answer = client.post("/drafts", data=upload, headers=headers)
                seconds = time.perf_counter() - started
                if answer.status_code == 201:
                    draft = releases.registry.draft(answer.get_json()["id"], None)
                    assert draft is not None
                    stored = (
                        len(draft.nquads) + len(draft.changeset) + len(draft.report.encode()) + len(draft.diff.encode())
                    )
                    outcome = f"stored ({'conforms' if draft.conforms else 'violations'})"
                    client.delete(f"/drafts/{draft.id}", headers=headers)
                else:
                    message = answer.get_json()["error"] if answer.is_json else answer.get_data(as_text=True)
                    at_least = re.search(r"at least ([\d,]+) bytes", message)
                    stored = int(at_least.group(1).replace(",", "")) if at_least else 0
                    outcome = " ".join(message.split(": ", 1)[-1].split())[:110]
                log(f"{case.name}: {answer.status_code} in {seconds:.2f} s")
                found.append([
                    case.name,
                    f"{len(upload):,}",
                    str(case.status),
                    str(answer.status_code),
                    f"{seconds:.2f}",
                    f"{stored:,}" if stored else "-",
                    outcome,
                ])  # fmt: skip
    return found


def _worst(rows: list[list[str]], column: int) -> list[str]:
    return max(rows, key=lambda row: float(row[column].split()[0].replace(",", "")) if row[column] != "-" else -1.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="put the section in bench/results.md")
    args = parser.parse_args()
    service = through_the_service()
    costs = blank_node_rows(load_settings(environ={}, root=ROOT))
    out = Results()
    out.section(TITLE)
    out.table(["draft", "upload bytes", "expected", "status", "seconds", "stored bytes", "what happened"], service)
    out.text("", f"{BNODES_TITLE}, in one process (seconds):", "")
    out.table(HEADER, costs)
    by_size, by_diff = _worst(service, 5), _worst(costs, 6)
    by_render = max(costs, key=lambda row: max(float(v) if v != "-" else -1.0 for v in row[7:9]))
    out.text(
        "",
        f"- Worst by stored size: {by_size[0]}, {by_size[1]} bytes uploaded, would take {by_size[5]} bytes: "
        f"{by_size[3]} in {by_size[4]} s ({by_size[6]}); before the bound, 61.6 MB of N-Quads and a 20.5 MB changeset "
        "were stored.",
        f"- Worst by diff time: {by_diff[0]}, {by_diff[6]} s (labelling {by_diff[5]} s).",
        f"- Worst by render time: {by_render[0]}, the organisation's page {by_render[7]} s as Turtle, "
        f"{by_render[8]} s as HTML.",
    )
    if args.write:
        results = ROOT / "bench" / "results.md"
        text = results.read_text()
        if f"## {BNODES_TITLE}" in text:  # folded into this section
            start = text.index(f"## {BNODES_TITLE}")
            following = text.find("\n## ", start + 3)
            text = text[:start] + (text[following + 1 :] if following >= 0 else "")
        if f"## {TITLE}" not in text:
            text = text.rstrip() + "\n\n## " + TITLE + "\n"
        results.write_text(text.rstrip() + "\n")
        splice(results, out, TITLE, " ".join((__doc__ or "").split("\n\n", 1)[1].split()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
