"""Protocols as data: names, aliases, versions, and the constants the metrics use."""

from __future__ import annotations

import numpy as np
import pytest

from reactbench import protocols
from reactbench.metrics import PROTOCOLS, compute_metrics
from reactbench.metrics.constants import CCC_EPS, DTW_GROUPS, REA_HOP, REA_WINDOW, TLCC_MAX_LAG
from reactbench.protocols import CORRECTED, OFFICIAL, Protocol, get_protocol, record_protocol


def test_the_react2024_protocols_are_named_as_result_files_name_them():
    assert PROTOCOLS == ("official", "corrected", "react2025", "react2025-corrected",
                         "react2026") == protocols.protocol_names()
    assert get_protocol("react2024-official") is OFFICIAL is get_protocol("official")
    assert get_protocol("react2024-corrected") is CORRECTED
    assert get_protocol(CORRECTED) is CORRECTED
    assert OFFICIAL.identity() == {"name": "official", "version": "1"}


def test_react2024_defines_the_challenge_numbers():
    for p in (OFFICIAL, CORRECTED):
        assert (p.fps, p.clip_frames, p.alpha, p.appropriateness) == (25, 750, 10, "neighbours")
        assert p.metrics == ("FRCorr", "FRDist", "FRDiv", "FRVar", "FRDvs", "FRRea", "FRSyn")
        assert p.tlcc_max_lag == 49 and p.tlcc_n_lags == 99
    assert OFFICIAL.tlcc_generations == "first" and CORRECTED.tlcc_generations == "all"
    assert not OFFICIAL.corrected and CORRECTED.corrected


def test_the_kernels_read_their_constants_from_the_protocol():
    assert CCC_EPS == OFFICIAL.ccc_eps == 1e-8
    assert DTW_GROUPS == ((0, 15, 1 / 15), (15, 17, 1.0), (17, 25, 1 / 8))
    assert TLCC_MAX_LAG == OFFICIAL.tlcc_max_lag
    assert (REA_WINDOW, REA_HOP) == (OFFICIAL.rea_window, OFFICIAL.rea_hop) == (50, 25)


@pytest.mark.parametrize("bad", ["Official", "react2027", "", None, 3])
def test_an_unknown_protocol_names_the_argument_and_the_choices(bad):
    with pytest.raises(ValueError, match=r"protocol: expected one of \['official', 'corrected', "
                                         r"'react2025', 'react2025-corrected', 'react2026'\] "
                                         r"\(aliases: 'react2024-official', "
                                         r"'react2024-corrected'\), got "):
        get_protocol(bad)


def test_records_without_a_protocol_version_are_version_1():
    assert record_protocol({"protocol": "official"}) == ("official", "1")
    assert record_protocol({"protocol": "corrected", "protocol_version": "2"}) == ("corrected",
                                                                                   "2")


def test_an_alias_scores_like_its_protocol_and_records_the_canonical_name():
    rng = np.random.default_rng(0)
    pred = rng.random((3, 2, 60, 25), dtype=np.float32)
    gt = rng.random((3, 60, 25), dtype=np.float32)
    nb = np.eye(3)
    a = compute_metrics(pred, gt, gt, nb, protocol="react2024-corrected", metrics=["FRSyn"])
    b = compute_metrics(pred, gt, gt, nb, protocol="corrected", metrics=["FRSyn"])
    assert a.protocol == b.protocol == "corrected" and a["FRSyn"] == b["FRSyn"]


def test_a_protocol_object_with_other_lags_changes_frsyn_bounds():
    short = Protocol(**{**CORRECTED.__dict__, "name": "short-lags", "tlcc_max_lag": 9})
    rng = np.random.default_rng(1)
    pred = rng.random((2, 2, 20, 25), dtype=np.float32)
    sp = rng.random((2, 20, 25), dtype=np.float32)
    scores = compute_metrics(pred, None, sp, None, protocol=short, metrics=["FRSyn"])
    assert scores.protocol == "short-lags" and 0 <= scores["FRSyn"] <= 9
    with pytest.raises(ValueError, match="corrected FRSyn needs T >= 50"):
        compute_metrics(pred, None, sp, None, protocol="corrected", metrics=["FRSyn"])


def test_react2025_and_react2026_define_the_mars_numbers():
    r25, r25c, r26 = (get_protocol(n) for n in ("react2025", "react2025-corrected", "react2026"))
    for p in (r25, r25c, r26):
        assert (p.fps, p.clip_frames, p.appropriateness, p.alpha) == (30, None, "targets", 10)
        assert (p.window, p.speaker_context, p.offline_chunk) == (30, 60, 750)
        assert (p.targets_per_sample, p.target_rule, p.target_seed) == (10, "session-pool", 1234)
        assert p.tlcc_max_lag == 49 and p.round_aus and p.div_single == "error"
        assert p.metrics[:5] == ("FRCorr", "FRDist", "FRSyn", "FRDiv", "FRVar")
        assert p.version == "1" and p.mae_columns == (15, 25)
    assert "MAE" not in r25.metrics and "MAE" in r25.available_metrics
    assert r26.metrics[-1] == "MAE" and not r26.bidirectional and r25.bidirectional
    assert r25c.corrected and r25c.tlcc_generations == "all" and r25.tlcc_generations == "first"
    assert OFFICIAL.available_metrics == OFFICIAL.metrics and OFFICIAL.div_single == "zero"
