"""Feature streams (models/reactdiff/streams.py): broken feature files are named."""

from __future__ import annotations

import numpy as np
import pytest
from reactbench.reactdiff.config import StreamSpec
from reactbench.reactdiff.streams import person_streams

from reactbench.errors import ModelError


@pytest.mark.parametrize("damage", ["nan", "pickled", "garbage"])
def test_broken_feature_files_are_named(tmp_path, damage):
    spec = StreamSpec("afr", "file:feats", "audio", width=4)
    path = tmp_path / "feats" / "clip.npy"
    path.parent.mkdir()
    arr = np.zeros((20, 4), np.float32)
    if damage == "nan":
        arr[5, 2] = np.nan
        np.save(path, arr)
        needle = "1 NaN/inf values (first at frame 5, column 2)"
    elif damage == "pickled":
        np.save(path, np.array([{"a": 1}] * 20, dtype=object), allow_pickle=True)
        needle = "cannot read feature file"
    else:
        path.write_bytes(b"not numpy at all")
        needle = "cannot read feature file"
    emo, face = np.zeros((1, 20, 25), np.float32), np.zeros((1, 20, 58), np.float32)
    with pytest.raises(ModelError) as info:
        person_streams([spec], emo, face, {}, clip_ids=["clip"], root=tmp_path)
    assert str(path) in str(info.value) and needle in str(info.value), info.value
