"""Every bad input -> a DataError naming the file and what was expected, from the
loader, and the same problem listed with its file by check_dataset."""

from __future__ import annotations

import numpy as np
import pytest

from reactbench.data import layout, load_split
from reactbench.data.check import check_dataset
from reactbench.errors import DataError


def _first_clip(root):
    return layout.read_split_csv(root, "test")[0][0]


def _clip_files(root):
    clip = _first_clip(root)
    return layout.emotion_path(root, "test", clip), layout.face_path(root, "test", clip)


def _emotion(root):
    return layout.emotion_path(root, "test", _first_clip(root))


def _replace_line(path, lineno, text):
    lines = path.read_text().splitlines()
    lines[lineno] = text
    path.write_text("\n".join(lines) + "\n")


def malformed_csv(root):
    p = _emotion(root)
    _replace_line(p, 3, ",".join(["0"] * 30))  # a row with 30 fields among 25-field rows
    return p, "25"


def short_row(root):
    p = _emotion(root)
    _replace_line(p, 5, ",".join(["0"] * 20))
    return p, "expected 25 numbers"


def wrong_columns(root):
    p = _emotion(root)
    lines = p.read_text().splitlines()
    p.write_text("\n".join(",".join(line.split(",")[:24]) for line in lines) + "\n")
    return p, "expected 25 columns"


def nan_value(root):
    p = _emotion(root)
    lines = p.read_text().splitlines()
    cells = lines[7].split(",")
    cells[16] = "nan"
    lines[7] = ",".join(cells)
    p.write_text("\n".join(lines) + "\n")
    return p, "NaN"


def non_numeric(root):
    p = _emotion(root)
    lines = p.read_text().splitlines()
    lines[2] = "x" + lines[2][1:]
    p.write_text("\n".join(lines) + "\n")
    return p, "non-numeric"


def face_wrong_width(root):
    p = layout.face_path(root, "test", _first_clip(root))
    np.save(p, np.zeros((100, 57), dtype=np.float32))
    return p, "expected (T, 58)"


def unreadable_wav(root):
    p = layout.audio_path(root, "test", _first_clip(root))
    p.write_bytes(b"this is not a wav file at all" * 10)
    return p, "expected a readable .wav"


def missing_clip(root):
    csv = layout.split_csv_path(root, "test")
    text = csv.read_text().replace("test001/P2/1", "test001/P2/9")
    csv.write_text(text)
    return layout.emotion_path(root, "test", "Synthetic/test001/P2/9"), "test.csv names this clip"


def neighbour_wrong_size(root):
    p = layout.neighbour_path(root, "test")
    np.save(p, np.eye(5))
    return p, "expected (4, 4)"


def neighbour_empty_row(root):
    p = layout.neighbour_path(root, "test")
    nb = np.load(p)
    nb[2] = 0
    np.save(p, nb)
    return p, "no appropriate reaction"


def split_csv_columns(root):
    csv = layout.split_csv_path(root, "test")
    lines = csv.read_text().splitlines()
    lines[1] = lines[1] + ",extra"
    csv.write_text("\n".join(lines) + "\n")
    return csv, "expected 3 columns"


def split_csv_no_header(root):
    csv = layout.split_csv_path(root, "test")
    csv.write_text("".join(csv.read_text().splitlines(keepends=True)[1:]))  # header removed
    return csv, "expected the header row ',speaker_path,listener_path'"


def blank_line(root):
    p = _emotion(root)
    lines = p.read_text().splitlines()
    p.write_text("\n".join(lines[:4] + [""] + lines[4:]) + "\n")  # line 5 blank
    return p, "line 5: blank line"


def au_out_of_range(root):
    p = _emotion(root)
    lines = p.read_text().splitlines()
    cells = lines[4].split(",")
    cells[2] = "7"  # AU column 2 of frame 3
    lines[4] = ",".join(cells)
    p.write_text("\n".join(lines) + "\n")
    return p, "AU value(s) outside [0, 1], first 7 at frame 3 column 2"


def emotion_no_header(root):
    p = _emotion(root)
    p.write_text("".join(p.read_text().splitlines(keepends=True)[1:]))  # header removed
    return p, "line 1: expected a header row"


def face_two_leading(root):
    p = layout.face_path(root, "test", _first_clip(root))
    np.save(p, np.stack([np.load(p)] * 2))  # (2, T, 58): only a singleton axis is squeezed
    return p, "expected (T, 58), (T, 1, 58) or (1, T, 58)"


def _split_path(root, old, new):
    csv = layout.split_csv_path(root, "test")
    csv.write_text(csv.read_text().replace(old, new))
    return csv


def split_path_absolute(root):
    csv = _split_path(root, ",Synthetic/test001/P2/1", ",/etc/Synthetic/test001/P2/1")
    return csv, "line 3: listener_path '/etc/Synthetic/test001/P2/1' leaves the dataset"


def split_path_dotdot(root):
    csv = _split_path(root, ",Synthetic/test000/P1/1", ",Synthetic/../../test000/P1/1")
    return csv, "line 2: speaker_path 'Synthetic/../../test000/P1/1' leaves the dataset"


def synthetic_meta_not_object(root):
    p = root / "synthetic.json"
    p.write_text("[1, 2]")
    return p, "synthetic metadata must be a JSON object"


def synthetic_meta_not_utf8(root):
    p = root / "synthetic.json"
    p.write_bytes(b"\xff\xfe{}")
    return p, "unreadable synthetic metadata"


BAD_INPUTS = [synthetic_meta_not_object, synthetic_meta_not_utf8,
              malformed_csv, short_row, wrong_columns, nan_value, non_numeric, face_wrong_width,
              unreadable_wav, missing_clip, neighbour_wrong_size, neighbour_empty_row,
              split_csv_columns, split_csv_no_header, blank_line, au_out_of_range,
              emotion_no_header, face_two_leading, split_path_absolute, split_path_dotdot]


@pytest.mark.parametrize("damage", BAD_INPUTS, ids=lambda f: f.__name__)
def test_loader_names_file_and_expectation(micro_copy, damage):
    path, expected = damage(micro_copy)
    with pytest.raises(DataError) as info:
        load_split(micro_copy, "test", cache=False)
    msg = str(info.value)
    assert str(path) in msg and expected in msg


@pytest.mark.parametrize("damage", BAD_INPUTS, ids=lambda f: f.__name__)
def test_check_lists_the_problem_with_its_file(micro_copy, damage):
    path, expected = damage(micro_copy)
    problems = check_dataset(micro_copy, n_jobs=1)
    assert any(f == str(path) and expected in m for f, m in problems), problems


def test_check_lists_every_problem_not_just_the_first(micro_copy):
    paths = {str(f(micro_copy)[0]) for f in (face_wrong_width, neighbour_wrong_size)}
    p = layout.emotion_path(micro_copy, "test", layout.read_split_csv(micro_copy, "test")[1][1])
    lines = p.read_text().splitlines()
    cells = lines[4].split(",")
    cells[15] = "1.7"  # valence out of range
    lines[4] = ",".join(cells)
    p.write_text("\n".join(lines) + "\n")
    problems = check_dataset(micro_copy, n_jobs=1)
    files = {f for f, _ in problems}
    assert paths | {str(p)} <= files
    assert any("outside [-1, 1]" in m for f, m in problems if f == str(p))


def test_frame_mismatch_between_modalities(micro_copy):
    clip = _first_clip(micro_copy)
    p = layout.face_path(micro_copy, "test", clip)
    np.save(p, np.load(p)[:80])
    problems = check_dataset(micro_copy, n_jobs=1)
    assert any(f == str(p) and "80 frames" in m for f, m in problems)
    with pytest.raises(DataError, match="80 frames"):
        load_split(micro_copy, "test", cache=False)


def test_short_audio(micro_copy):
    import soundfile as sf

    p = layout.audio_path(micro_copy, "test", _first_clip(micro_copy))
    y, sr = sf.read(p)
    sf.write(p, y[: sr], sr)  # 1 s of a 4 s clip
    with pytest.raises(DataError, match="expected at least 4.00 s"):
        load_split(micro_copy, "test", cache=False)
    assert any(f == str(p) and "audio lasts 1.00 s" in m for f, m in check_dataset(micro_copy))


def test_missing_directory_and_split(tmp_path):
    with pytest.raises(DataError, match="dataset directory not found"):
        load_split(tmp_path / "nope", "test")
    with pytest.raises(DataError, match="split list not found"):
        load_split(tmp_path, "test")
    with pytest.raises(DataError, match="unknown split"):
        load_split(tmp_path, "dev")
    assert check_dataset(tmp_path / "nope") == [(str(tmp_path / "nope"),
                                                 "dataset directory not found")]
    assert "no split list" in check_dataset(tmp_path)[0][1]


def test_clean_dataset_has_no_problems(micro_dataset, tiny_dataset):
    from reactbench.data.check import dataset_report

    for root in (micro_dataset, tiny_dataset):
        report = dataset_report(root, n_jobs=1)
        assert report.errors == [] and report.warnings == [], report


def test_video_frames_are_optional_and_only_noted(micro_copy):
    """Missing frame folders, .mp4 files or an empty Video_files are no problem (nothing reads
    pixels); a frames folder shorter than the Emotion CSV is a warning."""
    from reactbench.data.check import dataset_report

    (micro_copy / "test" / layout.VIDEO_DIR).mkdir()  # empty Video_files
    assert check_dataset(micro_copy) == []
    pairs = layout.read_split_csv(micro_copy, "test")
    clips = [c for p in pairs for c in p]
    mp4 = layout.video_path(micro_copy, "test", clips[0]).with_suffix(".mp4")
    mp4.parent.mkdir(parents=True)
    mp4.write_bytes(b"")
    for c in clips[1:]:
        v = layout.video_path(micro_copy, "test", c)
        v.mkdir(parents=True)
        for i in range(1, 101):
            (v / f"{i}.png").write_bytes(b"")
    short = layout.video_path(micro_copy, "test", clips[1])
    (short / "100.png").unlink()
    report = dataset_report(micro_copy)
    assert report.errors == []
    assert [f for f, _ in report.warnings] == [str(short)]
    assert "99 video frames, expected at least 100" in report.warnings[0][1]
    assert any("video frames folders for 3 of 4 clips" in m for _, m in report.notes)
    assert load_split(micro_copy, "test", cache=False).video_dirs is None  # not all present


def test_trailing_blank_lines_and_bom_are_harmless(micro_copy):
    before = load_split(micro_copy, "test", audio=False, cache=False)
    p = _emotion(micro_copy)
    p.write_text(p.read_text() + "\n\n")
    csv = layout.split_csv_path(micro_copy, "test")
    csv.write_text("\ufeff" + csv.read_text())
    after = load_split(micro_copy, "test", audio=False, cache=False)
    np.testing.assert_array_equal(before.speaker_emotion, after.speaker_emotion)
    assert after.speaker_ids == before.speaker_ids


@pytest.mark.parametrize("longer", ["face", "emotion"])
def test_modalities_of_different_lengths_are_not_trimmed(micro_copy, longer):
    """Emotion and 3DMM of different lengths: both are cut when both reach --frames (the
    official [:750] cut); otherwise one would be trimmed to match the other, an error naming
    both files."""
    ep, fp = _clip_files(micro_copy)
    if longer == "face":
        face = np.load(fp)
        np.save(fp, np.concatenate([face, face[:20]]))
        counts, frames = ("120 frames", "has 100"), None
    else:
        lines = ep.read_text().splitlines()
        ep.write_text("\n".join(lines[:91]) + "\n")  # header + 90 frames
        counts, frames = ("100 frames", "has 90"), 95
    cut = load_split(micro_copy, "test", frames=80, audio=False, cache=False)
    assert cut.frames == 80
    with pytest.raises(DataError) as info:
        load_split(micro_copy, "test", frames=frames, audio=False, cache=False)
    msg = str(info.value)
    assert str(ep) in msg and str(fp) in msg and all(c in msg for c in counts), msg
    assert any(f == str(fp) for f, _ in check_dataset(micro_copy, n_jobs=1))


def test_out_of_range_ground_truth_is_refused_even_from_cache(micro_copy):
    load_split(micro_copy, "test", audio=False)  # cached while sound
    p, expected = au_out_of_range(micro_copy)
    with pytest.raises(DataError, match=r"AU value\(s\) outside \[0, 1\], first 7") as info:
        load_split(micro_copy, "test", audio=False)
    assert str(p) in str(info.value)


@pytest.mark.parametrize("frames", [0, -5, 2.5])
def test_frames_must_be_positive(micro_dataset, frames):
    with pytest.raises(DataError, match="frames="):
        load_split(micro_dataset, "test", frames=frames, audio=False, cache=False)
    with pytest.raises(DataError, match="frames="):
        check_dataset(micro_dataset, frames=frames)


def test_truncated_clip_states_the_frames_actually_expected(micro_copy):
    ep, fp = _clip_files(micro_copy)
    ep.write_text("\n".join(ep.read_text().splitlines()[:59]) + "\n")  # header + 58 frames
    np.save(fp, np.load(fp)[:58])
    with pytest.raises(DataError) as info:  # default 750: the clips' common length 100 is used
        load_split(micro_copy, "test", audio=False, cache=False)
    msg = str(info.value)
    assert str(ep) in msg and "58 frames, expected 100" in msg and "at least 750" not in msg
    with pytest.raises(DataError, match="58 frames, expected at least 80"):
        load_split(micro_copy, "test", frames=80, audio=False, cache=False)
