"""The naive REACT2024 baselines (official definitions), a retrieval sanity baseline, and the
REACT2026 naive baselines.

One small module per baseline; the registry (reactbench.registry) maps the names
``gt``, ``b_random``, ``b_mime``, ``b_meanseq``, ``b_meanfr`` and ``b_nn`` (REACT2024) and
``gt_identical``, ``b26_random``, ``b26_mime`` and ``b26_meanfr`` (REACT2026, computed on whole
samples under the REACT2025/2026 protocols) to these classes.
"""
