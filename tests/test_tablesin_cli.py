"""``ceopgraph draft create TABLE.csv|TABLE.xlsx [--source TEXT] [--title TITLE]`` in process: a draft from a table,
with its diff; a table with problems makes none and lists them, row and column."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from ceopgraph import cli

from .releasing import local_releases
from .spreadsheets import workbook

TABLE = "annual-review-2012-13.csv"
OLD_QUOTE = "The total number of protected children in CEOP's seven year history is 2,255"
NEW_QUOTE = "The total number of protected children in CEOP's seven year history is 2,256"
ROOT = Path(__file__).resolve().parents[1]


def test_a_draft_from_a_table_and_a_table_refused(
    tmp_path: Path, built_dist: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    releases = local_releases(data)
    releases.ensure_first_release(built_dist / "ceopgraph.trig")
    download = (releases.release_folder(1) / TABLE).read_text(encoding="utf-8")
    news = (ROOT / "data" / "source" / "ceop-annual-review-2012-13-news.txt").read_text(encoding="utf-8")
    (tmp_path / TABLE).write_text(download.replace(OLD_QUOTE, NEW_QUOTE).replace(",2255,", ",2256,"))
    (tmp_path / "news.txt").write_text(news.replace(OLD_QUOTE, NEW_QUOTE), encoding="utf-8")
    made = cli.main(
        ["draft", "create", str(tmp_path / TABLE), "--source", str(tmp_path / "news.txt"), "--data-dir", str(data)]
    )
    out = capsys.readouterr().out
    assert made == 0 and "conforms" in out, out
    draft_id = out.split()[1].rstrip(":")
    assert cli.main(["draft", "diff", draft_id, "--data-dir", str(data)]) == 0
    diff = capsys.readouterr().out
    assert "2255" in diff and "2256" in diff
    row = "Children protected since launch · From CEOP's launch in 2006 to the end of government year 2012-2013"
    assert f"  in the table: row {row}: 2255 → 2256\n" in diff

    (tmp_path / "bad.csv").write_text(download.replace(",2255,", ",two thousand,"))
    drafts = releases.registry.rows("drafts")
    refused = cli.main(["draft", "create", str(tmp_path / "bad.csv"), "--data-dir", str(data)])
    err = capsys.readouterr().err
    assert refused == 1 and "row 2, value (integer): not a whole number" in err, err
    assert releases.registry.rows("drafts") == drafts
    rows = list(csv.reader(io.StringIO(download, newline="")))
    (tmp_path / "figures.xlsx").write_bytes(workbook(rows))
    assert cli.main(["draft", "create", str(tmp_path / "figures.xlsx"), "--data-dir", str(data)]) == 0
    assert "conforms" in capsys.readouterr().out
    rdf = ["draft", "create", str(tmp_path / TABLE), "--input-format", "trig", "--title", "x", "--data-dir", str(data)]
    with pytest.raises(SystemExit, match="go with a table"):  # read as RDF, a table's options are a mistake
        cli.main(rdf)
