"""Audio features aligned to the 25 fps video frames (librosa; no torchaudio, no hand-rolled DSP).

As in the ReactDiff paper: audio resampled to 16 kHz, 40 ms analysis window, 40 ms hop
(one analysis frame per video frame, ``center=False``: frame t covers [40 t, 40 t + 40) ms),
26 mel bands, 26 MFCCs. A second stream is the log-mel spectrogram with ``LOGMEL_DIM`` bands
(same window/hop, power spectrum in dB). The signal is zero-padded or trimmed to exactly
``frames * 640`` samples (the official loader also pads/trims to the frame count).
"""

from __future__ import annotations

import hashlib
import zipfile
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np

from reactbench.atomic import atomic_savez
from reactbench.constants import FPS
from reactbench.data.layout import read_wav
from reactbench.errors import ReactbenchError
from reactbench.paths import cache_dir

SAMPLE_RATE = 16000
HOP = SAMPLE_RATE // FPS  # 640 samples = 40 ms
WIN = HOP  # 40 ms window
MFCC_DIM = 26
MFCC_MELS = 26
LOGMEL_DIM = 64
FMIN = 0.0
FMAX = SAMPLE_RATE / 2
FEATURES_VERSION = "audio-1"  # bump when the features change (cache key)


def _frames_of(y: np.ndarray, frames: int | None) -> tuple[np.ndarray, int]:
    n = int(frames) if frames is not None else max(1, len(y) // HOP)
    need = n * HOP
    if len(y) < need:
        y = np.pad(y, (0, need - len(y)))
    return np.ascontiguousarray(y[:need], dtype=np.float32), n


def _resample(y: np.ndarray, sr: int) -> np.ndarray:
    import librosa  # heavy (about 1 s): only when audio features are computed

    if sr == SAMPLE_RATE:
        return np.asarray(y, dtype=np.float32)
    return librosa.resample(np.asarray(y, dtype=np.float32), orig_sr=sr, target_sr=SAMPLE_RATE)


@lru_cache(maxsize=4)
def _mel_basis(n_mels: int) -> np.ndarray:
    import librosa  # heavy (about 1 s): only when audio features are computed

    return librosa.filters.mel(sr=SAMPLE_RATE, n_fft=WIN, n_mels=n_mels, fmin=FMIN, fmax=FMAX)


def _power_spectrogram(y: np.ndarray) -> np.ndarray:
    """(S,) 16 kHz samples -> (WIN // 2 + 1, frames) power spectrogram (Hann window)."""
    import librosa  # heavy (about 1 s): only when audio features are computed

    spec = librosa.stft(y, n_fft=WIN, hop_length=HOP, win_length=WIN, center=False)
    return np.abs(spec) ** 2


def _mel_power(y: np.ndarray, n_mels: int, power: np.ndarray | None = None) -> np.ndarray:
    """(n_mels, frames) mel power spectrogram (as librosa.feature.melspectrogram)."""
    p = _power_spectrogram(y) if power is None else power
    return _mel_basis(n_mels) @ p


def _mfcc(power: np.ndarray, n: int) -> np.ndarray:
    import librosa  # heavy (about 1 s): only when audio features are computed

    S = librosa.power_to_db(_mel_power(None, MFCC_MELS, power), ref=1.0, top_db=None)
    m = librosa.feature.mfcc(S=S, n_mfcc=MFCC_DIM)
    return np.ascontiguousarray(m.T[:n], dtype=np.float32)


def _logmel(power: np.ndarray, n: int) -> np.ndarray:
    import librosa  # heavy (about 1 s): only when audio features are computed

    S = librosa.power_to_db(_mel_power(None, LOGMEL_DIM, power), ref=1.0, amin=1e-10,
                            top_db=None)
    return np.ascontiguousarray(S.T[:n], dtype=np.float32)


def mfcc_features(y: np.ndarray, sr: int = SAMPLE_RATE, frames: int | None = None) -> np.ndarray:
    """Waveform -> (frames, 26) float32 MFCCs at 25 fps (26 mel bands, 40 ms window and hop).

    y: (S,) mono samples at sample rate ``sr`` (resampled to 16 kHz); frames: output length
    (default: as many whole 40 ms frames as the signal holds).
    """
    y, n = _frames_of(_resample(y, sr), frames)
    return _mfcc(_power_spectrogram(y), n)


def logmel_features(y: np.ndarray, sr: int = SAMPLE_RATE, frames: int | None = None) -> np.ndarray:
    """Waveform -> (frames, LOGMEL_DIM) float32 log-mel energies (dB) at 25 fps."""
    y, n = _frames_of(_resample(y, sr), frames)
    return _logmel(_power_spectrogram(y), n)


def audio_features(y: np.ndarray, sr: int, frames: int | None = None) -> dict[str, np.ndarray]:
    """Both streams from one resampling and one STFT: {"mfcc": (T, 26), "logmel": (T, LOGMEL_DIM)}.
    """
    y16, n = _frames_of(_resample(y, sr), frames)
    power = _power_spectrogram(y16)
    return {"mfcc": _mfcc(power, n), "logmel": _logmel(power, n)}


def wav_features(path: Path, frames: int | None = None) -> dict[str, np.ndarray]:
    """Read a wav file (any sample rate, stereo averaged) and compute both feature streams."""

    y, sr = read_wav(path)
    return audio_features(y, sr, frames)


def _feature_cache_path(path: Path) -> Path | None:

    try:
        st = Path(path).stat()
    except OSError:
        return None
    key = f"{FEATURES_VERSION}|{LOGMEL_DIM}|{Path(path).resolve()}|{st.st_size}|{st.st_mtime_ns}"
    return cache_dir() / "audio" / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.npz"


def cached_wav_features(path: Path, cache: bool = True) -> tuple[dict[str, np.ndarray], int]:
    """Both feature streams of a wav file over all its whole 40 ms frames, and that frame count.

    Cached as ``cache_dir()/audio/<key>.npz``, keyed by the features version, the file's path,
    size and mtime (a changed file is recomputed; a corrupt cache entry is rebuilt).
    Returns ({"mfcc": (F, 26), "logmel": (F, LOGMEL_DIM)}, F) with F = duration * 25 fps.
    """

    cpath = _feature_cache_path(path) if cache else None
    if cpath is not None and cpath.is_file():
        try:
            with np.load(cpath, allow_pickle=False) as z:
                feats = {k: z[k] for k in z.files if k != "frames"}
                return feats, int(z["frames"])
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error):
            cpath.unlink(missing_ok=True)  # damaged: rebuilt below
    y, sr = read_wav(path)
    n_frames = int(len(y) * FPS // sr)
    feats = audio_features(y, sr, frames=max(n_frames, 1))
    if cpath is not None:
        try:
            atomic_savez(cpath, {"frames": np.int64(n_frames), **feats})
        except (OSError, ReactbenchError):
            pass  # caching is best effort (a full or read-only cache folder)
    return feats, n_frames
