"""The corpus's cases are made once per run: a second process of a parallel run reads the case another one
made from their shared folder, blank nodes, prefixes and all, and validates nothing itself."""

from __future__ import annotations

from pathlib import Path

from rdflib import BNode, Graph

from ceopgraph.config import Settings

from .submissions import BLANK_NODE, MUTATIONS, Corpus


def test_a_case_made_by_one_process_is_read_by_another_as_it_was_made(
    union: Graph, shapes: Graph, settings: Settings, tmp_path: Path
) -> None:
    (name, *_) = [m.name for m in MUTATIONS if m.focus == BLANK_NODE and m.severity == "Violation"]
    first = Corpus(union, shapes, settings, tmp_path)
    made = first.report(name)
    # The second process's shapes are empty: had it validated the case itself, the case would conform.
    second = Corpus(union, Graph(), settings, tmp_path)
    read = second.report(name)
    assert read.conforms is made.conforms is False
    assert read.results == made.results
    assert any(isinstance(node, BNode) for node in second.data(name).all_nodes())
    assert set(second.data(name)) == set(first.data(name))  # the same blank node labels in both
    for render in ("to_json", "to_csv", "to_text", "to_turtle", "to_jsonld"):  # the report's prefixes too
        assert getattr(read, render)() == getattr(made, render)(), render


def test_without_a_shared_folder_each_corpus_makes_its_own_cases(
    union: Graph, shapes: Graph, settings: Settings
) -> None:
    (name, *_) = [m.name for m in MUTATIONS if m.severity == "Violation"]
    assert Corpus(union, shapes, settings).report(name).conforms is False
    assert Corpus(union, Graph(), settings).report(name).conforms is True
