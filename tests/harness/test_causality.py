"""The online causality check (reactbench.harness.causality) through reactbench run."""

from __future__ import annotations

from tests.helpers.runs import PLUGINS, run_args


def test_leaky_online_model_is_caught(tiny_dataset, tmp_path, cli):
    out = tmp_path / "res"
    code, _, err = cli(*run_args(tiny_dataset, out, "--model", f"{PLUGINS}:Leaky",
                                 "--task", "online", "--window", "50"))
    assert code == 2
    assert "online causality check failed for model 'leaky'" in err
    assert "window 0 (frames [0, 50))" in err
    assert not list(out.glob("*.json"))


def test_unreproducible_online_model_is_caught(tiny_dataset, tmp_path, cli):
    code, _, err = cli(*run_args(tiny_dataset, tmp_path / "o", "--model", f"{PLUGINS}:Unseeded",
                                 "--task", "online", "--window", "50"))
    assert code == 2
    assert "online causality check failed for model 'unseeded'" in err
    assert "must be reproducible for a fixed seed" in err


def test_stateful_causal_online_model_passes(tiny_dataset, tmp_path, cli):
    code, _, err = cli(*run_args(tiny_dataset, tmp_path / "a", "--model",
                                 f"{PLUGINS}:StatefulCausal", "--task", "online",
                                 "--window", "30"))
    assert code == 0, err

