"""Scratch folders named after the process that made them: a process killed before it could remove its own
(SIGKILL) leaves it behind, and the next one made with the same prefix removes every such folder whose process
no longer runs."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path


def owned_scratch(prefix: str) -> Path:
    """A new folder ``{prefix}{pid}-…`` in the temporary folder; first, the folders of that prefix left by
    this user's processes that no longer run are removed."""
    parent = Path(tempfile.gettempdir())
    for folder in parent.glob(f"{prefix}*-*"):
        owner = folder.name.removeprefix(prefix).partition("-")[0]
        try:
            found = folder.lstat()  # the entry itself: a link someone made there is not a folder of ours
        except OSError:  # gone already
            continue
        mine = stat.S_ISDIR(found.st_mode) and found.st_uid == os.getuid()
        if mine and owner.isdigit() and not _runs(int(owner)):
            shutil.rmtree(folder, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=parent))


def _runs(pid: int) -> bool:
    """Whether a process of that PID runs (whatever it is now)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True
