"""Every representation of every document of the built dataset, as JSON lines: the before/after check of a
refactor that must not change a byte (``python -m tests.representations OUT.jsonl`` on each tree, then ``cmp``).

Each line: a path, the ``Accept`` sent, the status, the headers (less those that name the time of the run:
``Date``, ``Server-Timing``, ``Last-Modified``, ``Expires``, and a dump's file-based ``ETag``) and the body's
SHA-256, through the Flask test client over a fresh build: every IRI of the dataset under the base, the
service's own documents, two unknown paths and the dumps, each asked for in eleven media types.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path

from ceopgraph.build import build_dataset, write_dumps
from ceopgraph.config import load_settings

from .apps import embedded_app

ROOT = Path(__file__).resolve().parents[1]
ACCEPTS = (
    "text/html",
    "text/turtle",
    "application/n-triples",
    "application/ld+json",
    "application/rdf+xml",
    "application/trig",
    "application/n-quads",
    "*/*",
    "application/json",
    "text/csv",
    "image/png",
)
OWN_PATHS = (
    "/",
    "/sparql",
    "/.well-known/void",
    "/validate",
    "/validate/example-submission.ttl",
    "/validate/guide",
    "/healthz",
    "/no/such/thing",
    "/id/nothing",
    "/doc/nothing",
    "/context.jsonld",
)
OF_THE_RUN = frozenset(("Date", "Server-Timing", "Last-Modified", "Expires"))


def main(out: Path) -> int:
    settings = load_settings(environ={}, root=ROOT)
    dataset = build_dataset(settings)
    base = settings.base_uri
    iris = {str(term) for quad in dataset.quads() for term in quad if str(term).startswith(base)}
    paths = sorted({"/" + iri[len(base) :].split("#")[0] for iri in iris}) + list(OWN_PATHS)
    with tempfile.TemporaryDirectory() as folder, out.open("w") as sink:
        dist = Path(folder)
        write_dumps(dataset, dist, settings.scheme)
        paths += ["/dumps/" + dump.name for dump in sorted(dist.iterdir())]
        with embedded_app(settings, dist) as app:
            client = app.test_client()
            for path in paths:
                for accept in ACCEPTS:
                    answer = client.get(path, headers={"Accept": accept})
                    headers = sorted(
                        (name, value)
                        for name, value in answer.headers.items()
                        if name not in OF_THE_RUN and not (path.startswith("/dumps/") and name == "ETag")
                    )
                    line = {
                        "path": path,
                        "accept": accept,
                        "status": answer.status_code,
                        "headers": headers,
                        "body": hashlib.sha256(answer.get_data()).hexdigest(),
                    }
                    sink.write(json.dumps(line) + "\n")
    print(f"{len(paths)} paths x {len(ACCEPTS)} media types")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
