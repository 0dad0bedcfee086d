"""Text to speech on torch: Tacotron (batched) -> batched Griffin-Lim, or the voice's neural
vocoder when it has one. The runtime-independent part (frontend, sentences, streaming, results)
is `tts.synthesis`; the names it defines are re-exported here for existing callers.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch.nn import functional as F

from tts.alignment import attention_health
from tts.audio import griffin_lim
from tts.audio.griffin_lim_graph import GriffinLimGraphs
from tts.model import Tacotron
from tts.synthesis import (
    STEP_LIMIT_MARGIN_FRAMES,
    VOCODER_NAMES,
    SentenceSynthesis,
    SpeechChunk,
    SpeechSynthesizer,
    SynthesisOptions,
    SynthesisResult,
    VocoderName,
    VoiceSource,
    join_chunks,
    sentence_seed,
    stream_groups,
)
from tts.text import FrontendResult
from tts.text.symbols import spoken_length
from tts.vocoder import Vocoder
from tts.voice_format import VoiceConfig, load_vocoder, load_voice

__all__ = [
    "STEP_LIMIT_MARGIN_FRAMES",
    "VOCODER_NAMES",
    "SentenceSynthesis",
    "SpeechChunk",
    "SynthesisOptions",
    "SynthesisResult",
    "Synthesizer",
    "VocoderName",
    "VoiceSource",
    "join_chunks",
    "resolve_device",
    "sentence_seed",
    "stream_groups",
]

logger = logging.getLogger(__name__)


def resolve_device(device: str | torch.device) -> torch.device:
    """'auto' -> CUDA when available, else CPU; 'cuda' without a GPU is a clear error."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' was requested but no CUDA GPU is available")
    return resolved


class Synthesizer(SpeechSynthesizer):
    """A loaded voice whose networks run on torch (CPU or CUDA)."""

    runtime: Literal["torch", "onnx"] = "torch"

    def __init__(
        self, config: VoiceConfig, model: Tacotron, device: torch.device, max_batch_size: int = 64,
        cuda_graphs: bool = True, vocoder: Vocoder | None = None, source: VoiceSource | None = None,
    ) -> None:
        super().__init__(config, device, max_batch_size, source)
        self.device: torch.device = device
        self.model = model.to(device).eval()
        self.cuda_graphs = cuda_graphs
        """On CUDA, decode and run Griffin-Lim by replaying captured CUDA graphs."""
        self.griffin_lim_graphs = (GriffinLimGraphs() if cuda_graphs and device.type == "cuda" else None)
        """Griffin-Lim's captured graphs (tts.audio.griffin_lim_graph), on CUDA only."""
        self.vocoder = vocoder.to(device).eval() if vocoder is not None else None
        """The neural vocoder, used unless a request asks for Griffin-Lim; None: Griffin-Lim only."""

    @classmethod
    def load(
        cls, voice_dir: str | Path, device: str | torch.device = "auto", max_batch_size: int = 64,
        cuda_graphs: bool = True, vocoder: Literal["auto", "griffin-lim", "neural"] = "auto",
    ) -> Synthesizer:
        """Load a voice directory onto a device ('auto', 'cpu', 'cuda', 'cuda:1', ...).

        `vocoder`: 'auto' uses the voice's neural vocoder when it has one and Griffin-Lim otherwise;
        'griffin-lim' never loads one; 'neural' requires one (VoiceError when the voice has none).
        """
        if vocoder not in ("auto", *VOCODER_NAMES):
            raise ValueError(f"vocoder must be auto, {' or '.join(VOCODER_NAMES)}, got {vocoder!r}")
        resolved = resolve_device(device)
        config, model = load_voice(Path(voice_dir), resolved)
        neural = None
        if vocoder == "neural" or (vocoder == "auto" and config.vocoder is not None):
            neural = load_vocoder(Path(voice_dir), config, resolved)
        source = VoiceSource(str(Path(voice_dir).resolve()), str(resolved), max_batch_size, cuda_graphs, vocoder)
        return cls(config, model, resolved, max_batch_size, cuda_graphs, neural, source)

    @property
    def has_neural_vocoder(self) -> bool:
        """Whether a neural vocoder is loaded (else Griffin-Lim only)."""
        return self.vocoder is not None

    def _decode_batch(
        self, batch: Sequence[tuple[str, FrontendResult]], options: SynthesisOptions
    ) -> list[tuple[SentenceSynthesis, np.ndarray]]:
        """Tacotron + Griffin-Lim (or the neural vocoder) for up to max_batch_size sentences at once."""
        vocoder = self.vocoder_for(options)
        model_config = self.config.model
        r = model_config.reduction_factor
        lengths = [len(frontend.ids) for _, frontend in batch]
        ids = torch.full((len(batch), max(lengths)), model_config.pad_id, dtype=torch.long)
        for row, (_, frontend) in enumerate(batch):
            ids[row, : lengths[row]] = torch.tensor(frontend.ids)
        max_steps = torch.tensor(
            [int(np.ceil((n * options.max_frames_per_symbol + STEP_LIMIT_MARGIN_FRAMES) / r)) for n in lengths]
        )
        seeds = torch.tensor([sentence_seed(frontend.ids) for _, frontend in batch])
        output = self.model.infer(
            ids.to(self.device), torch.tensor(lengths, device=self.device),
            max_steps=max_steps.to(self.device), seeds=seeds.to(self.device),
            cuda_graphs=self.cuda_graphs,
        )
        frame_lengths = output.frame_lengths
        # What the vocoder inverts: the linear spectrogram for Griffin-Lim; for the network, what it
        # was trained on (the mel, or the post-net's linear spectrogram).
        inverted = (self.vocoder.config.input_of(output.mel, output.linear)
                    if vocoder == "neural" and self.vocoder is not None else output.linear)
        spectrogram = inverted.transpose(1, 2).float()  # [B, F, T_frames]
        if options.speed != 1.0:
            # Each item over its own frames, so its audio does not depend on the batch's padding.
            stretched = (frame_lengths.float() / options.speed).round().clamp(min=1).long()
            items = [F.interpolate(spectrogram[row : row + 1, :, :count], size=size, mode="linear",
                                   align_corners=False)[0]
                     for row, (count, size) in enumerate(zip(frame_lengths.tolist(), stretched.tolist(), strict=True))]
            spectrogram = torch.nn.utils.rnn.pad_sequence([item.t() for item in items], batch_first=True).transpose(1, 2)
            frame_lengths = stretched
        if vocoder == "neural" and self.vocoder is not None:
            waves = self.vocoder.infer(spectrogram.transpose(1, 2), frame_lengths)
        else:
            audio = self.config.audio
            if options.griffin_lim_iters is not None:
                audio = replace(audio, griffin_lim_iters=options.griffin_lim_iters)
            waves = griffin_lim(spectrogram, frame_lengths.cpu(), audio, graphs=self.griffin_lim_graphs)

        steps = output.step_lengths.cpu().tolist()
        hit_limit = output.hit_limit.cpu().tolist()
        alignments = output.alignments.float().cpu().numpy()
        mels = output.mel.float().cpu().numpy()
        results = []
        for row, (text, frontend) in enumerate(batch):
            labels = tuple(self.config.symbols.decode(frontend.ids))
            alignment = alignments[row, : steps[row], : lengths[row]]
            sentence = SentenceSynthesis(
                text=text,
                frontend=frontend,
                labels=labels,
                alignment=alignment,
                mel=mels[row, : steps[row] * r],
                health=attention_health(
                    alignment, stopped_by_token=not hit_limit[row], spoken_length=spoken_length(labels)
                ),
            )
            results.append((sentence, waves[row].float().cpu().numpy()))
        return results
