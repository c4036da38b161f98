"""The CLI dispatcher: help works, unknown commands fail, errors print cleanly."""

import pytest

from reactbench import __version__
from reactbench.cli import build_parser, main


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "COMMAND" in out


def test_version(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert __version__ in capsys.readouterr().out


def test_no_command_prints_help(capsys):
    assert main([]) == 1
    assert "usage" in capsys.readouterr().out


def test_unknown_command_fails():
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["no-such-command"])
    assert exc.value.code == 2


@pytest.mark.parametrize(("argv", "needle"), [
    (["run", "--model", "b_mime", "--seed", "0,"], "--seed expects integers"),
    (["run", "--model", "b_mime", "--seed", "0,,1"], "no empty items"),
    (["run", "--model", "b_mime", "--metrics", ""], "--metrics names no metric"),
    (["run", "--model", "b_mime", "--metrics", "FRCorr,"], "has an empty item"),
    (["run", "--model", "b_mime", "--out", ""], "--out '': expected a folder path"),
    (["score", "--predictions", "p.npz", "--out", " "], "--out ' ': expected a folder path"),
    (["train", "--model", "reactdiff", "--out", ""], "--out '': expected a folder path"),
])
def test_empty_flag_values_are_refused_not_defaulted(argv, needle, capsys, tmp_path,
                                                     monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert needle in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()  # nothing fell back to the default folder


def test_data_check_uses_the_frames_run_loads():
    from reactbench.constants import DEFAULT_FRAMES

    for cmd in ("check", "summary"):
        args = build_parser().parse_args(["data", cmd] + (["x"] if cmd == "check" else []))
        assert args.frames == DEFAULT_FRAMES == build_parser().parse_args(
            ["run", "--model", "b_mime"]).frames
