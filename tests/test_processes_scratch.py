"""``processes.scratch``: a scratch folder is named after its process, and making one removes those of this
user's processes that no longer run, never a folder a link leads to or one whose process runs."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from ceopgraph.processes.scratch import owned_scratch


def test_a_new_scratch_folder_removes_only_those_of_processes_that_no_longer_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = tmp_path / "ceopgraph-x-999999999-a"  # a PID past any kernel's limit: no process runs it
    running = tmp_path / f"ceopgraph-x-{os.getpid()}-b"
    other_prefix = tmp_path / "ceopgraph-y-999999999-c"
    for folder in (gone, running, other_prefix):
        folder.mkdir()
    (gone / "left.nq").touch()
    (theirs := tmp_path / "theirs").mkdir()
    (theirs / "kept").touch()
    link = tmp_path / "ceopgraph-x-999999998-d"
    link.symlink_to(theirs)

    made = owned_scratch("ceopgraph-x-")

    assert made.is_dir() and made.parent == tmp_path and made.name.startswith(f"ceopgraph-x-{os.getpid()}-")
    assert not gone.exists()
    assert running.is_dir() and other_prefix.is_dir() and link.is_symlink() and (theirs / "kept").exists()
