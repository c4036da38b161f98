"""The repository describes the software as it is: a short README, no development history, no
references to files outside the repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# assembled from parts so that this file does not match itself
HISTORY = re.compile("|".join([r"sessions? ?[0-9]", "device" + " machine", r"issue [0-9]"]),
                     re.IGNORECASE)
OUTSIDE = "../" + "shared"  # split so this file does not name it


def _tracked_text_files() -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                             timeout=60, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    files = []
    for name in out:
        path = ROOT / name
        if path.suffix in (".npz", ".npy", ".pt", ".png", ".wav") or not path.is_file():
            continue
        try:
            path.read_text()
        except UnicodeDecodeError:
            continue
        files.append(path)
    return files


def test_readme_is_at_most_200_lines():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 200


def test_no_tracked_file_tells_development_history_or_points_outside():
    found = []
    for path in _tracked_text_files():
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if HISTORY.search(line) or OUTSIDE in line:
                found.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()[:80]}")
    assert found == []


def test_the_history_pattern_finds_what_it_should():
    session, issue = "Session", "issue"  # assembled so this file does not match itself
    assert HISTORY.search(f"measured in {session} 12") and HISTORY.search(f"see {issue} 5")
    assert HISTORY.search(f"{session.lower()}12 of the notebook")
    assert not HISTORY.search("sessions of MARS") and not HISTORY.search("an issue with")
