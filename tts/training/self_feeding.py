"""Scheduled sampling for the Tacotron decoder: feed it some of its own predictions in training.

Free-running inference feeds each decoder step the model's own previous frame; teacher forcing
feeds the true one, and a decoder trained only on true frames learns to copy them instead of
reading the attention context (its free-running output then blurs into an average voice). A first,
gradient-free teacher-forced pass predicts every frame; the training pass is then fed, per item and
decoder step, the predicted frame with probability `rate` and the true frame otherwise.
"""

from __future__ import annotations

import torch

from tts.model import Tacotron
from tts.model.layers import lengths_to_mask


@torch.no_grad()
def self_fed_frames(
    model: Tacotron,
    ids: torch.Tensor,
    text_lengths: torch.Tensor,
    mels: torch.Tensor,
    rate: float,
) -> torch.Tensor:
    """The frames to feed back: [B, T_frames, n_mels], each decoder step's r frames taken from the
    model's teacher-forced prediction with probability `rate`, else from `mels`.

    Batch-norm running statistics are left as they were: this pass is not a training step.
    """
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be in [0, 1], got {rate}")
    if rate == 0.0:
        return mels
    saved = [buffer.clone() for buffer in model.buffers()]
    try:
        memory = model.encoder(ids, text_lengths)
        predicted = model.decoder(memory, lengths_to_mask(text_lengths, ids.size(1)), mels).mel
    finally:
        for buffer, value in zip(model.buffers(), saved, strict=True):
            buffer.copy_(value)
    batch, total_frames, _ = mels.shape
    r = model.config.reduction_factor
    # Drawn on the CPU from torch's global generator, whose state checkpoints save.
    draws = torch.rand(batch, total_frames // r).to(mels.device)
    chosen = (draws < rate).repeat_interleave(r, dim=1).unsqueeze(-1)  # [B, T_frames, 1]
    return torch.where(chosen, predicted.to(mels.dtype), mels)
