"""The numba kernel cache (reactbench/jit.py): every kernel is cached on disk, in the user's
kernel cache, and a second process compiles nothing."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

from numba.core.registry import CPUDispatcher

from reactbench import jit

from .helpers.warm_kernels import GROUPS

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("reactbench", "reactbench.baselines", "reactbench.reactdiff")

# a second process: score every metric under every protocol (and run the unpruned FRDist
# minima), then report each kernel's cache hits and misses (numba counts both per signature)
REPORT = """
import json, sys
from numba.core.registry import CPUDispatcher
from tests.helpers.warm_kernels import warm_names
from tests.test_jit import kernel_modules
warm_names(sys.argv[1:])
out = {}
for mod in kernel_modules():
    for name, obj in vars(mod).items():
        if isinstance(obj, CPUDispatcher) and obj.py_func.__module__ == mod.__name__:
            out[f"{mod.__name__}.{name}"] = [len(obj.signatures),
                                              sum(obj.stats.cache_hits.values()),
                                              sum(obj.stats.cache_misses.values())]
print(json.dumps(out))
"""


def kernel_modules() -> list:
    """The imported modules of reactbench (with its baselines and ReactDiff) whose source
    mentions numba."""
    mods = []
    for pkg_name in PACKAGES:
        pkg = importlib.import_module(pkg_name)
        for base in pkg.__path__:
            for path in sorted(Path(base).rglob("*.py")):
                if "numba" not in path.read_text(encoding="utf-8"):
                    continue
                rel = path.relative_to(base).with_suffix("")
                parts = [p for p in rel.parts if p != "__init__"]
                mods.append(importlib.import_module(".".join([pkg_name, *parts])))
    return mods


def _kernels() -> dict[str, CPUDispatcher]:
    return {f"{m.__name__}.{k}": v for m in kernel_modules() for k, v in vars(m).items()
            if isinstance(v, CPUDispatcher) and v.py_func.__module__ == m.__name__}


def test_every_kernel_is_cached_in_the_kernel_cache():
    kernels = _kernels()
    assert len(kernels) >= 20  # the metric kernels were found
    for name, kernel in kernels.items():
        impl = getattr(kernel._cache, "_impl", None)  # numba's NullCache without cache=True
        assert impl is not None, f"{name}: not cached on disk (njit(cache=True) expected)"
        assert isinstance(impl.locator, jit.KernelCacheLocator), name
        assert Path(impl.locator.get_cache_path()).parent == jit.kernel_cache_dir(), name


def test_no_kernel_is_a_prange_loop():
    """Parallel work goes through run_chunks (DEVELOPERS.md): a parallel=True kernel compiles
    in about twice the time."""
    parallel = [name for name, kernel in _kernels().items()
                if kernel.targetoptions.get("parallel")]
    assert not parallel, f"parallel=True kernels: {parallel}"


def _report(env: dict) -> dict:
    names = [m for group in GROUPS for m in group]
    done = subprocess.run([sys.executable, "-c", REPORT, *names], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_a_second_process_loads_every_kernel_from_the_cache():
    """A process run on the session's kernel cache, once an earlier process compiled the
    kernels into it (the xdist warm-up or an earlier session; where the first run here still
    compiles some, that run, and a second run is checked), finds every kernel it calls in the
    cache and compiles none."""
    env = dict(os.environ)
    report = _report(env)
    if any(misses for signatures, _, misses in report.values() if signatures):
        report = _report(env)  # the first run compiled (and cached) kernels: check a second
    called = {name: r for name, r in report.items() if r[0]}
    assert len(called) >= 10
    for name, (_, hits, misses) in called.items():
        assert misses == 0 and hits > 0, f"{name}: compiled again ({misses} misses, {hits} hits)"
    assert any(jit.kernel_cache_dir().rglob("*.nbi"))


def test_reactbench_cache_moves_the_kernel_cache(tmp_path):
    code = ("import numpy as np; from reactbench import jit; from reactbench.metrics import "
            "fr_div; fr_div(np.random.default_rng(0).random((2, 3, 8, 25), dtype=np.float32)); "
            "print(jit.kernel_cache_dir())")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["REACTBENCH_CACHE"] = str(tmp_path)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == str(tmp_path / "numba")
    index = list((tmp_path / "numba").rglob("diversity.*.nbi"))
    assert index and all(p.parent.name.startswith("metrics_") for p in index)
