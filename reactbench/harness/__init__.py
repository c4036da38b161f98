"""The evaluation harness: model -> predictions (offline or causal online) -> metrics ->
result record.

:mod:`~reactbench.harness.options` what defines a run and its checks;
:mod:`~reactbench.harness.generate` offline and online generation;
:mod:`~reactbench.harness.causality` the online causality check;
:mod:`~reactbench.harness.cache` the predictions cache;
:mod:`~reactbench.harness.scoring` scoring, preflight and per-seed aggregation;
:mod:`~reactbench.harness.runner` a whole run; :mod:`~reactbench.harness.saved` scoring saved
predictions; :mod:`~reactbench.harness.clips` and :mod:`~reactbench.harness.clip_runner` the
same for variable-length clips (REACT2025/2026: chunks, windows, per-sample targets).
"""

from reactbench.harness.cache import (
    PREDICTIONS_CACHE_VERSION,
    load_cached,
    model_code,
    predictions_key,
    predictions_path,
)
from reactbench.harness.causality import CAUSALITY_ATOL, CausalityError, check_causality
from reactbench.harness.clip_runner import evaluate_clip_model, run_clips
from reactbench.harness.generate import (
    batches,
    check_prediction_memory,
    generate_offline,
    generate_online,
    speaker_input,
    windows,
)
from reactbench.harness.options import (
    RunOptions,
    check_common,
    check_score_options,
    check_window_fits,
)
from reactbench.harness.runner import DataBundle, evaluate_model, load_bundle, run, stale_fields
from reactbench.harness.saved import score_clip_predictions, score_predictions
from reactbench.harness.scoring import aggregate, preflight, score

__all__ = [
    "CAUSALITY_ATOL", "PREDICTIONS_CACHE_VERSION", "CausalityError", "DataBundle", "RunOptions",
    "aggregate", "batches", "evaluate_clip_model", "run_clips", "score_clip_predictions",
    "check_causality", "check_common", "check_prediction_memory",
    "check_score_options", "check_window_fits", "evaluate_model", "generate_offline",
    "generate_online", "load_bundle", "load_cached", "model_code", "predictions_key",
    "predictions_path", "preflight", "run", "score", "score_predictions", "speaker_input",
    "stale_fields", "windows",
]
