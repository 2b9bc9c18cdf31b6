"""The reconciliation service (Reconciliation Service API 0.2), driven as OpenRefine drives it: the
manifest, batches of queries by GET and POST, typed queries and property constraints, the preview, the
suggest services, data extension and its property proposals. Every answer's JSON is checked against the
specification's field rules (``tests/reconcile_schemas.py``); every bad input is a 400 saying where."""

from __future__ import annotations

import json
import time
from typing import Any

import jsonschema
import pytest
from flask import Flask
from flask.testing import FlaskClient
from rdflib import Literal as RdfLiteral
from rdflib import URIRef
from rdflib.namespace import RDFS
from werkzeug.test import TestResponse

from ceopgraph import reconcile
from ceopgraph.config import Settings
from ceopgraph.web import services

from . import reconcile_schemas as schemas


@pytest.fixture(scope="module")
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="module")
def base(settings: Settings) -> str:
    return settings.scheme.base


ORG = "http://www.w3.org/ns/org#"
OBSERVATION = "http://purl.org/linked-data/cube#Observation"


def valid(response: TestResponse, schema: schemas.Schema) -> Any:
    """The answer's JSON, after checking it is a 200 in JSON, readable from any origin, of ``schema``'s shape."""
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    body = response.get_json()
    jsonschema.validate(body, schema)
    return body


def post_queries(client: FlaskClient, queries: dict[str, Any]) -> Any:
    return valid(client.post("/reconcile", data={"queries": json.dumps(queries)}), schemas.RESULT_BATCH)


def refused(response: TestResponse, *words: str) -> str:
    """A 400 in plain text naming what is wrong, with no trace of the code, readable from any origin."""
    text = response.get_data(as_text=True)
    assert response.status_code == 400, text
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Traceback" not in text and 'File "' not in text
    for word in words:
        assert word in text, text
    return text


# The manifest --------------------------------------------------------------------------------------------


def test_the_manifest_names_the_services_openrefine_uses(client: FlaskClient, base: str) -> None:
    manifest = valid(client.get("/reconcile"), schemas.MANIFEST)
    assert manifest["versions"] == ["0.2"]
    assert manifest["identifierSpace"] == base
    names = {t["name"] for t in manifest["defaultTypes"]}
    assert {"Organisation", "Person", "Post", "Figure", "Statistic", "Key threat area", "Quotation", "Period"} <= names
    assert manifest["view"]["url"] == "{{id}}"  # our IRIs dereference
    assert manifest["preview"]["url"] == f"{base}reconcile/preview?id={{{{id}}}}"
    for kind in ("entity", "type", "property"):
        suggest = manifest["suggest"][kind]
        assert suggest["service_url"] + suggest["service_path"] == f"{base}reconcile/suggest/{kind}"
    proposal = manifest["extend"]["propose_properties"]
    assert proposal["service_url"] + proposal["service_path"] == f"{base}reconcile/properties"


def test_a_preflight_for_a_post_is_answered(client: FlaskClient) -> None:
    headers = {"Origin": "https://refine.example", "Access-Control-Request-Method": "POST"}
    response = client.options("/reconcile", headers=headers)
    assert response.status_code == 204
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in response.headers["Access-Control-Allow-Headers"]
    assert response.headers["Access-Control-Allow-Origin"] == "*"


# Queries -------------------------------------------------------------------------------------------------


def test_a_batch_by_post_matches_names_and_alternative_names(client: FlaskClient, base: str) -> None:
    answer = post_queries(
        client,
        {"q0": {"query": "CEOP"}, "q1": {"query": "national crime agency"}, "q2": {"query": "Peter Davies"}},
    )
    assert set(answer) == {"q0", "q1", "q2"}
    first = {key: value["result"][0] for key, value in answer.items()}
    assert first["q0"]["id"] == f"{base}id/organisation/ceop"  # by its alternative name
    assert first["q1"]["id"] == f"{base}id/organisation/nca"
    assert first["q2"]["id"] == f"{base}id/person/peter-davies"
    assert all(candidate["match"] for candidate in first.values())
    assert first["q0"]["type"] == [{"id": f"{ORG}FormalOrganization", "name": "Organisation"}]
    # Only the first candidate, the one exact name, is a match.
    assert not any(c["match"] for c in answer["q0"]["result"][1:])


def test_a_batch_by_get_answers_as_by_post(client: FlaskClient) -> None:
    queries = {"q0": {"query": "National Crime Agency", "limit": 3}}
    by_get = valid(client.get("/reconcile", query_string={"queries": json.dumps(queries)}), schemas.RESULT_BATCH)
    assert by_get == post_queries(client, queries)


def test_case_and_accents_are_folded(client: FlaskClient, base: str) -> None:
    answer = post_queries(client, {"q0": {"query": "  NATIONAL  crime ÁGENCY "}})
    top = answer["q0"]["result"][0]
    assert (top["id"], top["match"]) == (f"{base}id/organisation/nca", True)


def test_a_partial_name_is_a_candidate_but_not_a_match(client: FlaskClient, base: str) -> None:
    answer = post_queries(client, {"q0": {"query": "Online Protection Centre"}})
    top = answer["q0"]["result"][0]
    assert top["id"] == f"{base}id/organisation/ceop"
    assert not top["match"] and top["score"] < 100


def test_a_type_restricts_the_candidates(client: FlaskClient, base: str) -> None:
    post = f"{ORG}Post"
    answer = post_queries(client, {"q0": {"query": "CEOP", "type": post}})
    assert [c["id"] for c in answer["q0"]["result"]] == [f"{base}id/post/ceop-chief-executive"]
    # With "should" the type ranks, and the others follow.
    ranked = post_queries(client, {"q0": {"query": "CEOP chief executive", "type": post, "type_strict": "should"}})
    ids = [c["id"] for c in ranked["q0"]["result"]]
    assert ids[0] == f"{base}id/post/ceop-chief-executive" and len(ids) > 1
    # A blank type is no type.
    blank = post_queries(client, {"q0": {"query": "CEOP", "type": ""}})
    assert blank["q0"]["result"][0]["id"] == f"{base}id/organisation/ceop"
    # An organisation by its label and type.
    orgs = post_queries(
        client, {"q0": {"query": "Child Exploitation and Online Protection Centre", "type": f"{ORG}FormalOrganization"}}
    )
    assert [(c["id"], c["match"]) for c in orgs["q0"]["result"]] == [(f"{base}id/organisation/ceop", True)]


def test_a_figure_by_its_period(client: FlaskClient, base: str) -> None:
    figure = f"{base}data/annual-review-2012-13/children-safeguarded/"
    query = {"query": "Children safeguarded and protected", "type": OBSERVATION}
    this_year = post_queries(client, {"q0": {**query, "properties": [{"pid": "period", "v": "2012-2013"}]}})
    last_year = post_queries(client, {"q0": {**query, "properties": [{"pid": "period", "v": "2011-2012"}]}})
    assert this_year["q0"]["result"][0]["id"] == f"{figure}2012-2013"
    assert last_year["q0"]["result"][0]["id"] == f"{figure}2011-2012"
    # A period by its id, a value by its number: constraints alone find the figure.
    by_id = {"pid": "period", "v": {"id": "http://reference.data.gov.uk/id/government-year/2012-2013"}}
    alone = post_queries(client, {"q0": {"properties": [by_id, {"pid": "value", "v": 790}], "type": OBSERVATION}})
    assert alone["q0"]["result"][0]["id"] == f"{figure}2012-2013"
    # A contradicted constraint lowers the score.
    wrong = post_queries(client, {"q0": {**query, "properties": [{"pid": "value", "v": "1"}]}})
    right = post_queries(client, {"q0": {**query, "properties": [{"pid": "value", "v": "790"}]}})
    scores = {c["id"]: c["score"] for c in wrong["q0"]["result"]}
    assert right["q0"]["result"][0]["id"] == f"{figure}2012-2013"
    assert right["q0"]["result"][0]["score"] > scores[f"{figure}2012-2013"]


def test_an_organisation_by_its_parent(client: FlaskClient, base: str) -> None:
    answer = post_queries(
        client, {"q0": {"query": "CEOP", "properties": [{"pid": "parent", "v": "National Crime Agency"}]}}
    )
    assert answer["q0"]["result"][0]["id"] == f"{base}id/organisation/ceop-in-nca"


def test_the_limit_is_kept(client: FlaskClient) -> None:
    answer = post_queries(client, {"q0": {"query": "children", "limit": 2}})
    assert len(answer["q0"]["result"]) == 2


# Preview -------------------------------------------------------------------------------------------------


def test_the_preview_is_a_small_card_another_site_may_frame(client: FlaskClient, base: str) -> None:
    response = client.get("/reconcile/preview", query_string={"id": f"{base}id/quotation/not-complacent"})
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "Peter Davies: &#34;we aren&#39;t complacent&#34;" in html  # escaped
    assert f'href="{base}id/quotation/not-complacent"' in html
    assert "frame-ancestors *" in response.headers["Content-Security-Policy"]
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_the_preview_of_an_id_not_ours_is_not_found(client: FlaskClient) -> None:
    response = client.get("/reconcile/preview", query_string={"id": "https://elsewhere.example/x"})
    assert response.status_code == 404
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    refused(client.get("/reconcile/preview"), "id")


# Suggest -------------------------------------------------------------------------------------------------


def test_suggest_completes_entities_types_and_properties(client: FlaskClient, base: str) -> None:
    entities = valid(client.get("/reconcile/suggest/entity", query_string={"prefix": "natio"}), schemas.SUGGEST)
    assert entities["result"][0]["id"] == f"{base}id/organisation/nca"
    assert entities["result"][0]["notable"] == [{"id": f"{ORG}FormalOrganization", "name": "Organisation"}]
    words = valid(client.get("/reconcile/suggest/entity", query_string={"prefix": "agency"}), schemas.SUGGEST)
    assert f"{base}id/organisation/nca" in {r["id"] for r in words["result"]}  # a word of the name
    types = valid(client.get("/reconcile/suggest/type", query_string={"prefix": "orga"}), schemas.SUGGEST)
    assert [r["name"] for r in types["result"]][:2] == ["Organisation", "Organisational change"]
    props = valid(client.get("/reconcile/suggest/property", query_string={"prefix": "per"}), schemas.SUGGEST)
    assert {"period", "period-start", "period-end"} <= {r["id"] for r in props["result"]}


def test_suggest_pages_with_a_cursor(client: FlaskClient) -> None:
    first = valid(client.get("/reconcile/suggest/entity", query_string={"prefix": "c"}), schemas.SUGGEST)
    second = valid(
        client.get("/reconcile/suggest/entity", query_string={"prefix": "c", "cursor": "1"}), schemas.SUGGEST
    )
    assert second["result"][0] == first["result"][1]
    refused(client.get("/reconcile/suggest/entity"), "prefix")
    refused(client.get("/reconcile/suggest/entity", query_string={"prefix": "c", "cursor": "-1"}), "cursor")


# Data extension ------------------------------------------------------------------------------------------


def test_extend_gives_a_figures_value_period_and_unit_and_an_organisations_parent(
    client: FlaskClient, base: str
) -> None:
    figure, unit = (
        f"{base}data/annual-review-2012-13/children-safeguarded/2012-2013",
        f"{base}id/organisation/ceop-in-nca",
    )
    properties = ["value", "period", "unit", "period-start", "period-end", "parent"]
    request = {"ids": [figure, unit, "https://elsewhere.example/x"], "properties": [{"id": p} for p in properties]}
    answer = valid(client.post("/reconcile", data={"extend": json.dumps(request)}), schemas.EXTENSION)
    assert [m["id"] for m in answer["meta"]] == properties
    types = {m["id"]: m.get("type") for m in answer["meta"]}
    assert types["period"] == {"id": "http://www.w3.org/2006/time#ProperInterval", "name": "Period"}
    assert types["parent"] == {"id": f"{ORG}FormalOrganization", "name": "Organisation"}
    assert types["value"] is None and types["unit"] is None  # numbers; units are no type of ours
    row = answer["rows"][figure]
    assert row["value"] == [{"int": 790}]
    assert row["period"] == [
        {"id": "http://reference.data.gov.uk/id/government-year/2012-2013", "name": "Government year 2012-2013"}
    ]
    assert row["unit"] == [{"id": f"{base}def/unit/child", "name": "children"}]
    assert row["period-start"] == [{"date": "2012-04-01T00:00:00"}]
    assert row["period-end"] == [{"date": "2013-04-01T00:00:00"}]
    assert row["parent"] == []
    assert answer["rows"][unit]["parent"] == [{"id": f"{base}id/organisation/nca", "name": "National Crime Agency"}]
    assert all(values == [] for values in answer["rows"]["https://elsewhere.example/x"].values())


def test_extend_by_get_with_a_limit_and_a_decimal(client: FlaskClient, base: str) -> None:
    change = f"{base}data/annual-review-2012-13/children-safeguarded-change/2012-2013"
    ceop = f"{base}id/organisation/ceop"
    request = {"ids": [change, ceop], "properties": [{"id": "value"}, {"id": "alt-label", "settings": {"limit": "1"}}]}
    answer = valid(client.get("/reconcile", query_string={"extend": json.dumps(request)}), schemas.EXTENSION)
    assert answer["rows"][change]["value"] == [{"float": 85.0}]
    assert answer["rows"][ceop]["alt-label"] == [{"str": "CEOP"}]


def test_properties_are_proposed_by_type(client: FlaskClient) -> None:
    query = {"type": OBSERVATION, "limit": "4"}
    answer = valid(client.get("/reconcile/properties", query_string=query), schemas.PROPERTY_PROPOSAL)
    assert answer["type"] == OBSERVATION and answer["limit"] == 4
    assert [p["id"] for p in answer["properties"]] == ["value", "unit", "period", "period-start"]
    organisations = valid(
        client.get("/reconcile/properties", query_string={"type": f"{ORG}FormalOrganization"}),
        schemas.PROPERTY_PROPOSAL,
    )
    assert "parent" in {p["id"] for p in organisations["properties"]}
    unknown = valid(client.get("/reconcile/properties", query_string={"type": "x"}), schemas.PROPERTY_PROPOSAL)
    assert unknown["properties"] == []
    refused(client.get("/reconcile/properties"), "type")


# Bounded, untrusted input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("queries", "words"),
    [
        ("{not json", ("queries", "not JSON")),
        ("[]", ("queries", "JSON object")),
        ("{}", ("queries", "no query")),
        (json.dumps({f"q{i}": {"query": "x"} for i in range(reconcile.MAX_QUERIES + 1)}), ("101 queries",)),
        (json.dumps({"q0": {"query": "x" * (reconcile.MAX_QUERY_CHARS + 1)}}), ("queries.q0.query", "longer")),
        (json.dumps({"q0": {"query": 3}}), ("queries.q0.query", "string")),
        (json.dumps({"q0": {"query": "x", "limit": 0}}), ("queries.q0.limit",)),
        (json.dumps({"q0": {"query": "x", "type_strict": "maybe"}}), ("queries.q0.type_strict",)),
        (
            json.dumps({"q0": {"query": "x", "properties": [{"pid": "nope", "v": "1"}]}}),
            ("queries.q0.properties[0].pid",),
        ),
        (
            json.dumps({"q0": {"query": "x", "properties": [{"p": "value", "v": "1"}]}}),
            ("queries.q0.properties[0].pid",),
        ),
        (json.dumps({"q0": {"query": "x", "properties": [{"pid": "value", "v": [[1]]}]}}), ("properties[0].v[0]",)),
        (json.dumps({"q0": {"query": " "}}), ("queries.q0", "query string or property")),
        ("[" * 10000 + "]" * 10000, ("nested deeper",)),
        (json.dumps({"q0": {"query": "x", "pad": "y" * reconcile.MAX_BATCH_BYTES}}), ("bytes",)),
        ('{"q0": {"query": "x", "limit": 1' + "0" * 5000 + "}}", ("not JSON",)),
    ],
)
def test_a_bad_batch_is_refused_saying_where(client: FlaskClient, queries: str, words: tuple[str, ...]) -> None:
    refused(client.post("/reconcile", data={"queries": queries}), *words)


@pytest.mark.parametrize(
    ("extension", "words"),
    [
        ("{}", ("extend.ids",)),
        (json.dumps({"ids": ["a"], "properties": []}), ("extend.properties",)),
        (json.dumps({"ids": ["a"], "properties": [{"id": "nope"}]}), ("extend.properties[0].id", "nope")),
        (json.dumps({"ids": ["a"] * (reconcile.MAX_IDS + 1), "properties": [{"id": "value"}]}), ("extend.ids",)),
        (json.dumps({"ids": ["a"], "properties": [{"id": "value", "settings": {"limit": -1}}]}), ("settings.limit",)),
    ],
)
def test_a_bad_extension_is_refused_saying_where(client: FlaskClient, extension: str, words: tuple[str, ...]) -> None:
    refused(client.post("/reconcile", data={"extend": extension}), *words)


def test_queries_and_extend_together_are_refused(client: FlaskClient) -> None:
    data = {
        "queries": json.dumps({"q0": {"query": "x"}}),
        "extend": json.dumps({"ids": [], "properties": [{"id": "value"}]}),
    }
    refused(client.post("/reconcile", data=data), "not both")


# The pure parts ------------------------------------------------------------------------------------------


def test_folding() -> None:
    assert reconcile.fold("  Ça  FAÇADE—Ünïcode ") == "ca facade unicode"
    assert reconcile.fold("CEOP’s launch") == reconcile.fold("ceops LAUNCH") == "ceops launch"
    assert reconcile.fold("ﬁnance") == "finance"  # compatibility decomposition


def test_name_scores_order_exact_words_and_prefixes() -> None:
    assert reconcile.name_score("national crime agency", "national crime agency") == 100
    reordered = reconcile.name_score("crime agency national", "national crime agency")
    prefix = reconcile.name_score("national crime", "national crime agency")
    partial = reconcile.name_score("crime", "national crime agency")
    assert 100 > reordered > prefix > partial > 0
    assert reconcile.name_score("police", "national crime agency") == 0


def test_the_lookups_score_as_a_scan_would(app: Flask) -> None:
    """The word and suffix lookups are an optimisation: a query's name scores are exactly those of
    ``name_score`` over every name of every entity, the entities that score nothing left out."""
    index = services.of(app).reconcile.get(services.of(app).store.version)
    for text in ("CEOP", "children", "crime ag", "Peter", "2012 2013", "government year", "online protection", "x"):
        folded = reconcile.fold(text)
        scanned = {e.id: max(reconcile.name_score(folded, n) for n in e.folded) for e in index.entities.values()}
        assert index.name_scores(folded) == {iri: score for iri, score in scanned.items() if score > 0}, text


def test_a_batch_stays_quick_over_many_entities(settings: Settings) -> None:
    """20,000 figures (the benchmarks' largest cube), every name sharing a word with every query: a batch of
    100 queries follows the lists of their rare words and only counts the common one, and is quick."""
    figure = "http://purl.org/linked-data/cube#Observation"
    names = [
        {
            "s": URIRef(f"{settings.scheme.base}data/x/{i}"),
            "kind": URIRef(figure),
            "p": RDFS.label,
            "name": RdfLiteral(f"Figure {i} of the year"),
        }
        for i in range(20_000)
    ]
    index = reconcile.Index.build(settings.scheme, names, {})
    batch = reconcile.parse_queries(json.dumps({f"q{i}": {"query": f"figure {i * 7}"} for i in range(100)}))
    started = time.perf_counter()
    answer = reconcile.answer_queries(index, batch)
    elapsed = time.perf_counter() - started
    assert answer["q3"]["result"][0]["name"] == "Figure 21 of the year"
    assert len(index.name_scores(reconcile.fold("figure"))) == reconcile.COMMON  # a common word alone: bounded
    assert elapsed < 5
    # Constraints alone on every figure, in a batch of 100: refused, saying why, rather than answered slowly.
    heavy = {f"q{i}": {"properties": [{"pid": "value", "v": i}] * 2} for i in range(100)}
    with pytest.raises(reconcile.ReconcileInputError, match="comparisons"):
        reconcile.answer_queries(index, reconcile.parse_queries(json.dumps(heavy)))
