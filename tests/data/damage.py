"""Ways to damage a copy of the micro dataset, each returning the damaged file and the words the
loader's DataError (and check_dataset's listing) must contain: ``BAD_INPUTS``. Holds no tests."""

from __future__ import annotations

import numpy as np

from reactbench.data import layout


def first_clip(root):
    return layout.read_split_csv(root, "test")[0][0]


def clip_files(root):
    clip = first_clip(root)
    return layout.emotion_path(root, "test", clip), layout.face_path(root, "test", clip)


def emotion_file(root):
    return layout.emotion_path(root, "test", first_clip(root))


def replace_line(path, lineno, text):
    lines = path.read_text().splitlines()
    lines[lineno] = text
    path.write_text("\n".join(lines) + "\n")


def malformed_csv(root):
    p = emotion_file(root)
    replace_line(p, 3, ",".join(["0"] * 30))  # a row with 30 fields among 25-field rows
    return p, "25"


def short_row(root):
    p = emotion_file(root)
    replace_line(p, 5, ",".join(["0"] * 20))
    return p, "expected 25 numbers"


def wrong_columns(root):
    p = emotion_file(root)
    lines = p.read_text().splitlines()
    p.write_text("\n".join(",".join(line.split(",")[:24]) for line in lines) + "\n")
    return p, "expected 25 columns"


def nan_value(root):
    p = emotion_file(root)
    lines = p.read_text().splitlines()
    cells = lines[7].split(",")
    cells[16] = "nan"
    lines[7] = ",".join(cells)
    p.write_text("\n".join(lines) + "\n")
    return p, "NaN"


def non_numeric(root):
    p = emotion_file(root)
    lines = p.read_text().splitlines()
    lines[2] = "x" + lines[2][1:]
    p.write_text("\n".join(lines) + "\n")
    return p, "non-numeric"


def face_wrong_width(root):
    p = layout.face_path(root, "test", first_clip(root))
    np.save(p, np.zeros((100, 57), dtype=np.float32))
    return p, "expected (T, 58)"


def unreadable_wav(root):
    p = layout.audio_path(root, "test", first_clip(root))
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
    p = emotion_file(root)
    lines = p.read_text().splitlines()
    p.write_text("\n".join(lines[:4] + [""] + lines[4:]) + "\n")  # line 5 blank
    return p, "line 5: blank line"


def au_out_of_range(root):
    p = emotion_file(root)
    lines = p.read_text().splitlines()
    cells = lines[4].split(",")
    cells[2] = "7"  # AU column 2 of frame 3
    lines[4] = ",".join(cells)
    p.write_text("\n".join(lines) + "\n")
    return p, "AU value(s) outside [0, 1], first 7 at frame 3 column 2"


def emotion_no_header(root):
    p = emotion_file(root)
    p.write_text("".join(p.read_text().splitlines(keepends=True)[1:]))  # header removed
    return p, "line 1: expected a header row"


def face_two_leading(root):
    p = layout.face_path(root, "test", first_clip(root))
    np.save(p, np.stack([np.load(p)] * 2))  # (2, T, 58): only a singleton axis is squeezed
    return p, "expected (T, 58), (T, 1, 58) or (1, T, 58)"


def split_path(root, old, new):
    csv = layout.split_csv_path(root, "test")
    csv.write_text(csv.read_text().replace(old, new))
    return csv


def split_path_absolute(root):
    csv = split_path(root, ",Synthetic/test001/P2/1", ",/etc/Synthetic/test001/P2/1")
    return csv, "line 3: listener_path '/etc/Synthetic/test001/P2/1' leaves the dataset"


def split_path_dotdot(root):
    csv = split_path(root, ",Synthetic/test000/P1/1", ",Synthetic/../../test000/P1/1")
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
