"""Work handed to a forked child process and its answer read back: the `k8slab` command's second core."""

# A cold command on a whole cluster's snapshot reads it, checks every object as the API server
# would, builds the model, then answers (issue 22's budget: 1.5 s for 5,000 Services). The check
# and the build are independent once the text is read, so the command checks in a child while
# it builds, and answers only once the child says the input is valid: never a half-valid cluster
# shown as if whole. fork() copies the process at no cost on Linux (the objects are shared until
# written), so nothing is pickled on the way in, and only the small answer on the way out.
#
# Only the command line forks (cli.console calls allow()): forking a process that runs threads,
# a Jupyter kernel or a web server, can leave the child waiting forever on a lock some other
# thread held. Anything that goes wrong in a child costs time, never an answer: the work is
# then done here, as without a child.

from __future__ import annotations

import os
import pickle
import sys
from typing import Any, Callable

__all__ = ["allow", "allowed", "start", "detach"]

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


def start(fn: Callable[..., Any], *args) -> Callable[[], Any]:
    """Start fn(*args) in a forked child; the returned `answer()` waits for what it returned.

    When no child can do it (forking not allowed or failing, an exception in the child, a child
    killed, an answer pickle cannot carry), `answer()` calls fn(*args) here instead."""
    if not allowed():
        return lambda: fn(*args)
    try:
        read_end, write_end = os.pipe()
        pid = os.fork()
    except OSError:
        return lambda: fn(*args)
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

    def answer():
        with os.fdopen(read_end, "rb") as f:
            data = f.read()
        _, status = os.waitpid(pid, 0)
        if status == 0 and data:
            try:
                return pickle.loads(data)
            except Exception:  # noqa: BLE001 - a damaged answer: do the work here
                pass
        return fn(*args)
    return answer


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
