"""A synthetic dataset in the ceopgraph model, at any size, valid against the shapes.

Not the CEOP data: every instance IRI is under ``{base}id/synthetic/`` or ``{base}data/synthetic/`` and
every named graph under ``{base}data/graph/synthetic/``, so generated data can never be mistaken for,
or merged into, the published review. What it shares with the real dataset is the model: the
vocabulary and code lists (``ontology/``) and the cube's structure definition, copied in so that the
file validates on its own (``ceopgraph validate FILE``).

Many reporting bodies, each with its own Data Cube dataset over several government years: children
safeguarded, reports received, the monthly mean, the percentage changes on the previous year (rounded,
with their value ranges) and the count since launch, so the cross-figure shapes have real work to do.
Each body-year has a generated news article; every figure, quotation and threat area cites the exact
words of it through a Web Annotation segment with a quote and a position selector.

Deterministic: the same ``--observations`` and ``--seed`` always give the same bytes. About 31 triples
per observation (the figure, its segment and selectors, its share of articles, bodies, quotations and
threat areas) plus ~450 for the model: 310 observations make ~10k triples, 3,200 ~100k, 32,000 ~1M.

    python bench/generate.py --observations 3200 --out synthetic-100k.trig
    python bench/generate.py --triples 1000000 --out synthetic-1m.nq
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import TextIO

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BASE = "https://w3id.org/ceopgraph/"
TRIPLES_PER_OBSERVATION = 31.3  # measured; --triples uses them to choose the number of observations
MODEL_TRIPLES = 450
FIRST_YEAR = 2003
YEARS_PER_BODY = 10

XSD = "http://www.w3.org/2001/XMLSchema#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
QB = "http://purl.org/linked-data/cube#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
PROV = "http://www.w3.org/ns/prov#"
OA = "http://www.w3.org/ns/oa#"
SCHEMA = "http://schema.org/"
ORG = "http://www.w3.org/ns/org#"
FOAF = "http://xmlns.com/foaf/0.1/"
TIME = "http://www.w3.org/2006/time#"
DCT = "http://purl.org/dc/terms/"
TYPE = str(RDF.type)
LABEL = RDFS + "label"

PLACES = (
    "Northshire",
    "Eastmoor",
    "Westvale",
    "Southdown",
    "Highfield",
    "Lowmarsh",
    "Kingsbridge",
    "Ashford Vale",
    "Redhill",
    "Greywater",
    "Oakmere",
    "Stonebridge",
    "Fairhaven",
    "Mistral Bay",
    "Elmstead",
    "Brackenfield",
)
KINDS = ("Child Protection Unit", "Safeguarding Board", "Online Safety Centre", "Exploitation Taskforce")
GIVEN = ("Alex", "Sam", "Jordan", "Morgan", "Robin", "Casey", "Jamie", "Taylor", "Avery", "Quinn", "Rowan", "Drew")
FAMILY = ("Ashdown", "Barrow", "Carver", "Dunmore", "Ellery", "Fenwick", "Garside", "Holloway", "Ingram", "Jessop")
THREATS = (
    ("indecent-images", "Indecent images of children", "the production and sharing of indecent images"),
    ("online-exploitation", "Online exploitation", "the exploitation of children on the internet"),
    ("transnational-abuse", "Transnational abuse", "offences committed abroad by residents"),
    ("contact-abuse", "Contact abuse", "organised contact abuse and missing children"),
)


def _iri(value: str) -> str:
    return f"<{value}>"


def _string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def _lang(value: str) -> str:
    return _string(value) + "@en"


def _typed(value: object, datatype: str) -> str:
    return f"{_string(str(value))}^^<{XSD}{datatype}>"


def _decimal(value: Decimal) -> str:
    """A decimal in the store's canonical form ("103", "2.5"; never "103.0"), so that the synthetic data
    is published exactly as generated (the store rewrites other forms on load)."""
    return _typed(format(value.normalize(), "f"), "decimal")


@dataclass
class _Graphs:
    """Triples by named graph, in N-Triples term syntax, in the order they were made."""

    triples: dict[str, list[str]] = field(default_factory=dict)
    observations: int = 0

    def add(self, graph: str, subject: str, predicate: str, obj: str) -> None:
        self.triples.setdefault(graph, []).append(f"{_iri(subject)} {_iri(predicate)} {obj} .")

    def count(self) -> int:
        return sum(len(lines) for lines in self.triples.values())


@dataclass
class _Article:
    """A news article under construction: its text grows sentence by sentence; segments select from it."""

    iri: str
    parts: list[str] = field(default_factory=list)
    length: int = 0  # code points so far (the text is ASCII, so also bytes)

    def say(self, before: str, exact: str, after: str) -> tuple[int, int, str, str]:
        """Append ``before + exact + after``; the position of ``exact`` and its prefix and suffix context."""
        prefix_text = "".join(self.parts)[-24:] + before
        start = self.length + len(before)
        self.parts.append(before + exact + after)
        self.length += len(before) + len(exact) + len(after)
        return start, start + len(exact), prefix_text[-24:], after[:24]

    @property
    def text(self) -> str:
        return "".join(self.parts)


class Generator:
    def __init__(self, observations: int, base: str = DEFAULT_BASE, seed: int = 2013) -> None:
        self.limit = observations
        self.base = base
        self.random = random.Random(seed)
        self.out = _Graphs()
        graph = base + "data/graph/synthetic/"
        self.g_figures, self.g_provenance = graph + "figures", graph + "provenance"
        self.g_bodies, self.g_threats = graph + "bodies", graph + "threat-areas"
        self.g_quotations = graph + "quotations"
        self.g_model = graph + "model"
        self.statistic = base + "def/statistic/"
        self.dimension = base + "def/dimension/"
        self.attribute = base + "def/attribute/"
        self.dsd = base + "def/dsd/annual-review"

    # Model: vocabulary, code lists and the cube's structure, copied from the sources ----------------

    def model(self) -> None:
        vocabulary = Graph()
        for path in sorted((ROOT / "ontology").glob("*.ttl")):
            vocabulary.parse(path, format="turtle", publicID=self.base)
        structure = Graph().parse(ROOT / "data" / "structure.ttl", format="turtle", publicID=self.base)
        # The data structure definition, its component specifications and the SDMX properties it
        # declares; not the periods of the review, which are data.
        kept = {URIRef(self.dsd)} | set(structure.objects(URIRef(self.dsd), URIRef(QB + "component")))
        kept |= {s for s, o in structure.subject_objects(RDF.type) if str(o).startswith(QB) and "Property" in str(o)}
        for s, p, o in sorted(vocabulary) + sorted(t for t in structure if t[0] in kept):
            self.out.triples.setdefault(self.g_model, []).append(f"{s.n3()} {p.n3()} {_term(o)} .")

    # Instances ----------------------------------------------------------------------------------

    def run(self) -> _Graphs:
        self.model()
        self.periods: set[int] = set()
        body = 0
        while self.out.observations < self.limit:
            body += 1
            self.body(body)
        for year in sorted(self.periods):
            period = self.period_iri(year)
            self.out.add(self.g_figures, period, TYPE, _iri(TIME + "ProperInterval"))
            self.out.add(self.g_figures, period, LABEL, _lang(f"Synthetic reporting year {year}-{year + 1}"))
        return self.out

    def period_iri(self, year: int) -> str:
        return f"{self.base}id/synthetic/period/{year}-{year + 1}"

    def body(self, number: int) -> None:
        rnd, add = self.random, self.out.add
        slug = f"body-{number:06d}"
        name = f"{rnd.choice(PLACES)} {rnd.choice(KINDS)} {number}"
        org = f"{self.base}id/synthetic/organisation/{slug}"
        add(self.g_bodies, org, TYPE, _iri(ORG + "FormalOrganization"))
        add(self.g_bodies, org, SKOS + "prefLabel", _lang(f"{name} (synthetic)"))
        add(self.g_bodies, org, LABEL, _lang(f"{name} (synthetic)"))
        add(self.g_bodies, org, SKOS + "altLabel", _lang(f"SYN{number}"))
        person = f"{self.base}id/synthetic/person/{slug}-chief"
        person_name = f"{rnd.choice(GIVEN)} {rnd.choice(FAMILY)}"
        for kind in (FOAF + "Person", SCHEMA + "Person"):
            add(self.g_bodies, person, TYPE, _iri(kind))
        add(self.g_bodies, person, FOAF + "name", _string(person_name))
        add(self.g_bodies, person, LABEL, _lang(person_name))

        dataset = f"{self.base}data/synthetic/{slug}"
        add(self.g_figures, dataset, TYPE, _iri(QB + "DataSet"))
        add(self.g_figures, dataset, LABEL, _lang(f"{name}: figures (synthetic)"))
        add(self.g_figures, dataset, QB + "structure", _iri(self.dsd))
        add(self.g_figures, dataset, DCT + "source", _iri(org))

        safeguarded: dict[int, int] = {}
        reports: dict[int, int] = {}
        first = FIRST_YEAR + rnd.randrange(4)
        for year in range(first, first + YEARS_PER_BODY):
            if self.out.observations >= self.limit:
                return
            article = _Article(f"{self.base}id/synthetic/news-item/{slug}/{year}-{year + 1}")
            self.periods.add(year)
            children = max(1, int(rnd.gauss(400, 150)))
            received = max(12, int(rnd.gauss(9000, 3000)))
            safeguarded[year], reports[year] = children, received
            span = f"{year}-{year + 1}"
            article.say(f"{name} publishes its review of {span}. ", "", "")
            self.figure(
                dataset,
                slug,
                article,
                "children-safeguarded",
                year,
                Decimal(children),
                "child",
                f"In {span} ",
                f"{children} children were safeguarded and protected",
                ".",
            )
            if year - 1 in safeguarded:
                self.change(dataset, slug, article, "children-safeguarded", year, safeguarded, "children safeguarded")
            self.figure(
                dataset,
                slug,
                article,
                "reports-received",
                year,
                Decimal(received),
                "report",
                " It dealt with ",
                f"{received} reports of abuse",
                " from the public and industry.",
            )
            mean = (Decimal(received) / 12).quantize(Decimal("0.1"), ROUND_HALF_EVEN)
            self.figure(
                dataset,
                slug,
                article,
                "reports-monthly-mean",
                year,
                mean,
                "report-per-month",
                " That is ",
                f"{mean} reports a month",
                " on average.",
                half_width=Decimal("0.05"),
            )
            if year - 1 in reports:
                self.change(dataset, slug, article, "reports-received", year, reports, "reports received")
            if year == first + YEARS_PER_BODY - 1 and self.out.observations < self.limit:
                total = sum(safeguarded.values())
                self.figure(
                    dataset,
                    slug,
                    article,
                    "children-protected-since-launch",
                    year,
                    Decimal(total),
                    "child",
                    " Since it began, ",
                    f"{total} children have been protected",
                    ".",
                    period=f"{self.base}id/synthetic/period/since-{first}-to-{year}-{year + 1}",
                )
            quotation = (
                f"This year {name} kept working with partners to protect children, "
                f"and we will not be complacent in {year + 1}."
            )
            self.quotation(article, slug, year, person, quotation)
            if year == first:
                self.threat_areas(article, slug, org)
            self.article(article, org, name, span)

    def change(
        self, dataset: str, slug: str, article: _Article, counted: str, year: int, counts: dict[int, int], words: str
    ) -> None:
        now, then = Decimal(counts[year]), Decimal(counts[year - 1])
        percent = (100 * (now / then - 1)).quantize(Decimal("0.1"), ROUND_HALF_EVEN)
        direction = "up" if percent >= 0 else "down"
        self.figure(
            dataset,
            slug,
            article,
            f"{counted}-change",
            year,
            percent,
            "percent",
            f" The number of {words} was ",
            f"{direction} {abs(percent)} per cent",
            " on the year before.",
            half_width=Decimal("0.05"),
            comparison=year - 1,
        )

    def figure(
        self,
        dataset: str,
        slug: str,
        article: _Article,
        notation: str,
        year: int,
        value: Decimal,
        unit: str,
        before: str,
        exact: str,
        after: str,
        *,
        half_width: Decimal | None = None,
        comparison: int | None = None,
        period: str | None = None,
    ) -> None:
        if self.out.observations >= self.limit:
            return
        self.out.observations += 1
        add, g = self.out.add, self.g_figures
        period = period or self.period_iri(year)
        obs = f"{dataset}/{notation}/{period.rsplit('/', 1)[-1]}"
        segment = self.segment(article, f"{slug}/{year}-{year + 1}/{notation}", before, exact, after)
        add(g, obs, TYPE, _iri(QB + "Observation"))
        add(g, obs, LABEL, _lang(f"{notation.replace('-', ' ').capitalize()}, {slug}, {year}-{year + 1}"))
        add(g, obs, QB + "dataSet", _iri(dataset))
        add(g, obs, self.dimension + "statistic", _iri(self.statistic + notation))
        add(g, obs, "http://purl.org/linked-data/sdmx/2009/dimension#refPeriod", _iri(period))
        is_integer = value == value.to_integral_value() and half_width is None
        add(
            g,
            obs,
            "http://purl.org/linked-data/sdmx/2009/measure#obsValue",
            _typed(int(value), "integer") if is_integer else _decimal(value),
        )
        add(g, obs, "http://purl.org/linked-data/sdmx/2009/attribute#unitMeasure", _iri(f"{self.base}def/unit/{unit}"))
        precision = "exact" if half_width is None else "rounded"
        add(g, obs, self.attribute + "precision", _iri(f"{self.base}def/precision/{precision}"))
        add(g, obs, self.attribute + "figure-status", _iri(f"{self.base}def/figure-status/reported"))
        add(g, obs, PROV + "wasDerivedFrom", _iri(segment))
        if comparison is not None:
            add(g, obs, self.attribute + "comparison-period", _iri(self.period_iri(comparison)))
        if half_width is not None:
            value_range = obs + "/value-range"
            add(g, obs, self.attribute + "value-range", _iri(value_range))
            add(g, value_range, TYPE, _iri(SCHEMA + "QuantitativeValue"))
            add(g, value_range, LABEL, _lang(f"Value range of {obs.rsplit('/', 3)[-2]}"))
            add(g, value_range, SCHEMA + "minValue", _decimal(value - half_width))
            add(g, value_range, SCHEMA + "maxValue", _decimal(value + half_width))
            add(g, value_range, SCHEMA + "unitText", _string(unit))

    def segment(self, article: _Article, path: str, before: str, exact: str, after: str) -> str:
        """A Web Annotation segment of ``article`` selecting ``exact``, by quote and by position."""
        start, end, prefix, suffix = article.say(before, exact, after)
        add, g = self.out.add, self.g_provenance
        segment = f"{self.base}id/synthetic/segment/{path}"
        add(g, segment, TYPE, _iri(OA + "SpecificResource"))
        add(g, segment, OA + "hasSource", _iri(article.iri))
        add(g, segment, OA + "hasSelector", _iri(segment + "/quote"))
        add(g, segment, OA + "hasSelector", _iri(segment + "/position"))
        add(g, segment + "/quote", TYPE, _iri(OA + "TextQuoteSelector"))
        add(g, segment + "/quote", OA + "exact", _string(exact))
        add(g, segment + "/quote", OA + "prefix", _string(prefix))
        add(g, segment + "/quote", OA + "suffix", _string(suffix))
        add(g, segment + "/position", TYPE, _iri(OA + "TextPositionSelector"))
        add(g, segment + "/position", OA + "start", _typed(start, "integer"))
        add(g, segment + "/position", OA + "end", _typed(end, "integer"))
        return segment

    def quotation(self, article: _Article, slug: str, year: int, person: str, text: str) -> None:
        add, g = self.out.add, self.g_quotations
        segment = self.segment(article, f"{slug}/{year}-{year + 1}/quotation", ' "', text, '"')
        quotation = f"{self.base}id/synthetic/quotation/{slug}/{year}-{year + 1}"
        add(g, quotation, TYPE, _iri(SCHEMA + "Quotation"))
        add(g, quotation, LABEL, _lang(f"Quotation, {slug}, {year}-{year + 1}"))
        add(g, quotation, SCHEMA + "text", _lang(text))
        add(g, quotation, SCHEMA + "creator", _iri(person))
        add(g, quotation, SCHEMA + "isPartOf", _iri(article.iri))
        add(g, quotation, PROV + "wasAttributedTo", _iri(person))
        add(g, quotation, PROV + "wasQuotedFrom", _iri(segment))

    def threat_areas(self, article: _Article, slug: str, org: str) -> None:
        add, g = self.out.add, self.g_threats
        scheme = f"{self.base}id/synthetic/threat-areas/{slug}"
        add(g, scheme, TYPE, _iri(SKOS + "ConceptScheme"))
        add(g, scheme, SKOS + "prefLabel", _lang(f"Threat areas of {slug} (synthetic)"))
        add(g, scheme, DCT + "creator", _iri(org))
        article.say(" Its plan names four threat areas:", "", "")
        for number, (code, label, definition) in enumerate(THREATS, start=1):
            concept = f"{scheme}/{code}"
            segment = self.segment(article, f"{slug}/threat-area/{code}", f" {number}. ", label, f", {definition};")
            add(g, scheme, SKOS + "hasTopConcept", _iri(concept))
            add(g, concept, TYPE, _iri(SKOS + "Concept"))
            add(g, concept, SKOS + "prefLabel", _lang(label))
            add(g, concept, SKOS + "definition", _lang(definition))
            add(g, concept, SKOS + "notation", _string(str(number)))
            add(g, concept, SKOS + "inScheme", _iri(scheme))
            add(g, concept, SKOS + "topConceptOf", _iri(scheme))
            add(g, concept, PROV + "wasDerivedFrom", _iri(segment))

    def article(self, article: _Article, org: str, name: str, span: str) -> None:
        add, g = self.out.add, self.g_provenance
        add(g, article.iri, TYPE, _iri(SCHEMA + "NewsArticle"))
        add(g, article.iri, LABEL, _lang(f"News item: {name} review of {span} (synthetic)"))
        add(g, article.iri, SCHEMA + "inLanguage", _string("en-GB"))
        add(g, article.iri, SCHEMA + "mentions", _iri(org))
        add(g, article.iri, SCHEMA + "text", _string(article.text))


def _term(term: object) -> str:
    if isinstance(term, Literal) and term.datatype is None and term.language is None:
        return _string(str(term))
    return term.n3()  # type: ignore[attr-defined,no-any-return]


def write_trig(graphs: _Graphs, out: TextIO) -> None:
    out.write("# Synthetic data in the ceopgraph model, for benchmarks only: not the CEOP Annual Review.\n")
    for name, lines in graphs.triples.items():
        out.write(f"<{name}> {{\n")
        for line in lines:
            out.write(line)
            out.write("\n")
        out.write("}\n")


def write_nquads(graphs: _Graphs, out: TextIO) -> None:
    for name, lines in graphs.triples.items():
        for line in lines:
            out.write(f"{line[:-2]} <{name}> .\n")


def generate(observations: int, out: Path, base: str = DEFAULT_BASE, seed: int = 2013) -> int:
    """Write the dataset (TriG, or N-Quads for ``.nq``) and return its number of triples."""
    graphs = Generator(observations, base, seed).run()
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="\n") as handle:
        (write_nquads if out.suffix == ".nq" else write_trig)(graphs, handle)
    return graphs.count()


def observations_for(triples: int) -> int:
    return max(1, round((triples - MODEL_TRIPLES) / TRIPLES_PER_OBSERVATION))


def iter_sizes(text: str) -> Iterator[int]:
    for part in text.split(","):
        yield int(part.replace("_", "").replace("k", "000").replace("M", "000000"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    size = parser.add_mutually_exclusive_group(required=True)
    size.add_argument("--observations", type=int, help="number of observations (figures) to generate")
    size.add_argument("--triples", type=int, help="about this many triples (chooses --observations)")
    parser.add_argument("--out", default="-", help="output file, .trig or .nq (default: TriG on stdout)")
    parser.add_argument("--base-uri", default=DEFAULT_BASE, help=f"base URI (default {DEFAULT_BASE})")
    parser.add_argument("--seed", type=int, default=2013, help="random seed (default 2013)")
    args = parser.parse_args()
    observations = args.observations if args.observations is not None else observations_for(args.triples)
    if args.out == "-":
        graphs = Generator(observations, args.base_uri, args.seed).run()
        write_trig(graphs, sys.stdout)
        print(f"{graphs.count()} triples, {observations} observations", file=sys.stderr)
        return 0
    count = generate(observations, Path(args.out), args.base_uri, args.seed)
    print(f"wrote {count} triples ({observations} observations) to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
