"""Copy synthesis, Griffin-Lim against a trained neural vocoder, on held-out prepared clips.

    python -m bench.vocoder_copy --features FEATURES --vocoder-run RUN [--split test] [--checkpoint best]
                                 [--acoustic-voice VOICE]

Each clip's recording is analysed with the features' audio settings and rebuilt by Griffin-Lim
(from its linear spectrogram) and by the vocoder (from its normalised mel); both are compared with
the recording: multi-resolution spectral distance (always), PESQ-WB and STOI when the optional
`pesq` and `pystoi` packages are installed. Also each one's CPU real-time factor at one thread.
With --acoustic-voice, also teacher-forced synthesis: that voice's Tacotron fed each recording's
frames, its linear spectrogram through Griffin-Lim and what the vocoder was trained on (its mel,
or its linear spectrogram) through the vocoder, so the whole pipeline is scored against the recording. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch

from tts.audio import griffin_lim
from tts.copy_synthesis import copy_synthesis
from tts.evaluation.vocoders import (
    WaveScore,
    aggregate_scores,
    score_wave,
    teacher_forced_spectrograms,
)
from tts.training import checkpoint as ckpt
from tts.training.features import read_settings
from tts.training.runtime import corpus_name
from tts.training.vocoder.adversarial import generator_weights
from tts.training.vocoder.data import load_clips
from tts.training.vocoder.loop import VocoderCheckpointMeta
from tts.vocoder import Vocoder
from tts.voice_format import load_voice


@torch.inference_mode()
def teacher_forced(voice_dir: Path, clips: list[Any], audio: Any, vocoder: Vocoder,
                   scores: dict[str, list[WaveScore]]) -> None:
    """Score Griffin-Lim and the vocoder on a voice's teacher-forced spectrograms of `clips`."""
    _, model = load_voice(voice_dir)
    for clip in clips:
        frames = clip.frames
        mel, linear = teacher_forced_spectrograms(model, clip.ids.tolist(), clip.mel)
        waves = {
            "teacher-forced griffin-lim": griffin_lim(linear.T[None], [frames], audio)[0],
            "teacher-forced neural": vocoder.infer(vocoder.config.input_of(mel, linear)[None],
                                                   torch.tensor([frames]))[0],
        }
        for name, wave in waves.items():
            scores.setdefault(name, []).append(score_wave(wave, clip.wave, audio.sample_rate))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--features", type=Path, required=True)
    parser.add_argument("--vocoder-run", type=Path, required=True)
    parser.add_argument("--checkpoint", default="best")
    parser.add_argument("--split", default="test")
    parser.add_argument("--corpus", type=Path, default=None)
    parser.add_argument("--acoustic-voice", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    audio = read_settings(args.features).audio
    corpus = args.corpus or Path(corpus_name(args.features) or ".")
    clips = load_clips(args.features, args.split, corpus, audio)
    path = ckpt.resolve_checkpoint(args.vocoder_run, args.checkpoint)
    meta, state, _ = ckpt.read_checkpoint(path, VocoderCheckpointMeta)
    vocoder = Vocoder(meta.vocoder_config)
    vocoder.load_state_dict(generator_weights(state))
    vocoder.eval()
    scores: dict[str, list[WaveScore]] = {"griffin-lim": [], "neural": []}
    seconds: dict[str, float] = {"griffin-lim": 0.0, "neural": 0.0}
    audio_seconds = 0.0
    for clip in clips:
        reference = clip.wave
        audio_seconds += reference.numel() / audio.sample_rate
        for name, model in (("griffin-lim", None), ("neural", vocoder)):
            started = time.perf_counter()
            rebuilt = copy_synthesis(reference, audio, model)
            seconds[name] += time.perf_counter() - started
            scores[name].append(score_wave(rebuilt, reference, audio.sample_rate))
    if args.acoustic_voice is not None:
        teacher_forced(args.acoustic_voice, clips, audio, vocoder, scores)
    summary: dict[str, Any] = {"checkpoint": str(path), "step": meta.step, "clips": len(clips),
                               "audio_seconds": round(audio_seconds, 1)}
    for name, rows in scores.items():
        summary[name] = aggregate_scores(rows)
        if name in seconds:
            summary[name]["real_time_factor_1_thread"] = round(seconds[name] / audio_seconds, 4)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
