"""The per-metric functions under the REACT2025/2026 protocols: variable-length lists with
``targets=`` give compute_metrics's numbers (which match the official loops), one array
scores like the list of its rows, and arguments that do not fit the protocol are refused."""

from __future__ import annotations

import numpy as np
import pytest

import reactbench.metrics as M
from reactbench.metrics import compute_metrics
from tests.metrics.react2025_cases import make_case

ALL = ["FRCorr", "FRDist", "FRSyn", "FRDiv", "FRVar", "MAE"]


def _functional(preds, targets, speakers, protocol):
    return {
        "FRCorr": M.fr_corr(preds, targets=targets, protocol=protocol, n_jobs=1),
        "FRDist": M.fr_dist(preds, targets=targets, protocol=protocol, n_jobs=1),
        "FRSyn": M.fr_syn(preds, speakers, protocol=protocol, n_jobs=1),
        "FRDiv": M.fr_div(preds, protocol=protocol),
        "FRVar": M.fr_var(preds, protocol=protocol),
        "MAE": M.fr_mae(preds, targets, protocol=protocol),
    }


@pytest.mark.parametrize("protocol", ["react2025", "react2025-corrected", "react2026"])
def test_each_function_equals_compute_metrics_on_ragged_lists(protocol):
    preds, targets, speakers = make_case(7, 5, 3, lo=58, hi=160)
    assert len({p.shape[1] for p in preds}) > 1  # variable lengths
    want = compute_metrics(preds, None, speakers, None, targets=targets, protocol=protocol,
                           metrics=ALL, n_jobs=1)
    assert _functional(preds, targets, speakers, protocol) == dict(want)


def test_one_array_scores_like_the_list_of_its_rows():
    preds, targets, speakers = make_case(8, 3, 2, lo=70, hi=70)
    a = _functional(preds, targets, speakers, "react2025")
    b = _functional(np.stack(preds), np.stack(targets), np.stack(speakers), "react2025")
    assert a == b


def test_mae_defaults_to_react2026():
    preds, targets, _ = make_case(9, 3, 2, lo=60, hi=90)
    want = compute_metrics(preds, None, None, None, targets=targets, protocol="react2026",
                           metrics=["MAE"])["MAE"]
    assert M.fr_mae(preds, targets) == want


def test_bad_shapes_and_arguments_are_named():
    preds, targets, speakers = make_case(10, 3, 2, lo=60, hi=90)
    short = [targets[0], targets[1][:, :-1], targets[2]]
    want = f"targets\\[1\\]: expected T_k = {preds[1].shape[1]} frames like pred\\[1\\]"
    with pytest.raises(ValueError, match=want):
        M.fr_corr(preds, targets=short, protocol="react2025")
    with pytest.raises(ValueError, match=r"targets\[2\]: expected K = 10 targets like "
                                         r"targets\[0\]"):
        M.fr_dist(preds, targets=[targets[0], targets[1], targets[2][:4]], protocol="react2025")
    with pytest.raises(ValueError, match=r"targets\[0\]: expected shape \(K, T_k, 25\)"):
        M.fr_corr(preds, targets=[t[0] for t in targets], protocol="react2025")
    with pytest.raises(ValueError, match="targets: got None"):
        M.fr_corr(preds, protocol="react2025")
    with pytest.raises(ValueError, match=r"targets: expected N = 3 items"):
        M.fr_corr(preds, targets=targets[:2], protocol="react2025")
    with pytest.raises(ValueError, match=r"speaker\[0\]: expected T_k = "):
        M.fr_syn(preds, [s[:-2] for s in speakers], protocol="react2025")
    with pytest.raises(ValueError, match=r"pred\[1\]: expected alpha = 2"):
        M.fr_div([preds[0], preds[1][:1], preds[2]], protocol="react2025")
    with pytest.raises(ValueError, match="listener_gt: protocol 'react2025' does not read it"):
        M.fr_corr(preds, speakers, targets=targets, protocol="react2025")
    with pytest.raises(ValueError, match="targets: protocol 'official' takes"):
        M.fr_corr(preds, targets=targets)
    with pytest.raises(ValueError, match="FRDvs is not defined under protocol 'react2025'"):
        M.fr_dvs(preds, protocol="react2025")
    with pytest.raises(ValueError, match="protocol"):
        M.fr_var(preds, protocol="react2052")
