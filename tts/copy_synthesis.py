"""Copy synthesis: analyse a recording with a voice's audio settings and vocode its own spectrogram.

What comes out is the best a vocoder can do for that voice, before any error of the acoustic
model: Griffin-Lim from the linear spectrogram, the neural vocoder from the normalised mel.
"""

from __future__ import annotations

import torch

from tts.audio import AudioConfig, SpectrogramExtractor, griffin_lim
from tts.vocoder import Vocoder


@torch.inference_mode()
def copy_synthesis(wave: torch.Tensor, audio: AudioConfig, vocoder: Vocoder | None = None) -> torch.Tensor:
    """wave [T] at audio.sample_rate -> [T] float32 on the CPU: through `vocoder` from the
    spectrogram it was trained on, or through Griffin-Lim from the linear spectrogram when `vocoder`
    is None."""
    mel, linear = SpectrogramExtractor(audio)(wave.float().cpu())  # [n_mels, T_frames], [n_freq, T_frames]
    frames = mel.size(1)
    if vocoder is None:
        rebuilt = griffin_lim(linear[None], [frames], audio)[0]
    else:
        device = next(vocoder.parameters()).device
        inputs = vocoder.config.input_of(mel, linear)
        rebuilt = vocoder.infer(inputs.T[None].to(device), torch.tensor([frames]))[0]
    out = torch.zeros(wave.numel())
    count = min(wave.numel(), rebuilt.numel())
    out[:count] = rebuilt[:count].float().cpu()
    return out.clamp(-1.0, 1.0)
