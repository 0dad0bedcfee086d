"""Comparing audio in tests: how far one signal is from another, and the demo voice's stream in
process as 16-bit samples (what a server's stream must equal up to rounding)."""

from __future__ import annotations

import numpy as np

from tts import default_voice_dir, encode_audio, load_synthesizer


def snr_db(reference: np.ndarray, other: np.ndarray) -> float:
    """How far `other` is from `reference`, as a signal-to-noise ratio in dB (inf when equal)."""
    reference = np.asarray(reference, dtype=np.float64)
    noise = float(np.sum((reference - np.asarray(other, dtype=np.float64)) ** 2))
    return float("inf") if noise == 0 else float(10 * np.log10(float(np.sum(reference**2)) / noise))


def demo_stream_samples(text: str) -> np.ndarray:
    """`text` streamed by the bundled demo voice in this process (CPU), as 16-bit PCM samples."""
    synthesizer = load_synthesizer(default_voice_dir(), device="cpu")
    waveform = np.concatenate([chunk.waveform for chunk in synthesizer.stream(text)])
    return np.frombuffer(encode_audio(waveform, synthesizer.sample_rate, "pcm"), dtype="<i2").astype(np.float64)
