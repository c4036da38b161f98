"""Checks of a neighbour (appropriateness) matrix file for ``data check``: errors (shape, 0/1
values, empty rows: what the loader refuses) and warnings (a diagonal entry other than 1, which
the loader and metrics accept; a matrix saved in the wrong row order).

The official order is mirrored (``official_react2024.md`` 1.2, 1.4): row k and row k + M are the
same clip pair with the roles swapped (N = 2M), so the role swap pairs each row with
``mirror(k) = (k + M) % N``. A common mistake is the interleaved order (pair i at rows 2i and
2i + 1), whose role swap pairs k with ``k ^ 1``. Whatever structure a builder gives the role
swap (the official matrices are cut from a global matrix in four blocks ``[i, j]``,
``[i, j + W/2]``, ``[i + W/2, j]``, ``[i + W/2, j + W/2]``; reactbench's synthetic truth links
rows of the same context *and* orientation), it then shows up at the interleaved partner instead
of the mirrored one. Two statistics are measured for a row pairing ``p``:

* ``link(p)``: the fraction of rows k with ``nb[k, p(k)] == 1`` (each row marks its partner);
* ``equiv(p)``: the fraction of off-diagonal ones ``nb[k, j]`` kept when both ends are replaced
  by their partners (``nb[p(k), p(j)] == 1``): the matrix looks the same after the role swap.

The signature of an interleaved file is a statistic that holds for most rows under the
interleaved pairing (``>= ORDER_MAJORITY``) while it is at most ``1 / ORDER_CONTRAST`` of that
under the mirrored pairing, under the shifted pairing ``(1, 2), (3, 4), ..., (N-1, 0)`` and at
the matrix's off-diagonal density (what any pairing gets by chance), and neither statistic
reaches ``ORDER_MAJORITY`` under the mirrored pairing.
The shifted pairing is the control for consecutive CSV rows that really are alike (adjacent
clips of one session): that similarity helps both neighbouring pairings equally, a wrong order
only the interleaved one. Nothing is flagged for M < ``ORDER_MIN_PAIRS``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

ORDER_MAJORITY = 0.5  # the statistic must hold for at least this fraction under interleaving
ORDER_CONTRAST = 2.0  # ... and this many times its mirrored, shifted and chance (density) values
ORDER_MIN_PAIRS = 16  # too few rows to tell the orders apart below this many pairs


def pairings(n: int) -> dict[str, np.ndarray]:
    """The row pairings of an (n, n) matrix, n even: {"mirrored", "interleaved", "shifted"}."""
    k = np.arange(n)
    return {"mirrored": (k + n // 2) % n, "interleaved": k ^ 1,
            "shifted": np.where(k % 2 == 1, (k + 1) % n, (k - 1) % n)}


def order_statistics(nb: np.ndarray) -> dict[str, dict[str, float]]:
    """{pairing: {"link": ..., "equiv": ...}} of an (N, N) 0/1 matrix (N even), see above."""
    ones = np.asarray(nb) == 1
    n = ones.shape[0]
    off = ones & ~np.eye(n, dtype=bool)
    n_off = int(off.sum())
    out = {}
    for name, p in pairings(n).items():
        link = float(ones[np.arange(n), p].mean())
        equiv = float((off & ones[np.ix_(p, p)]).sum() / n_off) if n_off else 0.0
        out[name] = {"link": link, "equiv": equiv}
    return out


def interleaved_signature(nb: np.ndarray) -> str | None:
    """A description of the interleaved-order signature of ``nb`` (N, N), or None if absent."""
    n = np.asarray(nb).shape[0]
    if n % 2 or n // 2 < ORDER_MIN_PAIRS:
        return None
    stats = order_statistics(nb)
    mirrored = stats["mirrored"]
    if max(mirrored.values()) >= ORDER_MAJORITY:
        return None  # the role swap of the mirrored order already shows structure
    ones = np.asarray(nb) == 1
    n_off = int(ones.sum() - np.trace(ones))
    density = n_off / (n * (n - 1))
    what = {"link": "rows k have nb[k, k^1] == 1", "equiv": "links are kept when every row is "
            "swapped with row k^1"}
    for key, text in what.items():
        if key == "equiv" and n_off < n:
            continue  # too few links (less than one per row besides the diagonal) to compare
        hit = stats["interleaved"][key]
        mir, sh = stats["mirrored"][key], stats["shifted"][key]
        if hit >= ORDER_MAJORITY and max(mir, sh, density) * ORDER_CONTRAST <= hit:
            return (f"{hit:.0%} of {text} (the interleaved partner), but only {mir:.0%} under "
                    f"the mirrored partner k+M (M = {n // 2}) and {sh:.0%} under a shifted "
                    f"pairing")
    return None


def neighbour_findings(path: Path, n: int) -> tuple[list[str], list[str]]:
    """(errors, warnings) of the matrix file ``path`` that should be (n, n) 0/1, no empty row
    (errors otherwise, as the loader refuses them), diagonal 1 and in mirrored order (warnings
    otherwise); messages without the file name."""
    try:
        nb = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        return [f"cannot read the matrix ({exc}); expected an ({n}, {n}) .npy"], []
    if nb.shape != (n, n):
        return [f"shape {nb.shape}, expected ({n}, {n}): N = 2 x the pairs in the split CSV, "
                f"mirrored order"], []
    if not (np.issubdtype(nb.dtype, np.number) or nb.dtype == bool):
        return [f"dtype {nb.dtype}, expected numbers 0/1"], []
    nb = nb.astype(np.float64)
    errors, warnings = [], []
    bad = ~np.isin(nb, (0.0, 1.0))
    if bad.any():
        r, c = np.argwhere(bad)[0]
        errors.append(f"{int(bad.sum())} value(s) other than 0/1, first {nb[r, c]!r} at "
                      f"[{r}, {c}]")
    empty = np.flatnonzero((nb == 1).sum(axis=1) == 0)
    if len(empty):
        errors.append(f"{len(empty)} row(s) with no appropriate reaction (first: row "
                      f"{empty[0]}); every row needs at least one 1")
    zero_diag = np.flatnonzero(np.diag(nb) != 1)
    if len(zero_diag):
        warnings.append(f"{len(zero_diag)} diagonal entr(y/ies) not 1 (first: row "
                        f"{zero_diag[0]}); a speaker's own listener is expected to be "
                        f"appropriate; accepted (the loader and metrics do not require it)")
    order = interleaved_signature(nb)
    if order:
        warnings.append(f"rows look interleaved (pair i at rows 2i, 2i+1), not in the official "
                        f"mirrored order (pair i at rows i and i+M): {order}. Rebuild it in "
                        f"mirrored order (e.g. reactbench appropriate) or reorder its rows and "
                        f"columns")
    return errors, warnings


__all__ = ["neighbour_findings", "interleaved_signature", "order_statistics", "pairings",
           "ORDER_MAJORITY", "ORDER_CONTRAST", "ORDER_MIN_PAIRS"]
