"""The benchmark's synthetic data generator: valid against the shapes, deterministic, clearly synthetic."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from rdflib import Dataset, URIRef
from rdflib.namespace import RDF

from ceopgraph.cli import main as cli_main
from ceopgraph.config import DEFAULT_BASE_URI

ROOT = Path(__file__).resolve().parents[1]
# One body's full run of years (49 figures, every statistic) and part of a second one.
OBSERVATIONS = 60
QB_OBSERVATION = URIRef("http://purl.org/linked-data/cube#Observation")
STATISTIC = URIRef(DEFAULT_BASE_URI + "def/dimension/statistic")


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_generate", ROOT / "bench" / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


generator = _load_generator()


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synthetic") / "synthetic.trig"
    generator.generate(OBSERVATIONS, out)
    return out


@pytest.fixture(scope="module")
def parsed(generated: Path) -> Dataset:
    dataset = Dataset(default_union=True)
    dataset.parse(generated, format="trig")
    return dataset


def test_validates_against_the_shapes(generated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = cli_main(["validate", str(generated)])
    report = capsys.readouterr().out
    assert status == 0, report
    assert report.startswith("Data conforms.")
    assert "warning" not in report


def test_has_the_asked_number_of_observations_and_every_statistic(parsed: Dataset) -> None:
    observations = set(parsed.subjects(RDF.type, QB_OBSERVATION))
    assert len(observations) == OBSERVATIONS
    statistics = {str(o).rsplit("/", 1)[-1] for o in parsed.objects(None, STATISTIC)}
    assert statistics == {
        "children-safeguarded",
        "children-safeguarded-change",
        "children-protected-since-launch",
        "reports-received",
        "reports-received-change",
        "reports-monthly-mean",
    }


def test_deterministic(generated: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.trig"
    generator.generate(OBSERVATIONS, again)
    assert again.read_bytes() == generated.read_bytes()
    other_seed = tmp_path / "other.trig"
    generator.generate(OBSERVATIONS, other_seed, seed=7)
    assert other_seed.read_bytes() != generated.read_bytes()


def test_instances_are_synthetic_and_the_model_is_shared(parsed: Dataset) -> None:
    """Every instance IRI says it is synthetic; only the vocabulary and cube structure are the real model's."""
    model = URIRef(DEFAULT_BASE_URI + "data/graph/synthetic/model")
    for s, _, _, graph in parsed.quads():
        assert str(graph).startswith(DEFAULT_BASE_URI + "data/graph/synthetic/")
        if graph == model or not str(s).startswith(DEFAULT_BASE_URI):
            continue
        assert str(s).startswith((DEFAULT_BASE_URI + "id/synthetic/", DEFAULT_BASE_URI + "data/synthetic/")), s
    model_subjects = {str(s) for s in parsed.graph(model).subjects()}
    assert not any("/synthetic/" in s for s in model_subjects)
    assert not any(s.startswith(DEFAULT_BASE_URI + "id/") for s in model_subjects)


def test_nquads_hold_the_same_quads(generated: Path, parsed: Dataset, tmp_path: Path) -> None:
    nquads = tmp_path / "synthetic.nq"
    count = generator.generate(OBSERVATIONS, nquads)
    other = Dataset(default_union=True)
    other.parse(nquads, format="nquads")
    assert count == len(set(parsed.quads())) == len(set(other.quads()))


def test_size_for_triples() -> None:
    assert generator.observations_for(100_000) == pytest.approx(3_200, rel=0.05)
    assert generator.observations_for(10) == 1
