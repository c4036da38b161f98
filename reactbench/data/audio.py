"""Audio features aligned to the 25 fps video frames, as the ReactDiff paper computes them.

Audio resampled to 16 kHz, 40 ms analysis window, 40 ms hop (one analysis frame per video
frame, no centring: frame t covers [40 t, 40 t + 40) ms), 26 mel bands, 26 MFCCs. A second
stream is the log-mel spectrogram with ``LOGMEL_DIM`` bands (same window/hop, power spectrum in
dB). The signal is zero-padded or trimmed to exactly ``frames * 640`` samples (the official
loader also pads/trims to the frame count).

The spectra, Slaney mel filters, dB conversion and DCT are computed with numpy and scipy in the
same floating-point steps as librosa's ``stft``, ``filters.mel``, ``power_to_db`` and
``feature.mfcc`` (bit-identical values, checked by the tests), without librosa (whose first
import in a new environment compiles numba code for many seconds). Other sample rates are
resampled to 16 kHz by soxr at its high quality, cut or zero-padded to ceil(n * 16000 / sr)
samples: the values of ``librosa.resample`` with its default ``soxr_hq``, bit for bit.
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
    """(n,) samples at ``sr`` Hz -> (ceil(n * 16000 / sr),) float32 samples at 16 kHz."""
    y = np.asarray(y, dtype=np.float32)
    if sr == SAMPLE_RATE:
        return y
    import soxr  # only for audio that is not at 16 kHz

    out = soxr.resample(y, sr, SAMPLE_RATE, quality="soxr_hq")
    n = int(np.ceil(len(y) * (float(SAMPLE_RATE) / sr)))
    out = out[:n] if len(out) >= n else np.pad(out, (0, n - len(out)))
    return np.asarray(out, dtype=np.float32)


def _hz_to_mel(f: float) -> float:
    """Slaney mel scale (linear below 1 kHz, logarithmic above) of one frequency in Hz."""
    f_sp = 200.0 / 3
    mel = f / f_sp
    if f >= 1000.0:
        mel = 1000.0 / f_sp + np.log(f / 1000.0) / (np.log(6.4) / 27.0)
    return mel


def _mel_to_hz(mels: np.ndarray) -> np.ndarray:
    """Inverse of :func:`_hz_to_mel` for a (K,) float64 array of mels."""
    f_sp = 200.0 / 3
    hz = 0.0 + f_sp * mels
    log_t = mels >= 1000.0 / f_sp
    hz[log_t] = 1000.0 * np.exp(np.log(6.4) / 27.0 * (mels[log_t] - 1000.0 / f_sp))
    return hz


@lru_cache(maxsize=4)
def _mel_basis(n_mels: int) -> np.ndarray:
    """(n_mels, WIN // 2 + 1) float32 triangular mel filters, Slaney-normalised (area 1)."""
    freqs = np.fft.rfftfreq(n=WIN, d=1.0 / SAMPLE_RATE)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(FMIN), _hz_to_mel(FMAX), n_mels + 2))
    width = np.diff(edges)
    ramps = np.subtract.outer(edges, freqs)
    rising = -ramps[:-2] / width[:-1, None]
    falling = ramps[2:] / width[1:, None]
    basis = np.maximum(0, np.minimum(rising, falling)).astype(np.float32)
    basis *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    basis.setflags(write=False)
    return basis


@lru_cache(maxsize=1)
def _window() -> np.ndarray:
    """(WIN, 1) float64 periodic Hann window (the first WIN points of a WIN + 1 cosine)."""
    angle = np.linspace(-np.pi, np.pi, WIN + 1)
    return (0.5 + 0.5 * np.cos(angle))[:WIN, None]


STFT_BLOCK = (1 << 18) // (WIN * 4)  # frames transformed per FFT call (256 KiB of float32)


def _power_spectrogram(y: np.ndarray) -> np.ndarray:
    """(S,) float32 16 kHz samples -> (WIN // 2 + 1, frames) float32 power spectrogram.

    Hann-windowed frames of WIN samples every HOP samples (no centring), real FFT in float64,
    spectrum rounded to complex64 (the values of ``librosa.stft(..., center=False)``).
    """
    import scipy.fft  # loads in a fraction of a second: only when features are computed

    n = 1 + (len(y) - WIN) // HOP
    frames = np.lib.stride_tricks.as_strided(
        y, shape=(WIN, n), strides=(y.itemsize, HOP * y.itemsize), writeable=False)
    spec = np.zeros((WIN // 2 + 1, n), dtype=np.complex64, order="F")
    win = _window()
    for s in range(0, n, STFT_BLOCK):
        e = min(s + STFT_BLOCK, n)
        spec[:, s:e] = scipy.fft.rfft(win * frames[:, s:e], axis=-2)
    return np.abs(spec) ** 2


def _mel_power(n_mels: int, power: np.ndarray) -> np.ndarray:
    """(n_mels, frames) mel power spectrogram."""
    return _mel_basis(n_mels) @ power


def _to_db(power: np.ndarray) -> np.ndarray:
    """Power -> dB relative to 1.0, floored at 1e-10 (-100 dB), no top-dB clipping."""
    db = 10.0 * np.log10(np.maximum(1e-10, power))
    db -= 10.0 * np.log10(np.maximum(1e-10, 1.0))
    return db


def _mfcc(power: np.ndarray, n: int) -> np.ndarray:
    import scipy.fft  # loads in a fraction of a second: only when features are computed

    S = _to_db(_mel_power(MFCC_MELS, power))
    m = scipy.fft.dct(S, axis=-2, type=2, norm="ortho")[:MFCC_DIM]
    return np.ascontiguousarray(m.T[:n], dtype=np.float32)


def _logmel(power: np.ndarray, n: int) -> np.ndarray:
    S = _to_db(_mel_power(LOGMEL_DIM, power))
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
