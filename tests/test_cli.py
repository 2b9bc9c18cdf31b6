"""``ceopgraph.cli``: what every command does with a bad ``CEOPGRAPH_*`` value (the commands themselves:
``test_validate_cli``, ``test_releases_cli``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ceopgraph import cli


@pytest.mark.parametrize(
    "argv",
    [
        ["build", "--out", "{tmp}/dist"],
        ["validate", "{tmp}/submission.ttl"],
        ["serve", "--dist", "{tmp}/dist", "--port", "9"],
        ["tokens", "list", "--data-dir", "{tmp}/data"],
        ["draft", "diff", "0123", "--data-dir", "{tmp}/data"],
        ["audit", "--data-dir", "{tmp}/data"],
    ],
    ids=lambda argv: argv[0],
)
def test_a_bad_setting_is_one_line_naming_the_variable_and_exit_2(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CEOPGRAPH_QUERY_PROCESSES", "four")
    (tmp_path / "submission.ttl").write_text("<urn:a> <urn:b> <urn:c> .\n")
    assert cli.main([arg.format(tmp=tmp_path) for arg in argv]) == 2
    out, err = capsys.readouterr()
    assert err == "ceopgraph: bad setting: CEOPGRAPH_QUERY_PROCESSES='four' is not a whole number\n"
    assert out == ""
    assert list(tmp_path.iterdir()) == [tmp_path / "submission.ttl"]  # nothing written before the refusal
