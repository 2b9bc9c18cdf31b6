"""A draft's work as jobs: typed results and refusals that cross a process boundary as they are, and a
stored draft's content parsed once however many jobs read it."""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path
from typing import Any

import pytest
from rdflib import Dataset

from ceopgraph import rdfio
from ceopgraph.cli import local_releases
from ceopgraph.config import Settings, load_settings
from ceopgraph.conneg import RDF_FORMATS
from ceopgraph.rdfio import UnreadableRdf
from ceopgraph.releases import drafting
from ceopgraph.releases.changes import Diff
from ceopgraph.releases.content import Version
from ceopgraph.releases.drafting import DraftTooLarge, Prepared, PrepareJob, Rendered, RenderJob, TooLarge
from ceopgraph.releases.registry import Conflict
from ceopgraph.releases.service import OPERATOR
from ceopgraph.validation.engine import Validator
from ceopgraph.validation.service import SentReport, Submission, Unreadable, ValidatorConfig, result_of

from .releasing import GOOD_FIGURE, changed


def _config(settings: Settings) -> ValidatorConfig:
    return ValidatorConfig(str(settings.shapes_dir), settings.base_uri, settings.max_submission_bytes)


def _job(data: bytes, max_stored_bytes: int = 1 << 30) -> PrepareJob:
    return PrepareJob(Submission(data, "trig", "draft.trig"), None, 0, "https://example.org/d", max_stored_bytes)


def test_jobs_answer_typed_results_and_refusals_that_pickle(
    settings: Settings, built_dist: Path, validator: Validator
) -> None:
    config = _config(settings)
    trig = (built_dist / "ceopgraph.trig").read_bytes()
    prepared = _job(changed(trig, GOOD_FIGURE)).run(config, validator)
    assert isinstance(prepared, Prepared) and isinstance(prepared.report, SentReport)
    assert isinstance(prepared.diff, Diff) and prepared.diff.added > 0  # a Diff, not its JSON
    assert pickle.loads(pickle.dumps(prepared)) == prepared  # as a worker sends it
    assert result_of(prepared) is prepared
    assert prepared.report.report().conforms

    unreadable = _job(b"@prefix x: <http://example.org/> .\nx:a x:b").run(config, validator)
    assert isinstance(unreadable, Unreadable) and unreadable.source == "draft.trig" and unreadable.line
    assert pickle.loads(pickle.dumps(unreadable)) == unreadable
    with pytest.raises(UnreadableRdf) as raised:
        result_of(unreadable)
    assert raised.value.line == unreadable.line and raised.value.message == unreadable.message

    too_large = _job(trig, max_stored_bytes=1000).run(config, validator)
    assert isinstance(too_large, TooLarge) and "1,000 bytes" in too_large.message
    with pytest.raises(DraftTooLarge, match="1,000 bytes"):
        result_of(pickle.loads(pickle.dumps(too_large)))

    rendered = RenderJob(prepared.content, Version(2, "2026-01-01T00:00:00Z", 1)).run(config, validator)
    assert isinstance(rendered, Rendered)
    assert set(rendered.dumps) == {f"ceopgraph.{f.extension}" for f in RDF_FORMATS} | {
        "annual-review-2012-13.csv",
        "annual-review-2012-13.csv-metadata.json",
    }
    assert pickle.loads(pickle.dumps(rendered)) == rendered


def test_a_stored_drafts_content_is_parsed_once(
    tmp_path: Path, built_dist: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Draft B's diff is refreshed after draft A's publish, then B is published: the refresh and the
    publish read B's stored N-Quads, which are parsed once (twice before: once per job)."""
    releases = local_releases(load_settings(environ={}, data_dir=tmp_path / "data"))
    releases.ensure_first_release(built_dist / "ceopgraph.trig")
    trig = (releases.release_folder(1) / "ceopgraph.trig").read_bytes()
    first = releases.create_draft(OPERATOR, Submission(changed(trig, GOOD_FIGURE), "trig", "a.trig"))
    second = releases.create_draft(
        OPERATOR, Submission(trig.replace(b"obsValue 16568", b"obsValue 16570"), "trig", "b.trig")
    )
    parsed: list[str] = []
    real = rdfio.parse_dataset

    def counting(data: bytes, *args: Any, **kwargs: Any) -> Dataset:
        parsed.append(hashlib.sha256(data).hexdigest())
        return real(data, *args, **kwargs)

    monkeypatch.setattr(rdfio, "parse_dataset", counting)  # the module drafting calls it in
    monkeypatch.setattr(drafting, "_stored", {})  # nothing parsed by an earlier test of this process
    releases.publish(OPERATOR, first.id, None)
    refreshed = releases.current_diff(OPERATOR, second.id)
    assert refreshed.revision == second.revision and refreshed.base_release == 2  # computed for the reader
    with pytest.raises(Conflict):  # the stored diff is against release 1
        releases.publish(OPERATOR, second.id, None)
    assert releases.publish(OPERATOR, second.id, refreshed.version, acknowledged=frozenset({"reverts"})).n == 3
    stored = {hashlib.sha256(d.nquads).hexdigest() for d in (second, refreshed)}
    assert sum(digest in stored for digest in parsed) == 1, parsed
