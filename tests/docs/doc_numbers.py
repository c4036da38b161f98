"""Numbers quoted in Markdown docs (pipe tables and sentences), compared with the files they
come from at the precision shown. Used by ``test_leaderboards.py``; holds no tests."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Sequence
from functools import cache
from itertools import takewhile
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parents[2]
NUMBER = r"\d+(?:\.\d+)?"  # the docs quote no negative numbers; "0.70-0.78" is a range
ARROWS = ("↑", "↓")


class Source(NamedTuple):
    """Where one quoted number comes from: ``file`` (relative to the repository root),
    ``where`` in it (for messages) and ``get``, which reads the value from the parsed file."""

    file: str
    where: str
    get: Callable[[Any], float]


class Runs(NamedTuple):
    """A cell quoting several runs as ``min-max (mean m)``."""

    runs: tuple[Source, ...]


class MeanStd(NamedTuple):
    """A cell quoting several runs as ``mean ± std`` (std with ddof 1, as --merge-runs)."""

    runs: tuple[Source, ...]


Cell = Source | Runs | MeanStd


class DocTable(NamedTuple):
    """A pipe table of ``doc``: the first one after ``anchor``; ``rows`` maps each row label to
    {column: source}; ``labels`` leading columns make the label (joined with " / ");
    ``unsourced`` lists the (row, column) cells quoted without a committed source."""

    doc: str
    anchor: str
    rows: dict[str, dict[str, Cell]]
    labels: int = 1
    unsourced: frozenset[tuple[str, str]] = frozenset()


class Phrase(NamedTuple):
    """A sentence of ``doc`` quoting numbers: ``template`` is its literal text with ``{}`` where
    each number stands (whitespace, line breaks included, matches any whitespace)."""

    doc: str
    template: str
    sources: tuple[Source, ...]


@cache
def load(file: str) -> Any:
    """The parsed ``file`` (relative to the repository root): JSON, or CSV as row dicts."""
    path = ROOT / file
    if path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))
    return json.loads(path.read_text(encoding="utf-8"))


def read(src: Source) -> float:
    return float(src.get(load(src.file)))


def expected(cell: Cell) -> list[tuple[float, str]]:
    """[(value, where it comes from)] for the numbers a cell quotes, in order."""
    if isinstance(cell, Source):
        return [(read(cell), f"{cell.file}: {cell.where}")]
    values = [read(s) for s in cell.runs]
    runs = "; ".join(f"{s.file}: {s.where}" for s in cell.runs)
    if isinstance(cell, MeanStd):
        mean = sum(values) / len(values)
        std = (sum((v - mean) ** 2 for v in values) / (len(values) - 1)) ** 0.5
        return [(mean, f"mean of {runs}"), (std, f"std (ddof 1) of {runs}")]
    return [(min(values), f"min of {runs}"), (max(values), f"max of {runs}"),
            (sum(values) / len(values), f"mean of {runs}")]


def matches(text: str, value: float) -> bool:
    """Whether ``text`` is ``value`` at the precision shown: within half a unit of its last
    digit. A bare ``0`` claims an exact zero (the docs write 0 only for values that are 0)."""
    if text == "0":
        return value == 0
    decimals = len(text.partition(".")[2])
    return abs(float(text) - value) <= 0.5 * 10.0 ** -decimals + 1e-12


def compare(context: str, quoted: Sequence[str], cell: Cell) -> list[str]:
    """Problems (messages naming ``context``, quoted and file values) of one quoted cell."""
    want = expected(cell)
    if len(quoted) != len(want):
        return [f"{context}: quotes {' '.join(quoted) or 'no number'}, expected {len(want)} "
                f"number(s) from {'; '.join(w for _, w in want)}"]
    return [f"{context}: quoted {q}, file value {v!r} ({where})"
            for q, (v, where) in zip(quoted, want) if not matches(q, v)]


def loose(text: str) -> str:
    """A regex for ``text`` literally, any run of whitespace matching any whitespace."""
    return re.sub(r"(?:\\\s)+", r"\\s+", re.escape(text))


def cells(line: str) -> list[str]:
    """The cells of one table line: split on unescaped ``|``, ``**`` and arrows dropped."""
    inner = line.strip().removeprefix("|").removesuffix("|")
    out = []
    for cell in re.split(r"(?<!\\)\|", inner):
        cell = cell.replace("\\|", "|").replace("**", "")
        for arrow in ARROWS:
            cell = cell.replace(arrow, "")
        out.append(cell.strip())
    return out


def table_after(text: str, anchor: str) -> tuple[list[str], list[list[str]]]:
    """(header cells, body rows) of the first pipe table after ``anchor`` in ``text``."""
    found = re.search(loose(anchor), text)
    if found is None:
        raise LookupError(f"{anchor!r} not found")
    lines = text[found.end():].splitlines()
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("|")), None)
    if start is None:
        raise LookupError(f"no table after {anchor!r}")
    block = list(takewhile(lambda line: line.lstrip().startswith("|"), lines[start:]))
    if len(block) < 2 or not re.fullmatch(r"[\s|:-]+", block[1]):
        raise LookupError(f"the table after {anchor!r} has no header rule")
    return cells(block[0]), [cells(line) for line in block[2:]]


def table_problems(spec: DocTable, text: str) -> list[str]:
    """Mismatches between ``spec``'s table in ``text`` (the doc's content) and its sources;
    also rows or numeric cells without a source, and mapped rows or columns gone missing."""
    header, body = table_after(text, spec.anchor)
    where = f"{spec.doc} (table after {spec.anchor!r})"
    problems, seen = [], set()
    for row in body:
        label = " / ".join(row[:spec.labels])
        seen.add(label)
        sources = spec.rows.get(label)
        if sources is None:
            problems.append(f"{where}: row {label!r} has no source in the test's map "
                            "(map it to its committed file, or list it as unsourced)")
            continue
        if len(row) != len(header):
            problems.append(f"{where}: row {label!r} has {len(row)} cells, header {len(header)}")
        for col in set(sources) - set(header):
            problems.append(f"{where}: column {col!r} (row {label!r}) is missing")
        for col, quoted in zip(header[spec.labels:], row[spec.labels:]):
            context = f"{where}, row {label!r}, column {col!r}"
            if col in sources:
                problems += compare(context, re.findall(NUMBER, quoted), sources[col])
            elif quoted and (label, col) not in spec.unsourced:
                problems.append(f"{context}: quotes {quoted!r} without a source in the "
                                "test's map")
    problems += [f"{where}: mapped row {label!r} is missing" for label in spec.rows
                 if label not in seen]
    return problems


def phrase_problems(phrase: Phrase, text: str) -> list[str]:
    """Mismatches between the numbers ``phrase`` quotes in ``text`` and its sources."""
    pattern = f"({NUMBER})".join(loose(part) for part in phrase.template.split("{}"))
    assert pattern.count(f"({NUMBER})") == len(phrase.sources), phrase.template
    found = re.search(pattern, text)
    if found is None:
        return [f"{phrase.doc}: phrase {phrase.template!r} not found (reworded? update the "
                "test's map)"]
    return [p for i, (q, src) in enumerate(zip(found.groups(), phrase.sources), 1)
            for p in compare(f"{phrase.doc}, phrase {phrase.template!r}, number {i}", [q], src)]
