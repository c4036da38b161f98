"""Exact compact storage of float32 arrays (reactbench.packed): every bit pattern comes back,
binary columns are found bit for bit, and damaged members are refused by name."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from reactbench.packed import (
    PACKED_FORMAT,
    PackedFormatError,
    binary_columns,
    layout_of_zip,
    pack,
    unpack_npz,
)


def _bits(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)


def _mixed(shape=(3, 4, 50, 25), seed: int = 0) -> np.ndarray:
    """AU-like columns 0-14: 0-9 binary, 10-14 not; the rest smooth or noise."""
    rng = np.random.default_rng(seed)
    x = rng.random(shape, dtype=np.float32)
    x[..., :10] = rng.random((*shape[:-1], 10)) < 0.3
    x[..., 15:17] = np.sin(np.linspace(0, 6, shape[-2]))[:, None].astype(np.float32)
    return x


def _round_trip(tmp_path, arrays: dict[str, np.ndarray], extra=None) -> dict[str, np.ndarray]:
    path = tmp_path / "x.npz"
    with open(path, "wb") as fh:
        np.savez(fh, **pack(arrays, extra))
    with np.load(path, allow_pickle=False) as npz:
        back = unpack_npz(npz)
    assert back is not None and set(back) == set(arrays)
    return back


def test_binary_columns_are_found_bit_for_bit():
    x = _mixed()
    assert binary_columns(x) == list(range(10))
    x[1, 2, 3, 4] = -0.0  # equal to 0.0, but not its bit pattern
    x[0, 0, 0, 5] = np.nan
    x[2, 3, 49, 6] = 0.5
    assert binary_columns(x) == [0, 1, 2, 3, 7, 8, 9]
    assert binary_columns(np.ones((2, 3), np.float32)) == [0, 1, 2]
    assert binary_columns(np.zeros((0, 3), np.float32)) == []


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_bit_pattern_comes_back(tmp_path, seed):
    rng = np.random.default_rng(seed)
    x = _mixed(seed=seed)
    x[0, 1, 2, 3] = -0.0
    x[1, 0, 5, 20] = np.inf
    x[2, 3, 7, 0] = -np.inf
    weird = rng.integers(0, 2**32, size=200, dtype=np.uint32)  # any bits: NaN payloads too
    x.reshape(-1).view(np.uint32)[rng.choice(x.size, 200, replace=False)] = weird
    face = rng.normal(size=(3, 4, 50, 58)).astype(np.float32)
    back = _round_trip(tmp_path, {"emotion": x, "face_3dmm": face})
    for name, want in (("emotion", x), ("face_3dmm", face)):
        assert back[name].dtype == np.float32 and back[name].shape == want.shape
        np.testing.assert_array_equal(_bits(back[name]), _bits(want))


@pytest.mark.parametrize("shape", [(0, 25), (5, 0), (1, 1), (2, 3, 1, 7), (7,)])
def test_odd_shapes_round_trip(tmp_path, shape):
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    np.testing.assert_array_equal(_bits(_round_trip(tmp_path, {"a": x})["a"]), _bits(x))


def test_all_binary_and_no_binary_arrays(tmp_path):
    ones = (np.arange(3 * 11 * 9).reshape(3, 11, 9) % 3 == 0).astype(np.float32)
    noise = np.random.default_rng(1).random((3, 11, 9), dtype=np.float32)
    back = _round_trip(tmp_path, {"ones": ones, "noise": noise})
    np.testing.assert_array_equal(_bits(back["ones"]), _bits(ones))
    np.testing.assert_array_equal(_bits(back["noise"]), _bits(noise))


def test_binary_and_repeated_values_are_small():
    x = _mixed((4, 10, 300, 25))
    x[:, 1:] = x[:, :1]  # identical generations, as a copying baseline makes them
    members = pack({"emotion": x})
    stored = sum(v.nbytes for k, v in members.items() if k != "layout")
    assert stored < 0.25 * x.nbytes
    layout = json.loads(str(members["layout"]))
    assert layout["format"] == PACKED_FORMAT
    assert layout["arrays"]["emotion"]["binary"] == list(range(10))
    assert members["emotion.bits"].size == (4 * 10 * 300 * 10 + 7) // 8


def test_noise_planes_are_stored_raw():
    noise = np.random.default_rng(0).random((200, 500), dtype=np.float32)
    layout = json.loads(str(pack({"n": noise})["layout"]))
    assert "raw" in layout["arrays"]["n"]["planes"]  # low mantissa bytes do not compress


def _write(path, members):
    with open(path, "wb") as fh:
        np.savez(fh, **members)
    return path


@pytest.mark.parametrize("damage, message", [
    (lambda m, lay: m.update({"e.b3": m["e.b3"][:-5]}), "e.b3"),
    (lambda m, lay: m.update({"e.bits": m["e.bits"][:-1]}), "e.bits"),
    (lambda m, lay: lay["arrays"]["e"].update(planes=["lz4"] * 4), "unknown codec"),
    (lambda m, lay: lay["arrays"]["e"].update(shape=[4, 3, "x"]), "shape"),
    (lambda m, lay: lay["arrays"]["e"].update(binary=[0, 0]), "binary columns"),
    (lambda m, lay: lay["arrays"]["e"].update(shape=[4, 3, 51, 25]), "e.b"),
    (lambda m, lay: lay.update(format="reactbench.packed/9"), "newer version"),
])
def test_damaged_members_are_refused_by_name(tmp_path, damage, message):
    x = _mixed((4, 3, 50, 25))
    members = {k.replace("emotion", "e"): v for k, v in pack({"emotion": x}).items()}
    layout = json.loads(str(members["layout"]))
    layout["arrays"] = {"e": layout["arrays"].pop("emotion")}
    damage(members, layout)
    members["layout"] = np.asarray(json.dumps(layout))
    path = _write(tmp_path / "d.npz", members)
    with np.load(path, allow_pickle=False) as npz, pytest.raises(PackedFormatError,
                                                                 match=message):
        unpack_npz(npz)


def test_a_users_layout_member_is_not_this_format(tmp_path):
    path = _write(tmp_path / "u.npz", {"layout": np.asarray('{"format": "mine"}'),
                                       "emotion": np.zeros((1, 1, 2, 25), np.float32)})
    with np.load(path, allow_pickle=False) as npz:
        assert unpack_npz(npz) is None
    with zipfile.ZipFile(path) as zf:
        assert layout_of_zip(zf) is None
    packed = _write(tmp_path / "p.npz", pack({"emotion": _mixed()}))
    with zipfile.ZipFile(packed) as zf:
        assert layout_of_zip(zf)["arrays"]["emotion"]["shape"] == [3, 4, 50, 25]
