"""Where the compiled numba kernels live: one on-disk cache per machine.

Every numba kernel in reactbench is declared with ``cache=True``. numba keys each cached kernel
by a hash of its source file, its argument types, the CPU and numba's version, and recompiles
whenever one of them changes. :func:`install` points those caches at
``<cache_dir()>/numba`` (:func:`reactbench.paths.cache_dir`; ``REACTBENCH_CACHE`` moves it), so
a kernel compiled once is loaded by every later process on the machine, from any checkout or
virtual environment, instead of living in a ``__pycache__`` next to the source (read-only in a
system install, gone in a fresh checkout). numba's own ``NUMBA_CACHE_DIR``, when set, takes
precedence (numba caches every other cached function there too, in the same layout).

:mod:`reactbench.metrics` imports this module before any kernel is defined; a module with numba
kernels outside it imports ``reactbench.jit`` first too.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import FunctionType

from numba import njit
from numba.core import caching, config

from reactbench.paths import cache_dir

# numba >= 0.60 names these without the leading underscore
_LOCATOR = getattr(caching, "UserProvidedCacheLocator", None) or caching._UserProvidedCacheLocator
_IMPL = getattr(caching, "CacheImpl", None) or caching._CacheImpl
_PACKAGE = "reactbench"


def kernel_cache_dir() -> Path:
    """The directory compiled kernels are cached in: ``$NUMBA_CACHE_DIR`` when set (also when
    set after numba was imported), else ``<cache_dir()>/numba``."""
    env = os.environ.get("NUMBA_CACHE_DIR") or config.CACHE_DIR
    return Path(env).expanduser() if env else cache_dir() / "numba"


class KernelCacheLocator(_LOCATOR):
    """numba cache locator for reactbench's kernels: ``kernel_cache_dir() / <source dir>_<hash>``.

    Applies to functions of reactbench's modules only (the package, its baselines and
    ReactDiff); anything else, or a directory that cannot be written, falls through to numba's
    own locators (``__pycache__`` next to the source, then numba's user-wide cache)."""

    def __init__(self, py_func: FunctionType, py_file: str) -> None:
        super().__init__(py_func, py_file)
        self._cache_path = str(kernel_cache_dir() / self.get_suitable_cache_subpath(py_file))

    @classmethod
    def from_function(cls, py_func: FunctionType, py_file: str):
        """The locator for ``py_func``, or None where numba's own locators should decide."""
        module = getattr(py_func, "__module__", "") or ""
        if not (module == _PACKAGE or module.startswith(_PACKAGE + ".")):
            return None
        # the source-file mixin's check: the file exists and the directory can be written
        return super(_LOCATOR, cls).from_function(py_func, py_file)


def install() -> None:
    """Put :class:`KernelCacheLocator` first in numba's locator list (idempotent). Must run
    before the kernels are defined: numba picks a function's locator when it is decorated."""
    locators = _IMPL._locator_classes
    if KernelCacheLocator not in locators:
        locators.insert(0, KernelCacheLocator)


install()


# numba compiles a kernel once per distinct argument type, and a constant argument (``True``,
# ``8``) is typed as a literal of its value: calls with True and False compile a large kernel
# twice. Passing such a flag through these makes it a run-time value of its type.
@njit(cache=True)
def runtime_bool(v):
    """``v`` as a run-time bool (never a literal type)."""
    return v != 0


@njit(cache=True)
def runtime_int(v):
    """``v`` as a run-time int64 (never a literal type)."""
    return v + 0
