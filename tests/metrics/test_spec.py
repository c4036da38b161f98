"""The metric table: one spec per metric, and everything else reads it."""

from __future__ import annotations

import numpy as np

from reactbench import tables
from reactbench.metrics import (
    DIRECTIONS,
    METRIC_GROUPS,
    METRIC_LABELS,
    METRIC_NAMES,
    METRIC_VERSIONS,
    METRICS,
    compute_metrics,
    metric_spec,
)
from reactbench.metrics.spec import direction, readers


def test_every_public_view_is_read_from_the_table():
    assert tuple(METRICS) == METRIC_NAMES
    for m, s in METRICS.items():
        assert (DIRECTIONS[m], METRIC_LABELS[m], METRIC_VERSIONS[m]) == (s.direction, s.label,
                                                                           s.version)
        assert m in METRIC_GROUPS[s.group]
        assert s.direction in ("higher", "lower") and s.precision >= 0 and callable(s.compute)
    assert tables.GROUPS == tuple(METRIC_GROUPS.items())


def test_labels_and_unknown_metrics():
    assert metric_spec("FRRea-feat") is METRICS["FRRea"] and metric_spec("MAE?") is None
    assert direction("FRDist") == "lower" and direction("a plug-in score") == "higher"
    assert readers("speaker", METRIC_NAMES) == ["FRSyn"]
    assert readers("neighbours", METRIC_NAMES) == ["FRCorr", "FRDist", "FRRea"]


def test_table_cells_use_the_spec_precision():
    record = {"metrics": {"FRCorr": {"value": 0.123456}, "FRDist": {"value": 9.87654},
                          "Other": {"value": 1.234567}}}
    assert tables._cell(record, "FRCorr")[0] == "0.123"
    assert tables._cell(record, "FRDist")[0] == "9.88"
    assert tables._cell(record, "Other")[0] == "1.2346"


def test_compute_metrics_returns_each_requested_spec_in_table_order():
    rng = np.random.default_rng(2)
    pred = rng.random((3, 2, 30, 25), dtype=np.float32)
    gt = rng.random((3, 30, 25), dtype=np.float32)
    s = compute_metrics(pred, gt, gt, np.eye(3), metrics=["FRSyn", "FRCorr", "FRDiv"])
    assert list(s) == ["FRCorr", "FRDiv", "FRSyn"]
    assert s.versions == {m: METRICS[m].version for m in s}
