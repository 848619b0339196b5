"""Work handed to a forked child process and its answer read back: the `k8slab` command's second core."""

# A cold command on a whole cluster's snapshot reads it, checks every object as the API server
# would, builds the model, then answers (issue 22's budget: 1.5 s for 5,000 Services). Checking
# and building need only the text, so a child reads and checks it while the command reads,
# builds and works out its answer, which it shows only once the child says the input is valid:
# never a half-valid cluster shown as if whole (manifests.deferred_checks). fork() copies the
# process at no cost on Linux (pages are shared until written), so nothing is pickled on the
# way in, and only the small answer (the problems found) on the way out.
#
# Only the command line forks (cli.console calls allow()): forking a process that runs threads,
# a Jupyter kernel or a web server, can leave the child waiting forever on a lock some other
# thread held. Anything that goes wrong in a child costs time, never an answer: the work is
# then done here, as without a child.

from __future__ import annotations

import os
import pickle
import signal
import sys
from typing import Any, Callable

__all__ = ["allow", "allowed", "start", "Pending", "detach"]

_allowed = False


def allow() -> None:
    """Let this process fork (the `k8slab` command, which runs no other thread)."""
    global _allowed
    _allowed = True


def allowed() -> bool:
    """Whether work may go to a child: allowed, on Linux, with a second CPU, and not switched
    off (K8SLAB_PARALLEL=0)."""
    return (_allowed and sys.platform == "linux" and (os.cpu_count() or 1) > 1
            and os.environ.get("K8SLAB_PARALLEL", "1").lower() not in ("0", "off", "no", "false"))


def _quiet() -> None:
    # The child writes nothing the parent's reader would see (and holds no pipe open after it):
    # `k8slab ... | less` must end when the command does.
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)


class Pending:
    """fn(*args), under way in a forked child, or to be done here when no child does it."""

    def __init__(self, fn: Callable[..., Any], args: tuple, pid: int | None = None,
                 answers: int | None = None):
        self._fn, self._args, self._pid, self._answers = fn, args, pid, answers

    def result(self) -> Any:
        """What fn(*args) returned: the child's answer, or, when the child could not give one (an
        exception there, a child killed, an answer pickle cannot carry), fn(*args) done here."""
        if self._pid is not None:
            with os.fdopen(self._answers, "rb") as f:
                data = f.read()
            _, status = os.waitpid(self._pid, 0)
            self._pid = None
            if status == 0 and data:
                try:
                    return pickle.loads(data)
                except Exception:  # noqa: BLE001 - a damaged answer: do the work here
                    pass
        return self._fn(*self._args)

    def cancel(self) -> None:
        """The answer is not wanted: the child, if any, is stopped."""
        if self._pid is not None:
            try:
                os.kill(self._pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(self._pid, 0)
            os.close(self._answers)
            self._pid = None


def start(fn: Callable[..., Any], *args) -> Pending:
    """Start fn(*args) in a forked child (see Pending); here, later, when forking is not allowed
    or fails."""
    if not allowed():
        return Pending(fn, args)
    try:
        read_end, write_end = os.pipe()
    except OSError:
        return Pending(fn, args)
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return Pending(fn, args)
    if pid == 0:                                    # the child
        code = 1
        try:
            os.close(read_end)
            _quiet()
            data = pickle.dumps(fn(*args), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write_end, "wb") as out:
                out.write(data)
            code = 0
        finally:
            os._exit(code)          # never the parent's atexit handlers, never its buffered output
    os.close(write_end)
    return Pending(fn, args, pid, read_end)


def detach(fn: Callable[..., Any], *args) -> None:
    """fn(*args) in a forked child nobody waits for (keeping a cache entry), or here when no
    child may do it. The child is forked twice, so that it is never left a zombie."""
    if not allowed():
        fn(*args)
        return
    try:
        pid = os.fork()
    except OSError:
        fn(*args)
        return
    if pid == 0:
        code = 1
        try:
            _quiet()
            if os.fork() == 0:                      # the grandchild does the work
                try:
                    fn(*args)
                    code = 0
                finally:
                    os._exit(code)
            code = 0
        finally:
            os._exit(code)
    os.waitpid(pid, 0)                              # the child ends at once; init adopts its child
