"""Variable-length predictions (reactbench.clip_predictions): the ragged .npz round trip and
its checks against a split."""

from __future__ import annotations

import numpy as np
import pytest

from reactbench.clip_predictions import (
    RaggedPredictions,
    check_ragged_predictions,
    load_ragged,
    ragged_problems,
    save_ragged,
)
from reactbench.harness.cache import load_cached_clips, ragged_digest
from reactbench.predictions import PredictionsError

IDS = ["speaker/ses0/a", "speaker/ses0/b c", "listener/ses10/d"]
LENGTHS = [58, 751, 3]


def _preds(alpha: int = 3, face: bool = True) -> RaggedPredictions:
    rng = np.random.default_rng(0)
    emo = [rng.random((alpha, n, 25), dtype=np.float32) for n in LENGTHS]
    fc = [rng.normal(size=(alpha, n, 58)).astype(np.float32) for n in LENGTHS] if face else None
    return RaggedPredictions(emotion=emo, face_3dmm=fc, sample_ids=list(IDS))


def test_round_trip_is_exact(tmp_path):
    preds = _preds()
    path = save_ragged(tmp_path / "p.npz", preds, {"key": "k"})
    emo, face, meta = load_ragged(path)
    assert meta == {"format": "reactbench.ragged/1", "key": "k"}
    back = check_ragged_predictions(emo, IDS, LENGTHS, face=face)
    assert back.sample_ids == IDS and back.lengths == LENGTHS
    for a, b in zip(preds.emotion + preds.face_3dmm, back.emotion + back.face_3dmm):
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_array_equal(a, b)
    assert ragged_digest(back) == ragged_digest(preds)


def test_the_cache_reads_back_only_the_same_clips_alpha_and_key(tmp_path):
    preds = _preds(face=False)
    path = save_ragged(tmp_path / "c.npz", preds,
                       {"key": "k", "content_sha256": ragged_digest(preds)})
    got = load_cached_clips(path, IDS, LENGTHS, 3, "k")
    assert got is not None and got[0].alpha == 3
    assert load_cached_clips(path, IDS, LENGTHS, 2, "k") is None
    assert load_cached_clips(path, IDS, LENGTHS, 3, "other") is None
    assert load_cached_clips(path, IDS, [58, 750, 3], 3, "k") is None
    assert load_cached_clips(path, IDS[:2], LENGTHS[:2], 3, "k") is None


def test_a_folder_of_per_clip_files_loads_too(tmp_path):
    preds = _preds(face=False)
    for cid, x in zip(IDS, preds.emotion):
        (tmp_path / cid).parent.mkdir(parents=True, exist_ok=True)
        np.save(tmp_path / f"{cid}.npy", x)
    emo, _, _ = load_ragged(tmp_path)
    back = check_ragged_predictions(emo, IDS, LENGTHS)
    np.testing.assert_array_equal(back.emotion[1], preds.emotion[1])


def _problems(emo: dict, lengths=LENGTHS) -> str:
    with pytest.raises(PredictionsError) as err:
        check_ragged_predictions(emo, IDS, lengths, source="preds.npz")
    return str(err.value)


def test_bad_predictions_name_the_clip_and_what_was_expected():
    ok = dict(zip(IDS, _preds(face=False).emotion))
    msg = _problems({**ok, IDS[1]: ok[IDS[1]][:, :750]})
    assert "clip speaker/ses0/b c: predictions have 750 frames; the clip has 751" in msg
    assert "nothing is cropped or padded" in msg
    msg = _problems({k: v for k, v in ok.items() if k != IDS[2]})
    assert "1 of 3 clips have no predictions" in msg and IDS[2] in msg
    msg = _problems({**ok, "speaker/ses9/x": ok[IDS[0]]})
    assert "name no sample of the split" in msg and "speaker/ses9/x" in msg
    msg = _problems({**ok, IDS[2]: ok[IDS[2]][:2]})
    assert "alpha differs between clips" in msg
    msg = _problems({**ok, IDS[0]: ok[IDS[0]][..., :24]})
    assert f"clip {IDS[0]}: predictions have shape (3, 58, 24); expected (alpha, 58, 25)" in msg
    msg = _problems({**ok, IDS[0]: ok[IDS[0]].astype(bool)})
    assert f"clip {IDS[0]}: predictions must be real numbers" in msg
    bad = ok[IDS[0]].copy()
    bad[0, 3, 2] = np.nan
    assert "NaN/inf" in _problems({**ok, IDS[0]: bad})


def _bits(arrays) -> list[np.ndarray]:
    return [np.ascontiguousarray(a).view(np.uint32) for a in arrays]


def test_packed_ragged_file_is_exact_and_plain_files_still_load(tmp_path):
    """save_ragged packs every clip's rows into one array (binary columns as bits); the plain
    form (one float32 array per clip, as older runs wrote it) still loads."""
    import zipfile

    preds = _preds()
    for x in preds.emotion:
        x[..., :8] = x[..., :8] < 0.5  # binary AU columns
        x[0, 0, 9] = -0.0
    preds.emotion[1][2, 5, 20] = np.nan
    packed = save_ragged(tmp_path / "packed.npz", preds, {"key": "k"})
    plain = save_ragged(tmp_path / "plain.npz", preds, {"key": "k"}, packed=False)
    with zipfile.ZipFile(packed) as zf:
        assert IDS[0] + ".npy" not in zf.namelist() and "layout.npy" in zf.namelist()
    with np.load(plain) as z:
        assert set(z.files) >= set(IDS)
    for path in (packed, plain):
        emo, face, meta = load_ragged(path)
        assert meta == {"format": "reactbench.ragged/1", "key": "k"}
        for a, b in zip(_bits(preds.emotion + preds.face_3dmm),
                        _bits([emo[c] for c in IDS] + [face[c] for c in IDS])):
            np.testing.assert_array_equal(a, b)


def test_packed_ragged_keeps_clips_of_other_alpha_and_falls_back_for_other_widths(tmp_path):
    preds = _preds(face=False)
    preds.emotion[2] = preds.emotion[2][:2]  # another alpha: kept, reported by the checks
    emo, _, _ = load_ragged(save_ragged(tmp_path / "a.npz", preds))
    assert [emo[c].shape for c in IDS] == [x.shape for x in preds.emotion]
    assert "alpha differs between clips" in " ".join(
        ragged_problems(emo, IDS, LENGTHS, check_range=False))
    preds.emotion[2] = np.zeros((3, 3, 24), np.float32)  # another width: stored unpacked
    path = save_ragged(tmp_path / "w.npz", preds)
    with np.load(path) as z:
        assert "layout" not in z.files and z[IDS[2]].shape == (3, 3, 24)


def test_damaged_packed_ragged_file_is_a_clear_error(tmp_path):
    path = save_ragged(tmp_path / "p.npz", _preds(face=False))
    with np.load(path) as z:
        members = {k: z[k] for k in z.files}
    members["sample_ids"] = members["sample_ids"][:2]
    with open(path, "wb") as fh:
        np.savez(fh, **members)
    with pytest.raises(PredictionsError, match="do not match the clips"):
        load_ragged(path)
