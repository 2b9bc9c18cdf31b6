"""Confine a worker process: no network, capped memory. The operating system enforces both.

Whatever runs untrusted work (the query engine, the query checker, pySHACL) runs in a worker process
that first calls ``confine``. Two limits, both inherited by any child and impossible to lift from
inside:

- **No network.** A seccomp filter makes ``socket()`` fail for every address family but ``AF_UNIX``
  and ``connect()`` fail for every socket, switches io_uring off (its operations are not seen by
  seccomp), and refuses to reach into other processes (``pidfd_getfd`` would copy a socket of the
  server's, ``ptrace`` and ``process_vm_*`` would act through it). A worker talks to its pool over a
  socket pair made before the filter, so it needs none of them. So a gap in the query check still
  fetches nothing: pyoxigraph federates ``SERVICE`` over HTTP by itself, and would also resolve a
  host name first (a DNS lookup over UDP is a leak too, which Landlock's TCP-only network rules would
  let through; a local resolver reached over a Unix socket is closed by the ``connect`` rule).
  seccomp needs no privileges, only ``PR_SET_NO_NEW_PRIVS``, which libseccomp sets.
- **Capped memory.** ``RLIMIT_DATA`` bounds the heap (private writable mappings: what a runaway
  sort or string doubling allocates), not the shared, read-only file pages of the on-disk store. An
  allocation past it fails: the engine aborts ("memory allocation of N bytes failed"), Python raises
  ``MemoryError``; the pool sees either and answers that the job used too much memory.

Without seccomp (a kernel built without it, or no libseccomp) nothing is confined and the worker must
not run: ``confine`` raises ``SandboxUnavailable`` and the worker exits with its message (fail closed).
"""

from __future__ import annotations

import errno
import resource
import socket
import subprocess
import sys

# Syscalls that would hand a process network access another way, refused outright: io_uring (its
# operations are not seen by seccomp), and reaching into another process (the server's own sockets
# are a pidfd_getfd away; ptrace and process_vm_* would let it act as the server).
_REFUSED = (
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "pidfd_open",
    "pidfd_getfd",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
)
# The worker's exit status when it could not be confined (the pool logs its message).
NOT_CONFINED_EXIT = 3


class SandboxUnavailable(Exception):
    """This system cannot deny the network to a process; untrusted work must not run here."""


def confine(memory_mb: int) -> None:
    """Deny the network to this process and its children, and cap its heap at ``memory_mb`` MiB."""
    deny_network()
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))


def deny_network() -> None:
    """Load the seccomp filter described in the module's docstring, or raise ``SandboxUnavailable``."""
    try:
        import pyseccomp as seccomp  # ctypes over the system's libseccomp: fails here if it is missing
    except (ImportError, OSError) as exc:
        raise SandboxUnavailable(f"libseccomp cannot be loaded ({exc}); install libseccomp2") from exc
    try:
        rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
        rules.add_rule(seccomp.ERRNO(errno.EACCES), "socket", seccomp.Arg(0, seccomp.NE, socket.AF_UNIX))
        rules.add_rule(seccomp.ERRNO(errno.EACCES), "connect")
        for name in _REFUSED:
            rules.add_rule(seccomp.ERRNO(errno.EPERM), name)
        rules.load()
    except (OSError, RuntimeError, ValueError) as exc:
        raise SandboxUnavailable(f"the kernel refused a seccomp filter ({exc}); seccomp filters are needed") from exc


def worker_command(entry: str, memory_mb: int) -> str:
    """The ``python -c`` program of a confined worker: confine first, then import and run ``entry``
    (``module:function``, called with the socket's descriptor from ``sys.argv[1]``), so that even the
    imports run confined. Exits with ``NOT_CONFINED_EXIT`` and the reason when it cannot be confined."""
    module, function = entry.split(":")
    return (
        "import sys\n"
        "from ceopgraph.processes.sandbox import SandboxUnavailable, confine\n"
        "try:\n"
        f"    confine({int(memory_mb)})\n"
        "except SandboxUnavailable as exc:\n"
        "    print(f'cannot confine a worker: {exc}', file=sys.stderr)\n"
        f"    sys.exit({NOT_CONFINED_EXIT})\n"
        f"from {module} import {function}\n"
        f"{function}(int(sys.argv[1]))\n"
    )


def check_available() -> None:
    """Raise ``SandboxUnavailable`` with the reason unless a fresh process can be confined here:
    ``serve`` calls it before it starts, so a system without seccomp is refused up front."""
    probe = "from ceopgraph.processes.sandbox import confine; confine(256)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False, timeout=60)
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise SandboxUnavailable(reason)
