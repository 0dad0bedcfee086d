"""Vocoder training data: each prepared utterance's mel with its recording, and random segments.

`sori prepare` stores spectrograms, not audio, so the recordings are read again from the corpus
the features were prepared from (named in their prepare report, or given), loaded and trimmed
exactly as preparation did; a clip whose frame count no longer matches its stored mel is an error
naming it (the corpus changed since). Clips are held in memory (12 h of KSS is about 4 GB).

A step's segments are a pure function of (seed, step): a resumed run draws the very same ones.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from tts.audio import AudioConfig, AudioError, load_audio, trim_silence
from tts.training.features import FeaturesError, read_features, read_manifest, read_record

logger = logging.getLogger(__name__)


class VocoderClip(NamedTuple):
    """One utterance: the vocoder's input spectrogram, its mel, and the recording it must become."""

    id: str
    ids: torch.Tensor  # [T_text] int64, for teacher-forced fine-tuning
    mel: torch.Tensor  # [T_frames, n_mels] float32 in [0, 1]: the recording's, what teacher forcing feeds
    wave: torch.Tensor  # [T_frames * hop_length] float32, zero past the recording's end
    inputs: torch.Tensor  # [T_frames, n_input] float32 in [0, 1]: what the vocoder is fed (mel or linear)

    @property
    def frames(self) -> int:
        """Mel frames of the clip."""
        return self.mel.size(0)


class SegmentBatch(NamedTuple):
    """Random segments of clips, the vocoder's input and the samples it covers."""

    inputs: torch.Tensor  # [B, segment_frames, n_input]
    wave: torch.Tensor  # [B, segment_frames * hop_length]

    def to(self, device: torch.device) -> SegmentBatch:
        """The same batch on `device`."""
        return SegmentBatch(self.inputs.to(device), self.wave.to(device))


def load_clips(
    features_dir: Path, split: str, corpus: Path, audio: AudioConfig, limit: int | None = None,
    spectrogram: str = "mel",
) -> list[VocoderClip]:
    """The first `limit` (all when None) utterances of a split, with their recordings from `corpus`;
    the vocoder's inputs are their mels, or with spectrogram="linear" their linear spectrograms."""
    entries = read_manifest(features_dir, split)[:limit]
    clips = []
    for entry in entries:
        record = read_record(features_dir, entry.id)
        if record is None:
            raise FeaturesError(f"{features_dir} has no readable record of {entry.id}")
        features = read_features(features_dir, entry.id)
        try:
            wave = trim_silence(load_audio(corpus / record.audio, audio.sample_rate), audio)
        except AudioError as error:
            raise FeaturesError(f"cannot read the recording of {entry.id}: {error}") from error
        frames = features.mel.shape[0]
        if audio.n_frames(wave.numel()) != frames:
            raise FeaturesError(
                f"the recording of {entry.id} ({corpus / record.audio}) gives {audio.n_frames(wave.numel())} "
                f"frames but its prepared mel has {frames}: the corpus changed since sori prepare")
        padded = torch.zeros(frames * audio.hop_length)
        count = min(wave.numel(), padded.numel())
        padded[:count] = wave[:count]
        mel = torch.from_numpy(features.mel.astype(np.float32))
        inputs = mel if spectrogram == "mel" else torch.from_numpy(features.linear.astype(np.float32))
        clips.append(VocoderClip(entry.id, torch.from_numpy(features.ids.astype(np.int64)), mel, padded, inputs))
    logger.info("%s: %d clips, %.1f minutes of audio", split, len(clips),
                sum(clip.wave.numel() for clip in clips) / audio.sample_rate / 60)
    return clips


def segment_batch(
    clips: list[VocoderClip], step: int, seed: int, batch_size: int, segment_frames: int, hop_length: int,
) -> SegmentBatch:
    """Step `step`'s segments: clips drawn in proportion to their length (so every second of audio
    is as likely), each cut at a random frame; clips shorter than a segment are zero-padded."""
    rng = np.random.default_rng([seed, step])
    lengths = np.array([clip.frames for clip in clips], dtype=np.float64)
    chosen = rng.choice(len(clips), size=batch_size, p=lengths / lengths.sum())
    inputs = torch.zeros(batch_size, segment_frames, clips[0].inputs.size(1))
    waves = torch.zeros(batch_size, segment_frames * hop_length)
    for row, index in enumerate(chosen.tolist()):
        clip = clips[index]
        start = int(rng.integers(0, max(clip.frames - segment_frames, 0) + 1))
        segment = clip.inputs[start : start + segment_frames]
        inputs[row, : segment.size(0)] = segment
        wave = clip.wave[start * hop_length : (start + segment_frames) * hop_length]
        waves[row, : wave.numel()] = wave
    return SegmentBatch(inputs, waves)
