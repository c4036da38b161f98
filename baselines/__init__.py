"""The naive REACT2024 baselines (official definitions) plus a retrieval sanity baseline.

One small module per baseline; the registry (reactbench.registry) maps the names
``gt``, ``b_random``, ``b_mime``, ``b_meanseq``, ``b_meanfr`` and ``b_nn`` to these classes.
"""
