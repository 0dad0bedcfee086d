"""Audio hyperparameters: one frozen dataclass shared by data preparation, training and synthesis.

A voice saves these values in its `config.json`, so the spectrograms it was trained on and the
Griffin-Lim stage that inverts its predictions always agree.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from tts.audio.errors import AudioConfigError
from tts.config_io import JsonConfig


@dataclass(frozen=True)
class AudioConfig(JsonConfig):
    """Signal-processing settings; derived values are properties, never stored twice.

    Normalisation (both mel and linear spectrograms share it):
    magnitude -> dB = 20 * log10(max(magnitude, min_amplitude)) - ref_level_db
    -> normalised = clip((dB - min_level_db) / -min_level_db, 0, 1).
    So 0 means "at or below min_level_db relative to the reference" (silence) and 1 means
    "at or above ref_level_db dB re 1.0 in raw STFT magnitude"; the range is [0, 1] inclusive.
    """

    sample_rate: int = 22050
    """Hz; KSS is recorded at 44.1 kHz and resampled to this rate on load."""
    n_fft: int = 1024
    """FFT size in samples (46 ms at 22,050 Hz)."""
    hop_length: int = 256
    """Samples between successive frames (11.6 ms); one decoder output frame per hop."""
    win_length: int = 1024
    """Hann window length in samples (must not exceed n_fft)."""
    n_mels: int = 80
    """Mel bands, Slaney mel scale with Slaney (area) normalisation, as librosa's default."""
    fmin: float = 55.0
    """Lowest mel band edge in Hz: below the lowest voice fundamental, drops hum and rumble."""
    fmax: float = 7600.0
    """Highest mel band edge in Hz. Speech carries little energy above ~7.6 kHz, so the 80 bands
    are spent where intelligibility lives; 7600 is also the usual choice of neural vocoders at
    22.05-24 kHz, which leaves room to swap one in later. The linear spectrogram (what Griffin-Lim
    inverts) still covers 0 to sample_rate / 2."""
    preemphasis: float = 0.97
    """Coefficient of the first-order pre-emphasis filter y[n] = x[n] - a * x[n-1] applied before
    every STFT (and undone after Griffin-Lim); it flattens speech's spectral tilt."""
    ref_level_db: float = 20.0
    """dB subtracted from 20*log10(magnitude) before normalising: raw magnitudes of
    10 ** (ref_level_db / 20) (= 10) and above map to 1.0."""
    min_level_db: float = -100.0
    """Floor in dB (after subtracting ref_level_db) that maps to 0.0; must be negative."""
    griffin_lim_iters: int = 60
    """Iterations of (fast) Griffin-Lim phase recovery."""
    griffin_lim_power: float = 1.5
    """Exponent that sharpens the predicted magnitude before Griffin-Lim (Tacotron uses 1.2-1.5):
    levels below the top of the range are expanded in dB by this factor, which suppresses the
    smeared noise floor of predicted spectrograms."""
    griffin_lim_momentum: float = 0.99
    """Momentum of fast Griffin-Lim (Perraudin et al. 2013); 0 is the classic algorithm, < 1."""
    trim_top_db: float = 33.0
    """Data preparation trims leading and trailing audio quieter than this many dB below the
    recording's loudest frame."""

    def __post_init__(self) -> None:
        problems = []
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.type == "int" and (
                isinstance(value, bool) or not isinstance(value, int) or value <= 0
            ):
                problems.append(f"{field.name} must be a positive integer, got {value!r}")
            elif field.type == "float" and (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
            ):
                problems.append(f"{field.name} must be a finite number, got {value!r}")
        if problems:
            raise AudioConfigError("invalid AudioConfig: " + "; ".join(problems))
        if self.win_length > self.n_fft:
            problems.append(f"win_length ({self.win_length}) exceeds n_fft ({self.n_fft})")
        if self.hop_length > self.win_length:
            problems.append(
                f"hop_length ({self.hop_length}) exceeds win_length ({self.win_length})"
            )
        if not 0 <= self.fmin < self.fmax <= self.sample_rate / 2:
            problems.append(
                f"need 0 <= fmin < fmax <= sample_rate / 2, got fmin={self.fmin}, "
                f"fmax={self.fmax}, sample_rate={self.sample_rate}"
            )
        if not 0 <= self.preemphasis < 1:
            problems.append(f"preemphasis must be in [0, 1), got {self.preemphasis}")
        if not self.min_level_db < 0:
            problems.append(f"min_level_db must be negative, got {self.min_level_db}")
        if not self.griffin_lim_power > 0:
            problems.append(f"griffin_lim_power must be positive, got {self.griffin_lim_power}")
        if not 0 <= self.griffin_lim_momentum < 1:
            problems.append(
                f"griffin_lim_momentum must be in [0, 1), got {self.griffin_lim_momentum}"
            )
        if not self.trim_top_db > 0:
            problems.append(f"trim_top_db must be positive, got {self.trim_top_db}")
        if problems:
            raise AudioConfigError("invalid AudioConfig: " + "; ".join(problems))

    @property
    def n_freq(self) -> int:
        """Frequency bins of the one-sided linear spectrogram."""
        return self.n_fft // 2 + 1

    @property
    def frame_shift_seconds(self) -> float:
        """Seconds between successive frames."""
        return self.hop_length / self.sample_rate

    @property
    def frame_length_seconds(self) -> float:
        """Seconds covered by one analysis window."""
        return self.win_length / self.sample_rate

    @property
    def frames_per_second(self) -> float:
        """Spectrogram frames per second of audio."""
        return self.sample_rate / self.hop_length

    @property
    def min_amplitude(self) -> float:
        """Magnitude floor applied before taking logarithms (the dB floor without reference)."""
        return 10.0 ** (self.min_level_db / 20.0)

    @property
    def max_amplitude(self) -> float:
        """Raw magnitude that normalises to 1.0; larger magnitudes are clipped to it."""
        return 10.0 ** (self.ref_level_db / 20.0)

    @property
    def silence_amplitude(self) -> float:
        """Raw magnitude that normalises to 0.0 (what padding and silence decode to)."""
        return 10.0 ** ((self.min_level_db + self.ref_level_db) / 20.0)

    def n_frames(self, n_samples: int) -> int:
        """Frames of a centred STFT (center=True) over n_samples: n_samples // hop_length + 1."""
        return n_samples // self.hop_length + 1
