"""The official layout (reactbench.data.layout): header rows as the official code writes them."""

from __future__ import annotations

import numpy as np

from reactbench.data import layout
from tests.data.damage import first_clip


def test_pandas_default_header_is_a_header(micro_copy):
    p = layout.emotion_path(micro_copy, "test", first_clip(micro_copy))
    lines = p.read_text().splitlines()
    before = layout.read_emotion(p)
    p.write_text("\n".join([",".join(str(i) for i in range(25))] + lines[1:]) + "\n")
    np.testing.assert_array_equal(layout.read_emotion(p), before)
