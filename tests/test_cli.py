"""The CLI dispatcher: help works, unknown commands fail, errors print cleanly."""

import pytest

from reactbench import __version__, registry
from reactbench.cli import build_parser, main
from reactbench.data import synthetic
from reactbench.errors import ReactbenchError
from reactbench.metrics import fid


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


@pytest.mark.parametrize(("call", "argv", "library", "command_line"), [
    (lambda tmp: synthetic.generate(tmp / "d", frames=5),
     ["data", "synth", "--out", "d", "--frames", "5"],
     "frames=5: expected at least 100 frames (4 s at 25 fps)",
     "reactbench data: error: --frames 5: expected at least 100 frames (4 s at 25 fps)"),
    (lambda tmp: fid.image_fid(tmp / "a", tmp / "b", batch_size=0),
     ["fid", "a", "b", "--batch-size", "0"],
     "batch_size: expected a positive integer, got 0",
     "reactbench fid: error: --batch-size: expected a positive integer, got 0"),
    (lambda tmp: registry.parse_model_args(["gain"], ["b_mime"]),
     ["run", "--model", "b_mime", "--model-arg", "gain"],
     "model_args='gain': expected [MODEL@]key=value",
     "reactbench run: error: --model-arg 'gain': expected [MODEL@]key=value"),
])
def test_library_errors_name_parameters_and_the_cli_shows_flags(call, argv, library,
                                                                command_line, capsys, tmp_path,
                                                                monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ReactbenchError) as exc:
        call(tmp_path)
    assert str(exc.value) == library
    assert main(argv) == 2
    assert capsys.readouterr().err.strip() == command_line
    assert not (tmp_path / "d").exists() and not (tmp_path / "runs").exists()
