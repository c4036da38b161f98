"""Cell escaping (Markdown, LaTeX) and the notes under a Markdown table, for
``reactbench.tables``.

Notes are true per row: what ``±`` means is stated for each kind of spread present (bootstrap
interval with its B, standard deviation over generation seeds, or over the runs merged into a
row by :mod:`reactbench.merge`), naming the rows when kinds differ; online
rows whose result records no passed causality check (e.g. ``reactbench score`` of a prediction
file) carry ``UNCHECKED`` and the note says why; rows whose result file no longer matches the
digest of its scored content (changed after reactbench wrote it) carry ``EDITED`` and a note
names the files.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from reactbench.results import edited

UNCHECKED = "†"  # marks online rows without a causality check
EDITED = "‡"  # marks rows whose result file does not match its digest

_MD_ALWAYS = set("\\`*[]<>|~$&#")
_TEX = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "%": r"\%",
    "#": r"\#", "_": r"\_", "^": r"\textasciicircum{}", "~": r"\textasciitilde{}",
    "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}", "±": r"$\pm$",
    UNCHECKED: r"\textsuperscript{\dag}", EDITED: r"\textsuperscript{\ddag}",
}
_TEX_RE = re.compile("|".join(map(re.escape, _TEX)))


def _one_line(text: str) -> str:
    return re.sub(r"\s*[\r\n]+\s*", " ", str(text))


def md_escape(text: str) -> str:
    """``text`` as literal Markdown inline text (safe in a GFM table cell or bold caption).

    Backslash-escapes the characters that start markup (``| * ` [ ] < > ~ $ & # \\``) and
    every ``_`` except one between two letters/digits (which never starts emphasis, so
    ``B_Mime`` stays as written); line breaks become spaces.
    """
    text = _one_line(text)
    out = []
    for i, ch in enumerate(text):
        if ch in _MD_ALWAYS:
            out.append("\\" + ch)
        elif ch == "_" and not (0 < i < len(text) - 1 and text[i - 1].isalnum()
                                and text[i + 1].isalnum()):
            out.append("\\_")
        else:
            out.append(ch)
    return "".join(out)


def tex_escape(text: str) -> str:
    """``text`` as literal LaTeX text: ``\\ { } $ & % # _ ^ ~ < > |`` escaped (one pass),
    ``±`` as ``$\\pm$``, ``UNCHECKED`` and ``EDITED`` as a superscript (double) dagger; line
    breaks become spaces."""
    return _TEX_RE.sub(lambda m: _TEX[m.group()], _one_line(text))


def causality_checked(rec: dict) -> bool:
    """True when the record holds a passed causality check (online runs of ``reactbench run``)."""
    return bool((rec.get("causality") or {}).get("passed"))


def unchecked(rec: dict) -> bool:
    """An online row whose causality was not verified (shown with ``UNCHECKED``)."""
    return rec["task"] == "online" and not causality_checked(rec)


def _spread(rec: dict, entry: dict) -> tuple | None:
    """The kind of ``±`` a metric cell shows (None: no ±); mirrors tables._half_width."""
    if entry.get("value") is None:
        return None
    if entry.get("ci"):
        return ("ci", rec["bootstrap"], len(rec["seeds"]))
    if entry.get("std") is not None and rec.get("runs"):
        return ("runs", len(rec["runs"]))
    if entry.get("std") is not None:
        return ("std",)
    return None


def _describe(kind: tuple) -> str:
    if kind[0] == "std":
        return "standard deviation over generation seeds"
    if kind[0] == "runs":
        return (f"standard deviation over {kind[1]} runs merged into the row (e.g. training "
                "seeds; each run's value is its mean over generation seeds)")
    _, boot, n_seeds = kind
    b = f"B = {boot}" if boot else "B not recorded"
    text = f"half-width of the 95% bootstrap interval over speakers ({b})"
    if n_seeds > 1:
        text += f", interval bounds averaged over {n_seeds} generation seeds"
    return text


def spread_note(records: Sequence[dict], labels: Sequence[str]) -> str | None:
    """What ``±`` means: one sentence per kind present; rows (``labels``, Markdown) are named
    when the table holds more than one kind (and metrics, when a row shows several kinds)."""
    kinds: dict[tuple, dict[str, list[str]]] = {}
    row_kinds: dict[str, set] = {}
    for rec, label in zip(records, labels):
        for m, e in rec["metrics"].items():
            kind = _spread(rec, e)
            if kind is not None:
                kinds.setdefault(kind, {}).setdefault(label, []).append(m)
                row_kinds.setdefault(label, set()).add(kind)
    if not kinds:
        return None
    if len(kinds) == 1:
        return f"± = {_describe(next(iter(kinds)))}."
    parts = []
    for kind, rows in kinds.items():
        names = [lab if len(row_kinds[lab]) == 1 else f"{lab} ({', '.join(ms)})"
                 for lab, ms in rows.items()]
        parts.append(f"{_describe(kind)} for {', '.join(names)}")
    return f"± differs by row: {'; '.join(parts)}."


def online_note(online: Sequence[dict]) -> str:
    """How online rows were generated, and which of them had their causality verified."""
    wins = sorted({r.get("window") for r in online if r.get("window")})
    text = (f"Online: generated window by window ({', '.join(map(str, wins)) or '?'} frames), "
            "each call seeing speaker frames up to the window's end")
    bad = [r for r in online if unchecked(r)]
    if not bad:
        return text + "; causality verified by perturbing future frames."
    why = []
    if any(r["kind"] == "score" for r in bad):
        why.append("scored from saved predictions (`reactbench score` runs no causality check; "
                   "window-by-window generation is as declared)")
    if any(r["kind"] != "score" for r in bad):
        why.append("the result file records no passed causality check")
    if len(bad) == len(online):
        return text + f". {UNCHECKED} causality not verified: {'; '.join(why)}."
    return (text + f"; causality verified by perturbing future frames, except rows marked "
            f"{UNCHECKED}: {'; '.join(why)}.")


def edited_sources(rec: dict) -> list[str]:
    """The result files of a row that do not match their digest (a merged row: those of its
    runs; else the record's own file, or its model when it has none)."""
    if rec.get("runs"):
        return [run["source"] for run in rec["runs"] if run.get("edited")]
    return [rec.get("_path", rec["model"]["name"])] if edited(rec) else []


def edited_note(records: Sequence[dict], esc=str) -> str | None:
    """The note on rows marked ``EDITED`` (None when there are none); file names escaped with
    ``esc``."""
    files = [f for r in records for f in edited_sources(r)]
    if not files:
        return None
    return (f"{EDITED} edited: the scored content of {', '.join(esc(f) for f in files)} does "
            "not match the digest it was written with (changed after reactbench wrote it); "
            "its numbers are not what reactbench computed.")


def targets_notes(records: Sequence[dict]) -> list[str]:
    """Notes on the per-sample targets of a table (none for neighbour-matrix protocols)."""
    t = records[0].get("targets")
    if not t:
        return []
    align = {"linear": "linear resampling with AUs re-thresholded (a deviation from the "
                       "challenge's learned post-processor)",
             "emotionvae": "the EmotionVAE post-processor (checkpoint sha256 "
                           f"{str(t.get('checkpoint_sha256'))[:12]}, torch seed "
                           f"{t.get('torch_seed')}; a deviation: its latent draws are seeded "
                           "by reactbench, not as in the challenge run)"
             }.get(t["gt_align"], t["gt_align"])
    out = [f"Targets: {md_escape(t['rule'])} rule, K = {t['k']} per sample (seed {t['seed']}, "
           f"ids sha256 {t['ids_sha256'][:12]}); targets of another length aligned by "
           f"{md_escape(align)}."]
    forced = [r for r in records if "FRCorr/real" in r["extra"]]
    if forced:
        label = {id(r): md_escape(r["model"].get("display") or r["model"]["name"])
                 for r in forced}
        real = ", ".join(f"{label[id(r)]} {r['extra']['FRCorr/real']:.3f}" for r in forced)
        names = ", ".join(label[id(r)] for r in forced)
        out.append(f"FRCorr of {names} is reported as the challenge's script "
                   f"reports it (alpha, predictions equal to their targets); real CCC value: "
                   f"{real}.")
    return out
