"""Generation (reactbench.harness.generate): window length and memory checks made before any
model work."""

from __future__ import annotations

import pytest

from tests.helpers.quick_runs import PLUGINS, run_args


@pytest.mark.parametrize("window", ["120", "100000"])
def test_online_window_covering_the_whole_clip_is_refused(tiny_dataset, tmp_path, cli, window):
    code, _, err = cli(*run_args(tiny_dataset, tmp_path / "o", "--model", "b_mime", "--task",
                                 "online", "--window", window))
    assert code == 2 and f"--window {window}: the clips of test hold T = 120 frames" in err, err
    assert not list((tmp_path / "o").glob("*.json"))


def test_samples_beyond_memory_are_refused_before_generating(tiny_dataset, tmp_path, cli,
                                                              monkeypatch):
    from reactbench.harness import generate

    monkeypatch.setattr(generate, "physical_memory", lambda: 2**30)
    code, _, err = cli(*run_args(tiny_dataset, tmp_path / "o", "--model", "b_mime"),
                       "--samples", "100000")
    assert code == 2 and "--samples 100000: the predictions (N, alpha, T, 25) = (8, 100000, " \
        "120, 25) float32 need 8.9 GiB, more than this machine's 1.0 GiB" in err, err
    assert not list((tmp_path / "o").glob("*.json"))


def test_online_mode_checks_the_frames_offline_generate_returns(tiny_dataset, tmp_path, cli):
    code, _, err = cli(*run_args(tiny_dataset, tmp_path, "--model", f"{PLUGINS}:ExtraFrames",
                                 "--task", "online", "--window", "40"))
    assert code == 2 and "'extra_frames': generate returned reactions of shape" in err, err
    assert "for a prefix of 40 speaker frames" in err
