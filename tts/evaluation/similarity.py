"""Comparing a voice's audio with its teacher's: MFCC distance after dynamic time warping,
and retrieval (is a sentence's own teacher rendering its nearest neighbour?).
"""

from __future__ import annotations

import librosa
import numpy as np
import torch

N_MFCC = 13


def mfcc_features(wave: torch.Tensor, sample_rate: int) -> np.ndarray:
    """Per-utterance mean-normalised MFCCs without c0 (loudness). [T] -> [N_MFCC - 1, T_frames]."""
    audio = wave.detach().float().cpu().numpy()
    features = librosa.feature.mfcc(
        y=audio, sr=sample_rate, n_mfcc=N_MFCC, n_fft=1024, hop_length=256, n_mels=40
    )[1:]
    return features - features.mean(axis=1, keepdims=True)


def dtw_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean Euclidean frame distance along the best DTW path. a [C, T_a], b [C, T_b]."""
    cost, path = librosa.sequence.dtw(X=a, Y=b, metric="euclidean")
    return float(cost[-1, -1] / len(path))


def distance_matrix(voice: list[np.ndarray], teacher: list[np.ndarray]) -> np.ndarray:
    """D[i, j] = DTW distance between the voice's sentence i and the teacher's sentence j."""
    return np.array([[dtw_distance(v, t) for t in teacher] for v in voice])


def retrieval_hits(distances: np.ndarray) -> list[bool]:
    """For each sentence i, whether its own teacher rendering is the nearest one."""
    return [bool(int(np.argmin(row)) == index) for index, row in enumerate(distances)]


def spectral_dtw_l1(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference per bin along the best DTW path between spectrograms a [T_a, C]
    and b [T_b, C]: how far a free-running output is from its target, timing differences aside."""
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or not len(a) or not len(b):
        raise ValueError(f"need two non-empty [T, C] spectrograms with the same C, got {a.shape} and {b.shape}")
    cost, path = librosa.sequence.dtw(X=a.T, Y=b.T, metric="cityblock")
    return float(cost[-1, -1] / (len(path) * a.shape[1]))
