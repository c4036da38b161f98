"""`reactbench leaderboard`: reads result files, writes a table to stdout or --output, refuses
to mix protocols, never replaces a file without --force, and merges runs with --merge-runs."""

from __future__ import annotations

from pathlib import Path

from reactbench.results import write_result
from tests.helpers.records import board, model_runs, record, values

GOLDEN = Path(__file__).resolve().parents[1] / "tables" / "golden"


def test_leaderboard_cli_reads_files_and_refuses_mixed_protocols(tmp_path, cli):
    for i, rec in enumerate(board()):
        write_result(rec, tmp_path / "a" / f"{i}.json")
    code, out, err = cli("leaderboard", tmp_path / "a", "--format", "md", "--table", "offline")
    assert code == 0, err
    assert out == (GOLDEN / "offline.md").read_text()
    code, out, _ = cli("leaderboard", tmp_path / "a", "--format", "latex", "--table", "offline",
                       "--output", tmp_path / "t.tex")
    assert code == 0 and (tmp_path / "t.tex").read_text() == (GOLDEN / "offline.tex").read_text()
    write_result(record("x", values(1, 2, 3, 4, 5, 6, 7), protocol="corrected"),
                 tmp_path / "b" / "x.json")
    code, out, err = cli("leaderboard", tmp_path / "a", tmp_path / "b" / "x.json")
    assert code == 2 and "refusing to mix protocols" in err and out == ""


def test_leaderboard_output_never_replaces_a_file_without_force(tmp_path, cli):
    for i, rec in enumerate(board()):
        write_result(rec, tmp_path / "a" / f"{i}.json")
    other = write_result(record("x", values(1, 2, 3, 4, 5, 6, 7)), tmp_path / "other.json")
    code, _, err = cli("leaderboard", tmp_path / "a", "--output", other)
    assert code == 2 and "other.json already exists; not replaced (pass --force" in err
    result = tmp_path / "a" / "0.json"
    before = (result.read_bytes(), other.read_bytes())
    code, _, err = cli("leaderboard", tmp_path / "a", "--output", result, "--force")
    assert code == 2 and "is one of the result files read" in err
    assert (result.read_bytes(), other.read_bytes()) == before
    table = tmp_path / "t.md"
    table.write_text("old")
    code, _, err = cli("leaderboard", tmp_path / "a", "--output", table)
    assert code == 2 and str(table) in err and table.read_text() == "old"
    code, _, err = cli("leaderboard", tmp_path / "a", "--output", table, "--force")
    assert code == 0, err
    assert table.read_text() == (GOLDEN / "offline.md").read_text()


def test_several_outputs_take_their_formats_from_their_extensions(tmp_path, cli):
    for i, rec in enumerate(board()):
        write_result(rec, tmp_path / "a" / f"{i}.json")
    outs = [tmp_path / f"t.{ext}" for ext in ("md", "tex", "csv", "txt")]
    args = [a for out in outs for a in ("--output", out)]
    code, said, err = cli("leaderboard", tmp_path / "a", "--table", "offline", *args)
    assert code == 0, err
    assert said.splitlines() == [f"wrote {out}" for out in outs]
    for out, fmt in zip(outs, ("md", "latex", "csv", "text")):
        code, want, err = cli("leaderboard", tmp_path / "a", "--table", "offline", "--format", fmt)
        assert code == 0 and out.read_text() == want, (out, err)
    assert outs[1].read_text() == (GOLDEN / "offline.tex").read_text()
    # --format applies to every output; an unknown extension is Markdown
    code, _, err = cli("leaderboard", tmp_path / "a", "--table", "offline", "--format", "csv",
                       "--output", tmp_path / "c.md", "--output", tmp_path / "t.table")
    assert code == 0, err
    assert (tmp_path / "c.md").read_text() == outs[2].read_text()
    assert (tmp_path / "t.table").read_text() == outs[2].read_text()
    code, _, err = cli("leaderboard", tmp_path / "a", "--table", "offline", "--output",
                       tmp_path / "m.table")
    assert code == 0 and (tmp_path / "m.table").read_text() == outs[0].read_text(), err
    # one refused output (or the same file twice) writes none of them
    code, _, err = cli("leaderboard", tmp_path / "a", "--output", tmp_path / "new.md",
                       "--output", outs[1])
    assert code == 2 and "t.tex already exists" in err and not (tmp_path / "new.md").exists()
    code, _, err = cli("leaderboard", tmp_path / "a", "--output", tmp_path / "new.md",
                       "--output", tmp_path / "x" / ".." / "new.md")
    assert code == 2 and "the same file twice" in err and not (tmp_path / "new.md").exists()


def test_leaderboard_output_directory_or_under_a_file(tmp_path, cli):
    write_result(board()[0], tmp_path / "a" / "0.json")
    (tmp_path / "afile").write_text("x")
    code, _, err = cli("leaderboard", tmp_path / "a", "--output", tmp_path, "--force")
    assert code == 2 and f"--output {tmp_path} is a directory" in err
    code, _, err = cli("leaderboard", tmp_path / "a", "--output", tmp_path / "afile" / "t.md")
    assert code == 2 and "afile is a file, not a directory" in err
    code, out, err = cli("leaderboard", tmp_path / "a", "--output", "")
    assert code == 2 and "--output is empty" in err and not out


def test_leaderboard_merge_runs_flag(tmp_path, cli):
    for i, r in enumerate(model_runs("my_model", [1.0, 1.2], [80.0, 82.0])):
        del r["_path"]
        write_result(r, tmp_path / f"seed{i}.json")
    code, _, err = cli("leaderboard", tmp_path)
    assert code == 2 and "--merge-runs" in err
    code, out, _ = cli("leaderboard", tmp_path, "--merge-runs")
    assert code == 0 and "| my_model | 1.100 ± 0.141 |" in out, out
