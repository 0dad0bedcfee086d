"""Fine-tuning input: a voice's Tacotron run teacher-forced on each clip, so its predicted mel is
aligned frame for frame with the recording and the vocoder learns the spectrograms it will be given.

The pass runs in eval mode: batch-norm uses its running statistics. The decoder pre-net has no
dropout, or with `dropout=True` the fixed per-sentence masks that synthesis applies to the same text
(when the voice keeps pre-net dropout at inference), so the mels resemble what synthesis predicts.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from tts.audio import AudioConfig
from tts.text import SymbolTable
from tts.training.runtime import TrainError
from tts.training.vocoder.data import VocoderClip
from tts.vocoder.config import mel_settings, vocoder_input
from tts.voice_format import load_voice

logger = logging.getLogger(__name__)


@torch.inference_mode()
def teacher_forced_clips(
    clips: list[VocoderClip], voice_dir: Path, audio: AudioConfig, symbols: SymbolTable, device: torch.device,
    spectrogram: str = "mel", dropout: bool = False,
) -> list[VocoderClip]:
    """The clips (prepared with `audio` and `symbols`) with the vocoder's inputs replaced by the
    voice's teacher-forced predictions: its mel [T_frames, n_mels], or with spectrogram="linear"
    its post-net's linear spectrogram [T_frames, n_freq]. `dropout`: the pre-net applies the masks
    synthesis draws for each clip's text (`sentence_seed`) instead of none."""
    from tts.synthesizer import sentence_seed

    config, model = load_voice(Path(voice_dir), device)
    if mel_settings(config.audio) != mel_settings(audio):
        raise TrainError(f"voice {voice_dir} was trained with other audio settings than the features")
    if config.symbols != symbols:
        raise TrainError(f"voice {voice_dir} has another symbol table than the features")
    r = config.model.reduction_factor
    result = []
    for clip in clips:
        frames = clip.frames
        padded = -(-frames // r) * r
        mel = torch.zeros(1, padded, audio.n_mels, device=device)
        mel[0, :frames] = clip.mel.to(device)
        ids = clip.ids.to(device)[None]
        masks = None
        if dropout:
            seeds = torch.tensor([sentence_seed(clip.ids.tolist())], device=device)
            masks = model.decoder.synthesis_prenet_masks(seeds, padded // r, mel.dtype)
        output = model(ids, torch.tensor([ids.size(1)], device=device), mel, torch.tensor([frames], device=device),
                       prenet_masks=masks)
        predicted = vocoder_input(spectrogram, output.mel, output.linear)
        result.append(clip._replace(inputs=predicted[0, :frames].float().clamp(0.0, 1.0).cpu()))
    logger.info("replaced %d clips' mels by %s's teacher-forced predictions (%s)", len(result), voice_dir,
                "synthesis's pre-net dropout masks" if dropout else "no pre-net dropout")
    return result
