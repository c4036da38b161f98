"""Run options (reactbench.harness.options): checked before any data is loaded; errors name the
library parameter, the command line its flag."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(("flags", "needle"), [
    (["--frames", "-5"], "--frames must be >= 1 (got -5)"),
    (["--frames", "0"], "--frames must be >= 1 (got 0)"),
    (["--bootstrap", "-1"], "--bootstrap must be 0 (no intervals) or >= 2"),
    (["--bootstrap", "1"], "--bootstrap must be 0 (no intervals) or >= 2 resamples (got 1)"),
    (["--bootstrap", "10000000000000"], "--bootstrap 10000000000000: at most 100000"),
    (["--device", "bogus"], "--device must be cpu, cuda or cuda:N (got 'bogus')"),
    (["--jobs", "0"], "--jobs must be -1 (all cores) or >= 1"),
    (["--metrics", ","], "--metrics names no metric"),
    (["--metrics", "FRCorr,FRCorr"], "names ['FRCorr'] more than once"),
    (["--metrics", "FRCor"], "unknown metric(s) ['FRCor']"),
])
@pytest.mark.parametrize("command", ["run", "score"])
def test_shared_flags_are_checked_before_loading(tmp_path, cli, flags, needle, command):
    missing = tmp_path / "no_such_dataset"  # never reached: the flag error comes first
    args = [command, "--data", str(missing), "--out", str(tmp_path / "o"), "--no-progress",
            "--jobs", "1", *flags]
    args += ["--model", "b_mime"] if command == "run" else ["--predictions", str(tmp_path)]
    code, _, err = cli(*args)
    assert code == 2 and needle in err, err


def test_run_refuses_a_repeated_seed(tmp_path, cli):
    code, _, err = cli("run", "--model", "b_mime", "--data", str(tmp_path / "none"), "--out",
                       str(tmp_path / "o"), "--no-progress", "--seed", "0,1,0")
    assert code == 2 and "--seed names [0] more than once" in err, err
    code, _, err = cli("run", "--model", "b_mime", "--data", str(tmp_path / "none"), "--out",
                       str(tmp_path / "o"), "--no-progress", "--seed", "1,-3")
    assert code == 2 and "--seed -3: generation seeds must be integers >= 0" in err, err
    assert not (tmp_path / "o").exists()


def test_library_errors_name_parameters_and_the_cli_names_flags():
    from reactbench.commands._common import error_message
    from reactbench.errors import ReactbenchError
    from reactbench.harness import RunOptions, check_score_options, check_window_fits

    with pytest.raises(ReactbenchError) as exc:
        RunOptions(alpha=0).validate()
    assert str(exc.value) == "alpha must be >= 1 (got 0)"
    assert error_message(exc.value) == "--samples must be >= 1 (got 0)"
    assert exc.value.params == ("alpha",)
    with pytest.raises(ReactbenchError) as exc:
        check_window_fits(120, 120, "test", "choose a shorter window")
    assert str(exc.value).startswith("window=120: the clips of test hold T = 120 frames")
    assert error_message(exc.value).startswith("--window 120: the clips of test")
    with pytest.raises(ReactbenchError) as exc:
        check_score_options(task="offline", window=25, seed=0, name=None)
    assert str(exc.value) == "window=25 applies to task=online only (got task=offline)"
    assert error_message(exc.value) == "--window 25 applies to --task online only (got --task " \
        "offline)"
    with pytest.raises(ReactbenchError, match="protocol: expected one of"):
        RunOptions(protocol="react2030").validate()
    RunOptions(protocol="react2024-corrected").validate()  # aliases are accepted
