"""The corpus of invalid submissions: small, realistic variations of the published data.

Each case is a SPARQL Update applied to a copy of the published graph (relative IRIs resolve against
the base URI), the constraint that must report it (a property shape or a SPARQL constraint, named as
the shapes loader names them) and the focus node it must report. Hand-written hostile files live
next to this module.
"""

from __future__ import annotations

import fcntl
import hashlib
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TypeVar

from rdflib import Graph, URIRef
from rdflib.namespace import RDF

from ceopgraph.config import Settings
from ceopgraph.namespaces import SH
from ceopgraph.validation.bulk import BulkConstraint, split_shapes
from ceopgraph.validation.engine import Validator
from ceopgraph.validation.report import Report, Result
from ceopgraph.validation.shapes import sparql_prefixes

HERE = Path(__file__).resolve().parent

DATASET = "data/annual-review-2012-13"
SAFEGUARDED = f"{DATASET}/children-safeguarded/2012-2013"
SAFEGUARDED_BEFORE = f"{DATASET}/children-safeguarded/2011-2012"
SAFEGUARDED_CHANGE = f"{DATASET}/children-safeguarded-change/2012-2013"
SINCE_LAUNCH = f"{DATASET}/children-protected-since-launch/since-launch-to-2012-2013"
REPORTS = f"{DATASET}/reports-received/2012-2013"
MONTHLY = f"{DATASET}/reports-monthly-mean/2012-2013"
DSD = "def/dsd/annual-review"
ARTICLE = "id/news-item/ceop-annual-review-2012-13"
SEGMENT = f"{ARTICLE}/segment/children-safeguarded"
QUOTE = f"{SEGMENT}/quote"
POSITION = f"{SEGMENT}/position"
CEOP = "id/organisation/ceop"
NCA = "id/organisation/nca"
PERSON = "id/person/peter-davies"
POST = "id/post/ceop-chief-executive"
EVENT = "id/event/ceop-joins-nca"
MEMBERSHIP = "id/membership/ceop-in-nca"
UNIT = "id/organisation/ceop-in-nca"
THREAT_AREAS = "def/threat-area"
THREAT_AREA = "def/threat-area/indecent-images"
GY = "http://reference.data.gov.uk/id/government-year/"
QUOTATION = "id/quotation/past-year"
CLAIM = "id/claim/record-number"
DISTRIBUTION = "data/ceopgraph/distribution/turtle"


# Between the operations of one mutation; each operation is run with its own BASE and PREFIXes.
THEN = "\n;\n"


BLANK_NODE = "_:"  # as a Mutation's focus: any blank node (their labels are not stable)


@dataclass(frozen=True)
class Mutation:
    name: str
    update: str
    shape: str  # the property shape, SPARQL constraint or node shape reported (relative to the base)
    focus: str  # the focus node reported (relative to the base, or absolute)
    severity: str = "Violation"


def _set(subject: str, predicate: str, new: str) -> str:
    """Replace every value of a property."""
    return (
        f"DELETE {{ <{subject}> {predicate} ?old }} INSERT {{ <{subject}> {predicate} {new} }} "
        f"WHERE {{ <{subject}> {predicate} ?old }}"
    )


def _drop(subject: str, predicate: str) -> str:
    return f"DELETE WHERE {{ <{subject}> {predicate} ?old }}"


def _add(triples: str) -> str:
    return f"INSERT DATA {{ {triples} }}"


_ANOTHER_DATASET = f'<data/another-review> a qb:DataSet ; rdfs:label "Another"@en ; qb:structure <{DSD}> .'
_MEASURE_DIMENSION = f"""<{DSD}> qb:component <{DSD}/component/measure-type>, <{DSD}/component/count> .
    <{DSD}/component/measure-type> a qb:ComponentSpecification ; qb:dimension qb:measureType .
    <{DSD}/component/count> a qb:ComponentSpecification ; qb:measure <def/measure/count> .
    qb:measureType a qb:DimensionProperty ; rdfs:label "measure type"@en ; rdfs:range qb:MeasureProperty .
    <def/measure/count> a qb:MeasureProperty ; rdfs:label "count"@en ."""


def rule(name: str) -> str:
    """A figure-and-words constraint of the observation shape, by its short name."""
    return f"def/shapes/ObservationShape/{name}-in-words"


_COPY = f"{DATASET}/children-safeguarded/2013-2014"
_COPIED_790 = (
    f"INSERT {{ <{_COPY}> ?p ?o }} WHERE {{ <{SAFEGUARDED}> ?p ?o "
    "FILTER (?p NOT IN (sdmx-dimension:refPeriod, sdmx-measure:obsValue)) }"
    + THEN
    + _add(f"<{_COPY}> sdmx-dimension:refPeriod <{GY}2013-2014> ; sdmx-measure:obsValue 900 .")
)

# A new article, one segment of its words and one reported figure citing them (statistic: reports
# received, period 2013-2014, a period the published data has no figure for), to try renderings of
# a number and a period the published words do not have.
_NEW_ARTICLE = "id/news-item/words-tried"
_CITED = f"{DATASET}/reports-received/2013-2014"


def _cited(value: str, unit: str, words: str, lexical: str = "xsd:integer") -> str:
    """The new article saying ``words``, and a reported figure of ``value`` in ``unit`` citing them all."""
    segment, text = f"{_NEW_ARTICLE}/segment/figure", words.replace('"', "")
    return _add(
        f"""<{_NEW_ARTICLE}> a schema:NewsArticle ; rdfs:label "Words tried"@en ; schema:text "{text}" .
        <{segment}> a oa:SpecificResource ; oa:hasSource <{_NEW_ARTICLE}> ;
            oa:hasSelector <{segment}/quote>, <{segment}/position> .
        <{segment}/quote> a oa:TextQuoteSelector ; oa:exact "{text}" .
        <{segment}/position> a oa:TextPositionSelector ; oa:start 0 ; oa:end {len(text)} .
        <{_CITED}> a qb:Observation ; rdfs:label "Figure tried"@en ; qb:dataSet <{DATASET}> ;
            dimension:statistic <def/statistic/reports-received> ; sdmx-dimension:refPeriod <{GY}2013-2014> ;
            sdmx-measure:obsValue "{value}"^^{lexical} ; sdmx-attribute:unitMeasure <def/unit/{unit}> ;
            attribute:precision <def/precision/exact> ; attribute:figure-status <def/figure-status/reported> ;
            prov:wasDerivedFrom <{segment}> ."""
    )


MUTATIONS: list[Mutation] = [
    # Observations (the figures)
    Mutation(
        "figure-as-string",
        _set(SAFEGUARDED, "sdmx-measure:obsValue", '"790"'),
        "def/shapes/ObservationShape/obsValue",
        SAFEGUARDED,
    ),
    Mutation(
        "two-values",
        _add(f"<{SAFEGUARDED}> sdmx-measure:obsValue 791 ."),
        "def/shapes/ObservationShape/obsValue",
        SAFEGUARDED,
    ),
    Mutation(
        "negative-count",
        _set(SAFEGUARDED, "sdmx-measure:obsValue", "-790"),
        "def/shapes/ObservationShape/count-not-negative",
        SAFEGUARDED,
    ),
    Mutation(
        "missing-period",
        _drop(SAFEGUARDED, "sdmx-dimension:refPeriod"),
        "def/shapes/ObservationShape/refPeriod",
        SAFEGUARDED,
    ),
    Mutation(
        "missing-statistic",
        _drop(SAFEGUARDED, "dimension:statistic"),
        "def/shapes/ObservationShape/statistic",
        SAFEGUARDED,
    ),
    Mutation(
        "unit-outside-list",
        _set(SAFEGUARDED, "sdmx-attribute:unitMeasure", "<def/unit/kilogram>"),
        "def/shapes/ObservationShape/unitMeasure",
        SAFEGUARDED,
    ),
    Mutation(
        "missing-precision",
        _drop(SAFEGUARDED, "attribute:precision"),
        "def/shapes/ObservationShape/precision",
        SAFEGUARDED,
    ),
    Mutation(
        "status-outside-list",
        _set(SAFEGUARDED, "attribute:figure-status", "<def/figure-status/estimated>"),
        "def/shapes/ObservationShape/figure-status",
        SAFEGUARDED,
    ),
    Mutation(
        "two-ranges",
        _add(
            f"<{MONTHLY}> attribute:value-range <{MONTHLY}/other-range> . "
            f"<{MONTHLY}/other-range> a schema:QuantitativeValue ; "
            "schema:minValue 1500 ; schema:maxValue 1700 ."
        ),
        "def/shapes/ObservationShape/value-range",
        MONTHLY,
    ),
    Mutation(
        "comparison-period-as-text",
        _set(SAFEGUARDED_CHANGE, "attribute:comparison-period", '"2011-2012"'),
        "def/shapes/ObservationShape/comparison-period",
        SAFEGUARDED_CHANGE,
    ),
    Mutation(
        "derivation-with-language",
        _set(SAFEGUARDED_BEFORE, "attribute:derivation", '"790 / 1.85"@en'),
        "def/shapes/ObservationShape/derivation",
        SAFEGUARDED_BEFORE,
    ),
    Mutation(
        "dataset-not-a-dataset",
        _set(SAFEGUARDED, "qb:dataSet", f"<{ARTICLE}>"),
        "def/shapes/ObservationShape/dataSet",
        SAFEGUARDED,
    ),
    Mutation(
        "observation-without-label",
        _drop(SAFEGUARDED, "rdfs:label"),
        "def/shapes/ObservationShape/label",
        SAFEGUARDED,
        "Warning",
    ),
    Mutation(
        "derived-without-derivation",
        _drop(SAFEGUARDED_BEFORE, "attribute:derivation"),
        "def/shapes/ObservationShape/derived-has-derivation",
        SAFEGUARDED_BEFORE,
    ),
    # Figures agree with their words: a reported figure cites words that contain its value and its
    # period; a derived one names its inputs (FIGURES_AGREEING below: what these rules must accept)
    Mutation(
        "reported-without-words",
        _drop(SAFEGUARDED, "prov:wasDerivedFrom"),
        "def/shapes/ObservationShape/reported-cites-words",
        SAFEGUARDED,
    ),
    Mutation(
        "reported-citing-a-figure",
        _set(SAFEGUARDED, "prov:wasDerivedFrom", f"<{SAFEGUARDED_CHANGE}>"),
        "def/shapes/ObservationShape/reported-cites-words",
        SAFEGUARDED,
    ),
    Mutation(
        "derived-without-inputs",
        _drop(SAFEGUARDED_BEFORE, "prov:wasDerivedFrom"),
        "def/shapes/ObservationShape/derived-has-inputs",
        SAFEGUARDED_BEFORE,
    ),
    Mutation(
        "derived-from-words-only",
        _set(SAFEGUARDED_BEFORE, "prov:wasDerivedFrom", f"<{SEGMENT}>"),
        "def/shapes/ObservationShape/derived-has-inputs",
        SAFEGUARDED_BEFORE,
    ),
    # The example: the 790 figure copied, only its period (2013-2014) and value (900) changed
    Mutation("copied-figure-other-value", _COPIED_790, "def/shapes/ObservationShape/value-in-words", _COPY),
    Mutation("copied-figure-other-period", _COPIED_790, "def/shapes/ObservationShape/period-in-words", _COPY),
    Mutation(
        "value-not-in-words",
        _set(SAFEGUARDED, "sdmx-measure:obsValue", "900"),
        "def/shapes/ObservationShape/value-in-words",
        SAFEGUARDED,
    ),
    *(
        Mutation(f"value-{name}", _set(node, "sdmx-measure:obsValue", value), rule("value"), node)
        for name, node, value in (
            ("end-of-a-number", SAFEGUARDED, "90"),  # "790"
            ("start-of-a-number", SAFEGUARDED, "79"),  # "790"
            ("group-of-a-number", SINCE_LAUNCH, "255"),  # "2,255"
            ("first-group-of-a-number", SINCE_LAUNCH, "2"),  # "2,255"
            ("grouped-wrongly", REPORTS, "188870"),  # "18,887"
            ("with-a-fraction", SAFEGUARDED_CHANGE, "85.5"),  # "85%"
        )
    ),
    Mutation(
        "count-quoted-as-percentage",
        _set(SAFEGUARDED_CHANGE, "sdmx-attribute:unitMeasure", "<def/unit/child>"),
        "def/shapes/ObservationShape/value-in-words",
        SAFEGUARDED_CHANGE,
    ),
    Mutation(
        "percentage-quoted-as-count",
        _set(SAFEGUARDED, "sdmx-attribute:unitMeasure", "<def/unit/percent>"),
        "def/shapes/ObservationShape/value-in-words",
        SAFEGUARDED,
    ),
    Mutation(
        "period-not-in-words",
        _set(SAFEGUARDED, "sdmx-dimension:refPeriod", f"<{GY}2011-2012>"),
        "def/shapes/ObservationShape/period-in-words",
        SAFEGUARDED,
    ),
    *(
        Mutation(f"words-{name}", _cited(value, unit, words), rule(kind), _CITED)
        for name, kind, value, unit, words in (
            ("within-a-larger-number", "value", "790", "report", "There were 1,790 children in 2013/14"),
            ("within-a-longer-number", "value", "790", "report", "There were 7900 children in 2013/14"),
            ("within-a-thousands-figure", "value", "790", "report", "There were 790,000 children in 2013/14"),
            ("with-a-decimal-part", "value", "790", "report", "The mean was 790.5 children in 2013/14"),
            ("as-percentage-of-a-count", "value", "790", "report", "A rise of 790% in 2013/14"),
            ("as-count-of-a-percentage", "value", "85", "percent", "There were 85 more in 2013/14"),
            ("grouped-elsewhere", "value", "1600", "report", "There were 16,00 children in 2013/14"),
            ("period-short-form", "period", "790", "report", "There were 790 children in 2012/13"),
            ("period-other-end", "period", "790", "report", "There were 790 children in 2013/2015"),
            ("period-with-dash", "period", "790", "report", "There were 790 children in 2014-15"),
        )
    ),
    Mutation(
        "iri-not-from-dimensions",  # the monthly mean's words state no period: only its IRI is wrong
        _set(MONTHLY, "sdmx-dimension:refPeriod", f"<{GY}2013-2014>"),
        "def/shapes/ObservationIriShape/sparql",
        MONTHLY,
        "Warning",
    ),
    Mutation(
        "rounded-without-range",
        _drop(SAFEGUARDED_CHANGE, "attribute:value-range"),
        "def/shapes/RoundedHasRangeShape/sparql",
        SAFEGUARDED_CHANGE,
        "Warning",
    ),
    Mutation(
        "value-outside-its-range",
        _set(MONTHLY, "sdmx-measure:obsValue", "1700"),
        "def/shapes/RoundedValueRangeShape/sparql",
        MONTHLY,
    ),
    Mutation(
        "inconsistent-monthly-mean",
        _set(MONTHLY, "sdmx-measure:obsValue", "2000")
        + THEN
        + _set(f"{MONTHLY}/value-range", "schema:minValue", "1950")
        + THEN
        + _set(f"{MONTHLY}/value-range", "schema:maxValue", "2050"),
        "def/shapes/MonthlyMeanShape/sparql",
        MONTHLY,
    ),
    Mutation(
        "cumulative-below-a-year",
        _set(SINCE_LAUNCH, "sdmx-measure:obsValue", "700"),
        "def/shapes/CumulativeCountShape/sparql",
        SINCE_LAUNCH,
    ),
    Mutation(
        "inconsistent-percentage-change",
        _set(SAFEGUARDED_BEFORE, "sdmx-measure:obsValue", "500")
        + THEN
        + _set(f"{SAFEGUARDED_BEFORE}/value-range", "schema:minValue", "499")
        + THEN
        + _set(f"{SAFEGUARDED_BEFORE}/value-range", "schema:maxValue", "501"),
        "def/shapes/PercentageChangeShape/sparql",
        SAFEGUARDED_CHANGE,
    ),
    Mutation(
        "range-upside-down",
        _set(f"{MONTHLY}/value-range", "schema:minValue", "1700"),
        "def/shapes/ValueRangeShape/minValue",
        f"{MONTHLY}/value-range",
    ),
    Mutation(
        "range-maximum-as-text",
        _set(f"{MONTHLY}/value-range", "schema:maxValue", '"1650"'),
        "def/shapes/ValueRangeShape/maxValue",
        f"{MONTHLY}/value-range",
    ),
    Mutation(
        "range-unit-with-language",
        _set(f"{MONTHLY}/value-range", "schema:unitText", '"reports"@en'),
        "def/shapes/ValueRangeShape/unitText",
        f"{MONTHLY}/value-range",
    ),
    # Data Cube integrity constraints
    Mutation("IC-1-no-dataset", _drop(SAFEGUARDED, "qb:dataSet"), "def/shapes/IC-1/sparql", SAFEGUARDED),
    Mutation(
        "IC-1-two-datasets",
        _add(f"<{SAFEGUARDED}> qb:dataSet <data/another-review> . {_ANOTHER_DATASET}"),
        "def/shapes/IC-1/sparql",
        SAFEGUARDED,
    ),
    Mutation("IC-2-no-structure", _drop(DATASET, "qb:structure"), "def/shapes/IC-2/sparql", DATASET),
    Mutation(
        "IC-3-no-measure",
        f"DELETE DATA {{ <{DSD}> qb:component <{DSD}/component/obs-value> }}",
        "def/shapes/IC-3/sparql",
        DSD,
    ),
    Mutation(
        "IC-4-dimension-without-range",
        _drop("def/dimension/statistic", "rdfs:range"),
        "def/shapes/IC-4/sparql",
        "def/dimension/statistic",
    ),
    Mutation(
        "IC-5-coded-dimension-without-code-list",
        _drop("def/dimension/statistic", "qb:codeList"),
        "def/shapes/IC-5/sparql",
        "def/dimension/statistic",
    ),
    Mutation(
        "IC-6-optional-dimension",
        _add(f"<{DSD}/component/statistic> qb:componentRequired false ."),
        "def/shapes/IC-6/sparql",
        DSD,
    ),
    Mutation(
        "IC-11-missing-dimension",
        _drop(SAFEGUARDED, "sdmx-dimension:refPeriod"),
        "def/shapes/IC-11/sparql",
        SAFEGUARDED,
    ),
    Mutation(
        "IC-12-duplicate-observation",
        f"INSERT {{ <{SAFEGUARDED}/again> ?p ?o }} WHERE {{ <{SAFEGUARDED}> ?p ?o }}",
        "def/shapes/IC-12/sparql",
        SAFEGUARDED,
    ),
    Mutation(
        "IC-13-missing-required-attribute",
        _drop(SAFEGUARDED, "attribute:figure-status"),
        "def/shapes/IC-13/sparql",
        SAFEGUARDED,
    ),
    Mutation(
        "IC-14-missing-measure", _drop(SAFEGUARDED, "sdmx-measure:obsValue"), "def/shapes/IC-14/sparql", SAFEGUARDED
    ),
    Mutation(
        "IC-15-measure-type-without-value",
        _add(_MEASURE_DIMENSION + f" <{SAFEGUARDED}> qb:measureType <def/measure/count> ."),
        "def/shapes/IC-15/sparql",
        SAFEGUARDED,
    ),
    Mutation(
        "IC-16-second-measure-value",
        _add(_MEASURE_DIMENSION + f" <{SAFEGUARDED}> qb:measureType sdmx-measure:obsValue ; <def/measure/count> 790 ."),
        "def/shapes/IC-16/sparql",
        SAFEGUARDED,
    ),
    Mutation(
        "IC-17-measure-missing-from-cube",
        _add(_MEASURE_DIMENSION + f" <{SAFEGUARDED}> qb:measureType sdmx-measure:obsValue ."),
        "def/shapes/IC-17/sparql",
        SAFEGUARDED,
    ),
    Mutation(
        "IC-18-slice-of-another-dataset",
        _add(
            f"{_ANOTHER_DATASET} <data/another-review> qb:slice <data/another-review/slice> . "
            f"<data/another-review/slice> qb:observation <{SAFEGUARDED}> ."
        ),
        "def/shapes/IC-18/sparql",
        "data/another-review",
    ),
    Mutation(
        "IC-19-code-outside-its-list",
        _set(SAFEGUARDED, "dimension:statistic", "<def/statistic/children-rescued>"),
        "def/shapes/IC-19/concept-scheme",
        SAFEGUARDED,
    ),
    Mutation(
        "IC-19-code-outside-its-collection",
        _set("def/dimension/statistic", "qb:codeList", "<def/statistic-collection>")
        + THEN
        + _add("<def/statistic-collection> a skos:Collection ; skos:member statistic:children-safeguarded ."),
        "def/shapes/IC-19/collection",
        REPORTS,
    ),
    Mutation(
        "cube-with-slices", _add(f"<{DATASET}> qb:slice <{DATASET}/slice> ."), "def/shapes/DataSetShape/slice", DATASET
    ),
    Mutation("dataset-without-label", _drop(DATASET, "rdfs:label"), "def/shapes/DataSetShape/label", DATASET),
    Mutation(
        "dataset-without-source", _drop(DATASET, "dct:source"), "def/shapes/DataSetShape/source", DATASET, "Warning"
    ),
    Mutation(
        "component-not-a-specification",
        _add(f"<{DSD}> qb:component <{DSD}/component/undeclared> ."),
        "def/shapes/DataStructureShape/component",
        DSD,
    ),
    Mutation(
        "component-dimension-and-measure",
        _add(f"<{DSD}/component/statistic> qb:measure sdmx-measure:obsValue ."),
        "def/shapes/ComponentSpecificationShape",
        f"{DSD}/component/statistic",
    ),
    Mutation(
        "component-order-zero",
        _set(f"{DSD}/component/statistic", "qb:order", "0"),
        "def/shapes/ComponentSpecificationShape/order",
        f"{DSD}/component/statistic",
    ),
    Mutation(
        "component-required-as-text",
        _set(f"{DSD}/component/precision", "qb:componentRequired", '"yes"'),
        "def/shapes/ComponentSpecificationShape/componentRequired",
        f"{DSD}/component/precision",
    ),
    Mutation(
        "attribute-attached-to-dataset",
        _set(f"{DSD}/component/precision", "qb:componentAttachment", "qb:DataSet"),
        "def/shapes/ComponentSpecificationShape/componentAttachment",
        f"{DSD}/component/precision",
    ),
    Mutation(
        "component-without-label",
        _drop("def/attribute/precision", "rdfs:label"),
        "def/shapes/ComponentPropertyShape/label",
        "def/attribute/precision",
    ),
    Mutation(
        "component-code-list-not-a-scheme",
        _set("def/attribute/precision", "qb:codeList", f"<{CEOP}>"),
        "def/shapes/ComponentPropertyShape/codeList",
        "def/attribute/precision",
    ),
    # Provenance
    Mutation(
        "altered-quotation",
        _set(QUOTATION, "schema:text", '"This past year has seen a small increase in the number of reports."@en'),
        "def/shapes/QuotationShape/sparql",
        QUOTATION,
    ),
    Mutation(
        "altered-quote-selector",
        _set(QUOTE, "oa:exact", '"The Centre safeguarded and protected 970 children in 2012/2013"'),
        "def/shapes/TextQuoteSelectorShape/exact-in-source",
        QUOTE,
    ),
    Mutation(
        "altered-quote-prefix",
        _set(QUOTE, "oa:prefix", '"increase the danger to children.\\n"'),
        "def/shapes/TextQuoteSelectorShape/context-in-source",
        QUOTE,
    ),
    Mutation(
        "shifted-selector",
        _set(POSITION, "oa:start", "428") + THEN + _set(POSITION, "oa:end", "490"),
        "def/shapes/TextPositionSelectorShape/selects-exact",
        POSITION,
    ),
    Mutation(
        "one-based-selector",
        _set(POSITION, "oa:start", "428"),
        "def/shapes/TextPositionSelectorShape/selects-exact",
        POSITION,
    ),
    Mutation(
        "selector-past-the-end",
        _set(POSITION, "oa:end", "99999"),
        "def/shapes/TextPositionSelectorShape/selects-exact",
        POSITION,
    ),
    Mutation(
        "start-after-end", _set(POSITION, "oa:start", "500"), "def/shapes/TextPositionSelectorShape/start", POSITION
    ),
    Mutation(
        "negative-start", _set(POSITION, "oa:start", "-1"), "def/shapes/TextPositionSelectorShape/start", POSITION
    ),
    Mutation("end-as-text", _set(POSITION, "oa:end", '"489"'), "def/shapes/TextPositionSelectorShape/end", POSITION),
    Mutation(
        "segment-without-quote-selector",
        f"DELETE DATA {{ <{SEGMENT}> oa:hasSelector <{QUOTE}> }}",
        "def/shapes/SpecificResourceShape/quote-selector",
        SEGMENT,
    ),
    Mutation(
        "segment-without-position-selector",
        f"DELETE DATA {{ <{SEGMENT}> oa:hasSelector <{POSITION}> }}",
        "def/shapes/SpecificResourceShape/position-selector",
        SEGMENT,
    ),
    Mutation(
        "segment-without-source", _drop(SEGMENT, "oa:hasSource"), "def/shapes/SpecificResourceShape/hasSource", SEGMENT
    ),
    Mutation(
        "quote-selector-without-exact", _drop(QUOTE, "oa:exact"), "def/shapes/TextQuoteSelectorShape/exact", QUOTE
    ),
    Mutation(
        "two-prefixes", _add(f'<{QUOTE}> oa:prefix "children.\\n" .'), "def/shapes/TextQuoteSelectorShape/prefix", QUOTE
    ),
    Mutation(
        "suffix-with-language",
        _set(QUOTE, "oa:suffix", '" – an increase of 85% over the p"@en'),
        "def/shapes/TextQuoteSelectorShape/suffix",
        QUOTE,
    ),
    Mutation("article-without-text", _drop(ARTICLE, "schema:text"), "def/shapes/NewsArticleShape/text", ARTICLE),
    Mutation(
        "article-language-in-words",
        _set(ARTICLE, "schema:inLanguage", '"English"'),
        "def/shapes/NewsArticleShape/inLanguage",
        ARTICLE,
    ),
    Mutation("article-without-label", _drop(ARTICLE, "rdfs:label"), "def/shapes/NewsArticleShape/label", ARTICLE),
    Mutation(
        "article-about-an-organisation",
        _add(f"<{ARTICLE}> schema:about <{CEOP}> ."),
        "def/shapes/NewsArticleShape/about",
        ARTICLE,
    ),
    Mutation(
        "quotation-without-language",
        _set(QUOTATION, "schema:text", '"This past year"'),
        "def/shapes/QuotationShape/text",
        QUOTATION,
    ),
    Mutation(
        "quotation-without-speaker", _drop(QUOTATION, "schema:creator"), "def/shapes/QuotationShape/creator", QUOTATION
    ),
    Mutation(
        "quotation-without-article",
        _drop(QUOTATION, "schema:isPartOf"),
        "def/shapes/QuotationShape/isPartOf",
        QUOTATION,
    ),
    Mutation(
        "quotation-without-source-words",
        _drop(QUOTATION, "prov:wasQuotedFrom"),
        "def/shapes/QuotationShape/wasQuotedFrom",
        QUOTATION,
    ),
    Mutation("claim-without-label", _drop(CLAIM, "rdfs:label"), "def/shapes/ClaimShape/label", CLAIM),
    Mutation(
        "claim-text-without-language",
        _set(CLAIM, "schema:text", '"A record number of children"'),
        "def/shapes/ClaimShape/text",
        CLAIM,
    ),
    Mutation("claim-without-appearance", _drop(CLAIM, "schema:appearance"), "def/shapes/ClaimShape/appearance", CLAIM),
    Mutation(
        "claim-without-source-words", _drop(CLAIM, "prov:wasDerivedFrom"), "def/shapes/ClaimShape/wasDerivedFrom", CLAIM
    ),
    Mutation(
        "claim-quantity-as-number", _add(f"<{CLAIM}> ceop:quantity 1000 ."), "def/shapes/ClaimShape/quantity", CLAIM
    ),
    # Organisations, people, the move into the NCA
    Mutation(
        "organisation-name-without-language",
        _set(CEOP, "skos:prefLabel", '"CEOP"'),
        "def/shapes/OrganisationShape/prefLabel",
        CEOP,
    ),
    Mutation(
        "alternative-name-without-language",
        _add(f'<{CEOP}> skos:altLabel "The Centre" .'),
        "def/shapes/OrganisationShape/altLabel",
        CEOP,
    ),
    Mutation(
        "invented-founding-day",
        _set(CEOP, "schema:foundingDate", '"2006-04-24"^^xsd:date'),
        "def/shapes/OrganisationShape/foundingDate",
        CEOP,
    ),
    Mutation(
        "post-that-is-a-person",
        _add(f"<{CEOP}> org:hasPost <{PERSON}> ."),
        "def/shapes/OrganisationShape/hasPost",
        CEOP,
    ),
    Mutation("post-in-no-organisation", _drop(POST, "org:postIn"), "def/shapes/PostShape/postIn", POST),
    Mutation("post-held-by-organisation", _set(POST, "org:heldBy", f"<{NCA}>"), "def/shapes/PostShape/heldBy", POST),
    Mutation("post-without-role", _drop(POST, "org:role"), "def/shapes/PostShape/role", POST),
    Mutation("post-without-label", _drop(POST, "rdfs:label"), "def/shapes/PostShape/label", POST),
    Mutation("person-without-name", _drop(PERSON, "foaf:name"), "def/shapes/PersonShape/name", PERSON),
    Mutation(
        "person-holds-organisation", _set(PERSON, "org:holds", f"<{CEOP}>"), "def/shapes/PersonShape/holds", PERSON
    ),
    Mutation(
        "event-without-original",
        _drop(EVENT, "org:originalOrganization"),
        "def/shapes/ChangeEventShape/originalOrganization",
        EVENT,
    ),
    Mutation(
        "event-result-as-text",
        _set(EVENT, "org:resultingOrganization", '"CEOP"'),
        "def/shapes/ChangeEventShape/resultingOrganization",
        EVENT,
    ),
    Mutation("event-without-time", _drop(EVENT, "time:hasTime"), "def/shapes/ChangeEventShape/hasTime", EVENT),
    Mutation(
        "event-said-to-have-happened",
        _set(EVENT, "ceop:statusAtPublication", "<def/event-status/happened>"),
        "def/shapes/ChangeEventShape/statusAtPublication",
        EVENT,
    ),
    Mutation(
        "membership-without-member", _drop(MEMBERSHIP, "org:member"), "def/shapes/MembershipShape/member", MEMBERSHIP
    ),
    Mutation(
        "membership-in-two-organisations",
        _add(f"<{MEMBERSHIP}> org:organization <{CEOP}> ."),
        "def/shapes/MembershipShape/organization",
        MEMBERSHIP,
    ),
    Mutation(
        "membership-period-as-text",
        _set(MEMBERSHIP, "org:memberDuring", '"from October 2013"'),
        "def/shapes/MembershipShape/memberDuring",
        MEMBERSHIP,
    ),
    Mutation(
        "membership-status-outside-list",
        _set(MEMBERSHIP, "ceop:statusAtPublication", "<def/event-status/done>"),
        "def/shapes/MembershipShape/statusAtPublication",
        MEMBERSHIP,
    ),
    Mutation(
        "interval-without-label",
        _drop(f"{GY}2012-2013", "rdfs:label"),
        "def/shapes/IntervalShape/label",
        f"{GY}2012-2013",
    ),
    Mutation(
        "interval-with-two-beginnings",
        _add(
            f"<{GY}2012-2013> time:hasBeginning "
            "<http://reference.data.gov.uk/id/gregorian-instant/2012-01-01T00:00:00> ."
        ),
        "def/shapes/IntervalShape/hasBeginning",
        f"{GY}2012-2013",
    ),
    Mutation(
        "interval-end-as-text",
        _set(f"{GY}2012-2013", "time:hasEnd", '"31 March 2013"'),
        "def/shapes/IntervalShape/hasEnd",
        f"{GY}2012-2013",
    ),
    Mutation(
        "launch-year-as-text",
        _set("id/period/since-launch-to-2012-2013/beginning", "time:inXSDGYear", '"2006"'),
        "def/shapes/InstantShape/inXSDGYear",
        "id/period/since-launch-to-2012-2013/beginning",
    ),
    Mutation(
        "month-as-date",
        _set(f"{MEMBERSHIP}/period/beginning", "time:inXSDGYearMonth", '"2013-10-01"^^xsd:date'),
        "def/shapes/InstantShape/inXSDGYearMonth",
        f"{MEMBERSHIP}/period/beginning",
    ),
    Mutation(
        "publication-without-name",
        _drop("id/publication/annual-review-2012-13", "schema:name"),
        "def/shapes/ReportShape/name",
        "id/publication/annual-review-2012-13",
    ),
    Mutation(
        "publication-without-publisher",
        _drop("id/publication/annual-review-2012-13", "schema:publisher"),
        "def/shapes/ReportShape/publisher",
        "id/publication/annual-review-2012-13",
    ),
    Mutation(
        "publication-with-two-periods",
        _add(f"<id/publication/annual-review-2012-13> dct:temporal <{GY}2011-2012> ."),
        "def/shapes/ReportShape/temporal",
        "id/publication/annual-review-2012-13",
    ),
    # Code lists and threat areas
    Mutation(
        "code-list-without-name",
        _drop("def/unit", "skos:prefLabel"),
        "def/shapes/ConceptSchemeShape/prefLabel",
        "def/unit",
    ),
    Mutation(
        "code-list-without-codes",
        _drop("def/role", "skos:hasTopConcept"),
        "def/shapes/ConceptSchemeShape/hasTopConcept",
        "def/role",
    ),
    Mutation(
        "concept-with-two-english-names",
        _add('<def/unit/child> skos:prefLabel "kids"@en .'),
        "def/shapes/ConceptShape/prefLabel",
        "def/unit/child",
    ),
    Mutation(
        "concept-in-no-scheme",
        _drop("def/unit/child", "skos:inScheme"),
        "def/shapes/ConceptShape/inScheme",
        "def/unit/child",
    ),
    Mutation(
        "top-concept-not-in-scheme",
        _drop("def/unit/child", "skos:inScheme"),
        "def/shapes/ConceptShape/top-concept-in-scheme",
        "def/unit/child",
    ),
    Mutation(
        "notation-not-a-slug",
        _set("def/unit/child", "skos:notation", '"Child"'),
        "def/shapes/ConceptShape/notation",
        "def/unit/child",
    ),
    Mutation(
        "concept-without-definition",
        _drop("def/unit/child", "skos:definition"),
        "def/shapes/ConceptShape/definition",
        "def/unit/child",
        "Warning",
    ),
    Mutation(
        "statistic-without-notation",
        _drop("def/statistic/reports-received", "skos:notation"),
        "def/shapes/StatisticShape/notation",
        "def/statistic/reports-received",
    ),
    Mutation(
        "statistic-in-another-list",
        _set("def/statistic/reports-received", "skos:inScheme", "<def/unit>"),
        "def/shapes/StatisticShape/inScheme",
        "def/statistic/reports-received",
    ),
    Mutation(
        "threat-area-numbered-in-words",
        _set("def/threat-area/online-exploitation", "skos:notation", '"two"'),
        "def/shapes/ThreatAreasShape/path",
        "def/threat-area",
    ),
    # Dataset metadata and vocabulary
    Mutation(
        "dataset-without-licence",
        _drop("data/ceopgraph", "dct:license"),
        "def/shapes/DcatDatasetShape/license",
        "data/ceopgraph",
    ),
    Mutation(
        "dataset-without-publisher",
        _drop("data/ceopgraph", "dct:publisher"),
        "def/shapes/DcatDatasetShape/publisher",
        "data/ceopgraph",
    ),
    Mutation(
        "dataset-title-without-language",
        _set("data/ceopgraph", "dct:title", '"CEOP"'),
        "def/shapes/DcatDatasetShape/title",
        "data/ceopgraph",
    ),
    Mutation(
        "distribution-not-a-distribution",
        _add(f"<data/ceopgraph> dcat:distribution <{ARTICLE}> ."),
        "def/shapes/DcatDatasetShape/distribution",
        "data/ceopgraph",
    ),
    Mutation(
        "negative-triple-count",
        _set("data/ceopgraph", "void:triples", "-1"),
        "def/shapes/VoidDatasetShape/triples",
        "data/ceopgraph",
    ),
    Mutation(
        "distribution-without-download",
        _drop(DISTRIBUTION, "dcat:downloadURL"),
        "def/shapes/DistributionShape/downloadURL",
        DISTRIBUTION,
    ),
    Mutation(
        "media-type-as-text",
        _set(DISTRIBUTION, "dcat:mediaType", '"text/turtle"'),
        "def/shapes/DistributionShape/mediaType",
        DISTRIBUTION,
    ),
    Mutation(
        "distribution-without-licence",
        _drop(DISTRIBUTION, "dct:license"),
        "def/shapes/DistributionShape/license",
        DISTRIBUTION,
    ),
    Mutation(
        "service-without-endpoint",
        _drop("id/service/sparql", "dcat:endpointURL"),
        "def/shapes/DataServiceShape/endpointURL",
        "id/service/sparql",
    ),
    Mutation(
        "service-serving-nothing",
        _drop("id/service/sparql", "dcat:servesDataset"),
        "def/shapes/DataServiceShape/servesDataset",
        "id/service/sparql",
    ),
    Mutation(
        "term-without-label",
        _drop("def/ceop/Claim", "rdfs:label"),
        "def/shapes/VocabularyTermShape/label",
        "def/ceop/Claim",
        "Warning",
    ),
    Mutation(
        "term-without-comment",
        _drop("def/ceop/Claim", "rdfs:comment"),
        "def/shapes/VocabularyTermShape/comment",
        "def/ceop/Claim",
        "Warning",
    ),
    Mutation(
        "term-without-definition-link",
        _drop("def/ceop/Claim", "rdfs:isDefinedBy"),
        "def/shapes/VocabularyTermShape/isDefinedBy",
        "def/ceop/Claim",
        "Warning",
    ),
    # Things other datasets must be able to link to: IRIs, never blank nodes (sh:nodeKind on the node shape)
    Mutation(
        "organisation-as-blank-node",
        _add('[] a org:FormalOrganization ; skos:prefLabel "An unnamed body"@en .'),
        "def/shapes/OrganisationShape",
        BLANK_NODE,
    ),
    Mutation(
        "interval-as-blank-node",
        _add('[] a time:ProperInterval ; rdfs:label "Some period"@en .'),
        "def/shapes/IntervalShape",
        BLANK_NODE,
    ),
    Mutation(
        "news-article-as-blank-node",
        _add('[] a schema:NewsArticle ; rdfs:label "Another news item"@en .'),
        "def/shapes/NewsArticleShape",
        BLANK_NODE,
    ),
    Mutation(
        "dataset-as-blank-node",
        _add(f'[] a qb:DataSet ; rdfs:label "Another review"@en ; qb:structure <{DSD}> .'),
        "def/shapes/DataSetShape",
        BLANK_NODE,
    ),
    Mutation(
        "observation-as-blank-node",
        _add(f"[] a qb:Observation ; qb:dataSet <{DATASET}> ."),
        "def/shapes/ObservationShape",
        BLANK_NODE,
    ),
    Mutation(
        "code-list-as-blank-node",
        _add('[] a skos:ConceptScheme ; skos:prefLabel "A code list"@en .'),
        "def/shapes/ConceptSchemeShape",
        BLANK_NODE,
    ),
    Mutation(
        "concept-as-blank-node",
        _add('[] a skos:Concept ; skos:prefLabel "A code"@en .'),
        "def/shapes/ConceptShape",
        BLANK_NODE,
    ),
    # The organisational unit the move results in
    Mutation("unit-without-name", _drop(UNIT, "skos:prefLabel"), "def/shapes/OrganisationalUnitShape/prefLabel", UNIT),
    Mutation(
        "unit-of-nothing",
        _drop(UNIT, "org:unitOf") + THEN + _drop(NCA, "org:hasUnit"),
        "def/shapes/OrganisationalUnitShape/unitOf",
        UNIT,
    ),
    Mutation(
        "unit-said-to-exist",
        _set(UNIT, "ceop:statusAtPublication", "<def/event-status/happened>"),
        "def/shapes/OrganisationalUnitShape/statusAtPublication",
        UNIT,
    ),
    Mutation(
        "unit-as-blank-node",
        _add('[] a org:OrganizationalUnit ; skos:prefLabel "A unit"@en ; org:unitOf <id/organisation/nca> .'),
        "def/shapes/OrganisationalUnitShape",
        BLANK_NODE,
    ),
    # A node that has lost its type is still caught by what its properties imply
    *(
        Mutation(f"untyped-{name}", f"DELETE DATA {{ <{node}> a {cls} }}", f"def/shapes/{shape}", node)
        for name, node, cls, shape in (
            ("organisation", CEOP, "org:FormalOrganization", "OrganisationTypeShape"),
            ("unit", UNIT, "org:OrganizationalUnit", "OrganisationalUnitTypeShape"),
            ("post", POST, "org:Post", "PostTypeShape"),
            ("person", PERSON, "foaf:Person", "PersonTypeShape"),
            ("change-event", EVENT, "org:ChangeEvent", "ChangeEventTypeShape"),
            ("membership", MEMBERSHIP, "org:Membership", "MembershipTypeShape"),
            ("observation", SAFEGUARDED, "qb:Observation", "ObservationTypeShape"),
            ("dataset", DATASET, "qb:DataSet", "DataSetTypeShape"),
            ("structure", DSD, "qb:DataStructureDefinition", "DataStructureDefinitionTypeShape"),
            ("code-list", THREAT_AREAS, "skos:ConceptScheme", "ConceptSchemeTypeShape"),
            ("code", THREAT_AREA, "skos:Concept", "ConceptTypeShape"),
            ("segment", SEGMENT, "oa:SpecificResource", "SpecificResourceTypeShape"),
            ("quote-selector", QUOTE, "oa:TextQuoteSelector", "TextQuoteSelectorTypeShape"),
            ("position-selector", POSITION, "oa:TextPositionSelector", "TextPositionSelectorTypeShape"),
            ("distribution", DISTRIBUTION, "dcat:Distribution", "DistributionTypeShape"),
        )
    ),
]


@dataclass(frozen=True)
class Variant:
    """A change to the published data that must still conform: the other direction of a rule."""

    name: str
    update: str


# What the figure-and-words rules must accept: the renderings of a number and a period people write.
FIGURES_AGREEING: list[Variant] = [
    *(
        Variant(f"words-{name}", _cited(value, unit, words, lexical))
        for name, value, unit, words, lexical in (
            ("ungrouped", "1600", "report", "There were 1600 children in 2013/14", "xsd:integer"),
            ("grouped-millions", "1234567", "report", "In 2013-2014: 1,234,567 reports", "xsd:integer"),
            ("at-the-start", "790", "report", "790 children were safeguarded in 2013/2014", "xsd:integer"),
            ("before-a-full-stop", "790", "report", "In 2013/14 the count was 790.", "xsd:integer"),
            ("before-a-comma", "790", "report", "In 2013/14, 790, the most yet", "xsd:integer"),
            ("per-cent", "85", "percent", "A rise of 85 per cent in 2013/14", "xsd:decimal"),
            ("percent", "85", "percent", "A rise of 85 Percent in 2013/14", "xsd:decimal"),
            ("percent-sign-spaced", "85", "percent", "A rise of 85 % in 2013/14", "xsd:decimal"),
            ("decimal-percentage", "12.5", "percent", "A rise of 12.5% in 2013/14", "xsd:decimal"),
            ("negative-change", "-14", "percent", "A fall of 14% in 2013/14", "xsd:decimal"),
            ("whole-with-a-decimal-zero", "48", "percent", "Up 48.0 per cent in 2013/14", "xsd:decimal"),
            ("fraction-with-a-trailing-zero", "12.5", "percent", "Up 12.50% in 2013/14", "xsd:decimal"),
            ("period-with-en-dash", "790", "report", "There were 790 children in 2013–14", "xsd:integer"),
            ("period-spaced", "790", "report", "There were 790 children in 2013 / 2014", "xsd:integer"),
            ("two-periods-one-its-own", "790", "report", "790 in 2013/14, up from 427 in 2012/13", "xsd:integer"),
            ("no-period", "790", "report", "The Centre safeguarded 790 children", "xsd:integer"),
        )
    ),
    # A derived figure says nothing in words: only its derivation and its inputs are required
    Variant(
        "derived-figure-of-other-value",
        _set(SAFEGUARDED_BEFORE, "sdmx-measure:obsValue", "426"),  # within its range, 426 to 428
    ),
]


def absolute(settings: Settings, iri: str) -> str:
    """A corpus IRI (relative to the base, or absolute) as an absolute IRI."""
    return iri if iri.startswith("http") else settings.base_uri + iri


def mutate(union: Graph, settings: Settings, update: str) -> Graph:
    """A copy of ``union`` with a mutation's update applied (each operation with the base and our
    prefixes); the update must change something."""
    copy = Graph()
    copy += union
    prologue = f"BASE <{settings.base_uri}>\n" + "".join(
        f"PREFIX {p}: <{ns}>\n" for p, ns in sparql_prefixes(settings.scheme).items()
    )
    before = set(copy)
    for operation in update.split(THEN):
        copy.update(prologue + operation)
    assert set(copy) != before, "the mutation changed nothing"
    return copy


PUBLISHED = "published"  # as a corpus case: the published data itself, unchanged

# What a node shape carries besides its constraints: what it is, whom it targets (SHACL 2.1.3), how it
# reports (2.1.4, 2.1.5) and whether it runs (2.1.6). The reference shapes keep these and the constraints.
_SHAPE_KEPT: tuple[URIRef, ...] = (RDF.type, SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)
_SHAPE_KEPT += (SH.target, SH.severity, SH.message, SH.deactivated)


def reference_shapes(shapes: Graph, constraints: tuple[BulkConstraint, ...]) -> Graph:
    """The shapes graph cut down to ``constraints`` (the SHACL-SPARQL constraints the bulk path takes):
    their node shapes with their targets, each constraint with its query and prefix declarations. Run
    by pySHACL alone (``Validator.of(..., bulk=False)``) it pre-binds ``$this`` once per focus node,
    the reference the bulk run is compared with, without running the other constraints a second time."""
    kept = Graph()
    for prefix, namespace in shapes.namespaces():
        kept.bind(prefix, namespace, override=True, replace=True)
    for constraint in constraints:
        kept += ((constraint.shape, p, o) for p in _SHAPE_KEPT for o in shapes.objects(constraint.shape, p))
        kept.add((constraint.shape, SH.sparql, constraint.constraint))
        kept += shapes.cbd(constraint.constraint)
        for declarations in shapes.objects(constraint.constraint, SH.prefixes):  # each sh:declare is an IRI
            kept += ((declarations, SH.declare, d) for d in shapes.objects(declarations, SH.declare))
            kept += (t for d in shapes.objects(declarations, SH.declare) for t in shapes.cbd(d))
    return kept


_Made = TypeVar("_Made")


def _frozen(graph: Graph) -> tuple[object, list[tuple[str, str]], list[tuple[object, object, object]]]:
    """A graph as plain values: rdflib's own pickling drops the prefixes a report is written with."""
    return graph.identifier, [(prefix, str(namespace)) for prefix, namespace in graph.namespaces()], list(graph)


def _thawed(frozen: tuple[object, list[tuple[str, str]], list[tuple[object, object, object]]]) -> Graph:
    identifier, namespaces, triples = frozen
    graph = Graph(identifier=identifier, bind_namespaces="none")  # type: ignore[arg-type]
    for prefix, namespace in namespaces:
        graph.bind(prefix, namespace, override=True, replace=True)
    graph += triples  # type: ignore[arg-type]
    return graph


@dataclass
class Corpus:
    """Each case's data and report, made once per run: the shapes tests, the comparison of the bulk
    SPARQL constraints with pySHACL alone, and the report and service tests all read them.

    ``shared`` is a folder every process of a parallel run sees: the first process to need a case's data
    or report makes it (under a lock) and writes it there, and the others read it, so a case is
    validated once per run however the test files are spread over processes. Without it (one process)
    the cases are kept in memory only."""

    union: Graph
    shapes: Graph
    settings: Settings
    shared: Path | None = None
    _data: dict[str, Graph] = field(default_factory=dict)
    _reports: dict[str, Report] = field(default_factory=dict)

    def data(self, name: str) -> Graph:
        """The published data (``PUBLISHED``) or the mutation (or agreeing variant) of that name (its blank
        nodes the same on every call and in every process, so that two reports on it name the same nodes)."""
        if name == PUBLISHED:
            return self.union
        if name not in self._data:
            self._data[name] = _thawed(self._once(f"data-{name}", lambda: _frozen(self._mutated(name))))
        return self._data[name]

    def _mutated(self, name: str) -> Graph:
        updates = {m.name: m.update for m in MUTATIONS} | {v.name: v.update for v in FIGURES_AGREEING}
        return mutate(self.union, self.settings, updates[name])

    def report(self, name: str) -> Report:
        """The case's validation report, by the engine every caller uses (``Validator``)."""
        if name not in self._reports:

            def made() -> tuple[Report, object]:
                report = self._validator.validate(self.data(name))
                return replace(report, graph=Graph()), _frozen(report.graph)

            report, graph = self._once(f"report-{name}", made)
            self._reports[name] = replace(report, graph=_thawed(graph))  # type: ignore[arg-type]
        return self._reports[name]

    def _once(self, key: str, make: Callable[[], _Made]) -> _Made:
        """``make()``, or what another process of the run made for ``key``."""
        if self.shared is None:
            return make()
        stem = self.shared / hashlib.sha256(key.encode()).hexdigest()
        made = stem.with_suffix(".pickle")
        with stem.with_suffix(".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            if made.exists():
                return pickle.loads(made.read_bytes())
            value = make()
            written = stem.with_suffix(".partial")
            written.write_bytes(pickle.dumps(value))
            written.replace(made)
            return value

    @cached_property
    def bulk(self) -> tuple[BulkConstraint, ...]:
        """The SHACL-SPARQL constraints the engine runs in bulk."""
        return split_shapes(self.shapes).bulk

    @cached_property
    def _validator(self) -> Validator:
        return Validator.of(self.shapes)

    @cached_property
    def _reference(self) -> Validator:
        return Validator.of(reference_shapes(self.shapes, self.bulk), bulk=False)

    def reference(self, name: str) -> tuple[Result, ...]:
        """The results of the bulk constraints on the case's data, run by pySHACL alone instead: once per
        focus node, ``$this`` pre-bound (SHACL 5.3.1)."""
        taken = {str(c.constraint) for c in self.bulk}
        report = self._reference.validate(self.data(name))
        return tuple(r for r in report.results if r.source_constraint in taken)
