"""The report: results read out of the SHACL report graph, and its renderings (JSON, Turtle, CSV, text)."""

from __future__ import annotations

import csv
import io
import json

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import RDF

from ceopgraph.config import Settings
from ceopgraph.namespaces import SH
from ceopgraph.validation.report import Report, Result, with_description

from .submissions import MUTATIONS, Corpus, absolute


def test_a_complex_result_path_is_written_out_not_a_blank_node(corpus: Corpus, settings: Settings) -> None:
    """Regression: a sequence path was reported as a random blank-node label."""
    (mutation,) = [m for m in MUTATIONS if m.name == "threat-area-numbered-in-words"]
    report = corpus.report(mutation.name)
    (result,) = [r for r in report.results if r.source_shape == absolute(settings, mutation.shape)]
    skos = "http://www.w3.org/2004/02/skos/core#"
    assert result.result_path == f"(<{skos}hasTopConcept>/<{skos}notation>)"


def test_reports_render_as_json_turtle_and_grouped_text(corpus: Corpus) -> None:
    report = corpus.report("negative-count")
    document = json.loads(report.to_json())
    assert document["conforms"] is False
    keys = {"focusNode", "resultPath", "value", "valueText", "severity", "message", "sourceShape", "sourceConstraint"}
    assert all(set(r) == keys for r in document["results"])
    assert (None, RDF.type, SH.ValidationReport) in Graph().parse(data=report.to_turtle(), format="turtle")
    text = report.to_text()
    assert "A count cannot be negative" in text
    assert "(Children safeguarded and protected, 2012-2013)" in text  # the focus node's label
    groups = report.groups()
    assert sum(len(g.results) for g in groups) == len(report.results)
    assert len({(g.severity, g.source_shape, g.message) for g in groups}) == len(groups)


def test_a_value_is_shown_with_its_kind_against_the_kind_the_rule_expects(corpus: Corpus, settings: Settings) -> None:
    """Regression: the text "790" and the number 790 were both shown as 790, hiding what was wrong."""
    text_figure = corpus.report("figure-as-string")
    (result,) = [r for r in text_figure.results if r.source_shape.endswith("/ObservationShape/obsValue")]
    wanted = 'the text "790" (xsd:string); expected a number (xsd:integer/decimal)'
    assert text_figure.value_text(result) == wanted
    assert [r["valueText"] for r in json.loads(text_figure.to_json())["results"]] == [wanted]
    assert f"value {wanted}" in text_figure.to_text()
    assert [r["valueText"] for r in csv.DictReader(io.StringIO(text_figure.to_csv()))] == [wanted]
    negative = corpus.report("negative-count")
    (result,) = [r for r in negative.results if (r.source_constraint or "").endswith("/count-not-negative")]
    assert negative.value_text(result) == "the number -790 (xsd:integer)"
    language = corpus.report("range-unit-with-language")
    (result,) = language.results
    assert language.value_text(result) == 'the text "reports"@en (rdf:langString); expected text (xsd:string)'


def test_csv_cells_never_run_as_spreadsheet_formulas() -> None:
    def result(value: str) -> Result:
        return Result("http://a.example/s", None, value, "Violation", "m", "http://a.example/shape", None)

    values = ['=HYPERLINK("http://evil.example")', "+1", "@SUM(A1)", "-cmd", "-790", "-1.5e3", "plain"]
    report = Report(False, tuple(result(v) for v in values), Graph())
    rows = list(csv.DictReader(io.StringIO(report.to_csv())))
    assert [r["value"] for r in rows] == ["'" + v for v in values[:4]] + values[4:]


def test_csv_cells_hiding_a_formula_behind_space_a_line_break_or_a_fullwidth_form_are_neutralised() -> None:
    def result(value: str) -> Result:
        return Result("http://a.example/s", None, value, "Violation", "m", "http://a.example/shape", None)

    values = [" =1+1", "plain\n=cmd", "＝1+1", "\u3000=1", "|cmd", "-790", "plain"]
    report = Report(False, tuple(result(v) for v in values), Graph())
    rows = list(csv.DictReader(io.StringIO(report.to_csv())))
    assert [r["value"] for r in rows] == ["'" + v for v in values[:5]] + values[5:]


def _results(*severities: str) -> tuple[Result, ...]:
    return tuple(
        Result(f"http://a.example/s{i}", None, None, s, "m", "http://a.example/shape", None)
        for i, s in enumerate(severities)
    )


def test_results_are_counted_by_severity_in_one_place_that_the_summary_uses() -> None:
    report = Report(False, _results("Warning", "Violation", "Warning", "Info", "Warning"), Graph())
    assert report.counts == {"Violation": 1, "Warning": 3, "Info": 1}
    assert report.to_text().startswith("Data does not conform (1 violation, 3 warnings, 1 info).\n")
    assert Report(True, (), Graph()).counts == {"Violation": 0, "Warning": 0, "Info": 0}
    assert Report(True, (), Graph()).to_text() == "Data conforms.\n"
    assert Report(True, _results("Info", "Info"), Graph()).to_text().startswith("Data conforms (2 infos).\n")


def test_a_blank_node_is_copied_into_the_report_with_its_nested_description_and_labels() -> None:
    """A report names a blank node of the data by its label, so its description comes with it: every
    triple about it, and about the blank nodes those name in turn (a cycle ends), labels kept."""
    source = Graph()
    outer, inner, other = BNode("outer"), BNode("inner"), BNode("other")
    p, q = URIRef("http://a.example/p"), URIRef("http://a.example/q")
    written = Literal("01", datatype=URIRef("http://www.w3.org/2001/XMLSchema#integer"), normalize=False)
    source.add((outer, p, inner))
    source.add((outer, q, written))
    source.add((inner, p, outer))  # a cycle
    source.add((inner, q, URIRef("http://a.example/o")))
    source.add((other, p, Literal("not reachable")))
    report = Graph()
    assert with_description(source, outer, report) == outer
    assert set(report) == set(source) - {(other, p, Literal("not reachable"))}
    (value,) = report.objects(outer, q)
    assert str(value) == "01"  # the literal as written, not a normalised copy
    named = URIRef("http://a.example/s")
    assert with_description(source, named, Graph()) == named  # an IRI names itself: nothing is copied
    assert with_description(source, BNode("unknown"), report) == BNode("unknown")
    assert len(report) == 4
