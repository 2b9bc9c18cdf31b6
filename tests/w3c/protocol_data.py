"""The small dataset the protocol tests query: four named graphs, each describing itself.

The suite's protocol tests name documents on a remote site as graphs; this endpoint fetches nothing, so
the live server holds graphs of its own with the same shape: graph ``dataN`` says that ``dataN`` is a
document and gives it a title, and ``data3`` also holds a triple about a thing, so that a query can tell
the default graph from the named ones.
"""

from __future__ import annotations

from pathlib import Path

BASE = "http://example.org/w3c-protocol/"
DATA = [f"{BASE}data{n}" for n in range(4)]
THING = BASE + "thing"
DOCUMENT = "http://xmlns.com/foaf/0.1/Document"
TITLE = "http://purl.org/dc/terms/title"
TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


def quads() -> list[str]:
    lines = []
    for n, graph in enumerate(DATA):
        lines.append(f"<{graph}> <{TYPE}> <{DOCUMENT}> <{graph}> .")
        lines.append(f'<{graph}> <{TITLE}> "document {n}" <{graph}> .')
    lines.append(f"<{THING}> <{TYPE}> <{BASE}Thing> <{DATA[3]}> .")
    return lines


def write_protocol_data(path: Path) -> Path:
    path.write_text("\n".join(quads()) + "\n", encoding="utf-8")
    return path
