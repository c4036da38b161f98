"""The predictions cache (reactbench.harness.cache): keys, reuse and regeneration."""

from __future__ import annotations

import numpy as np

from reactbench.results import read_result
from tests.pipeline import test_run_cli as run_cli
from tests.pipeline.test_hardening import PLUGINS, run_args


def test_cached_predictions_never_cross_models_or_options(tiny_dataset, tmp_path, cli,
                                                          fresh_cache):
    """Two classes sharing a ModelInfo name and version, and one option the model leaves out
    of its params, each get their own predictions."""
    values = {}
    for i, (cls, extra) in enumerate([("Scaled", ["--model-arg", "gain=1.0"]),
                                      ("Scaled", ["--model-arg", "gain=0.2"]),
                                      ("Halved", [])]):
        out = tmp_path / str(i)
        code, text, err = cli(*run_args(tiny_dataset, out, "--model", f"{PLUGINS}:{cls}",
                                        *extra))
        assert code == 0, err
        assert "reusing cached predictions" not in text
        rec = read_result(next(out.glob("*.json")))
        with np.load(rec["predictions"][0]["path"]) as z:
            values[i] = z["emotion"].copy()
    assert not np.allclose(values[0], values[1]) and not np.allclose(values[0], values[2])
    # the same run again reuses its own predictions
    code, text, _ = cli(*run_args(tiny_dataset, tmp_path / "again", "--model",
                                  f"{PLUGINS}:Halved"))
    assert code == 0 and "reusing cached predictions" in text


def test_predictions_are_cached_not_regenerated(tiny_dataset, tmp_path, cli, fresh_cache):
    args = ("--model", f"{run_cli.PLUGINS}:WithOptions", "--model-arg", "gain=0.5")
    code, out, err = cli(*run_cli.run_args(tiny_dataset, tmp_path / "a", *args))
    assert code == 0, err
    assert "reusing cached" not in out
    code, out2, err = cli(*run_cli.run_args(tiny_dataset, tmp_path / "b", *args))
    assert code == 0, err
    assert "reusing cached predictions" in out2
    a, b = (run_cli.results_in(tmp_path / d)["with_options"] for d in "ab")
    assert not a["predictions"][0]["reused"] and b["predictions"][0]["reused"]
    assert a["metrics"] == b["metrics"]
    assert a["model"]["params"] == {"gain": 0.5}
    # another protocol re-scores the same predictions
    code, out4, err = cli(*run_cli.run_args(tiny_dataset, tmp_path / "d", *args, "--protocol",
                                    "corrected"))
    assert code == 0, err
    assert "reusing cached predictions" in out4
    # another parameter value is another cache entry
    code, out3, _ = cli(*run_cli.run_args(tiny_dataset, tmp_path / "c", "--model",
                                  f"{run_cli.PLUGINS}:WithOptions", "--model-arg", "gain=0.25"))
    assert code == 0 and "reusing cached" not in out3

