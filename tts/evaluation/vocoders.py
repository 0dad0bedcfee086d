"""Griffin-Lim and the neural vocoder side by side on held-out clips, scored against each clip.

Two paths per clip, each through both vocoders:
- copy synthesis: the clip's own spectrogram, so the score is the vocoder's ceiling;
- teacher-forced synthesis: the voice's Tacotron fed the clip's own frames, so its prediction is
  time-aligned with the clip and PESQ/STOI apply to the whole pipeline, model error included.
Measures: a multi-resolution spectral distance always; PESQ-WB and STOI when the optional `pesq` and
`pystoi` packages are installed (`pip install 'sori[eval]'`, part of `make install`).
"""

from __future__ import annotations

import logging
import statistics
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torchaudio.functional as AF

from tts.audio import AudioConfig, SpectrogramExtractor, griffin_lim
from tts.copy_synthesis import copy_synthesis
from tts.model import Tacotron
from tts.text import SymbolTable, TextConfig, text_to_ids
from tts.vocoder import Vocoder
from tts.vocoder.losses import spectral_distance

logger = logging.getLogger(__name__)

PESQ_RATE = 16000
"""PESQ-WB is defined at 16 kHz: both waves are resampled to it."""
GRIFFIN_LIM = "griffin-lim"
NEURAL = "neural"
COPY = "copy synthesis"
TEACHER_FORCED = "teacher-forced"
COPY_PESQ_BAR = 3.6
COPY_STOI_BAR = 0.98
MEASURES = ("pesq_wb", "stoi", "spectral_distance")
LOWER_IS_BETTER = frozenset({"spectral_distance"})


def perceptual_available() -> bool:
    """Whether PESQ-WB and STOI can be computed here (their packages are optional)."""
    try:
        import pesq  # noqa: F401
        import pystoi  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class WaveScore:
    """One rebuilt wave against its reference; a perceptual score is None when it cannot be computed."""

    spectral_distance: float
    pesq_wb: float | None
    stoi: float | None


def score_wave(rebuilt: torch.Tensor, reference: torch.Tensor, sample_rate: int) -> WaveScore:
    """rebuilt, reference [T] at sample_rate (rebuilt is cut or padded to the reference's length)."""
    rebuilt = rebuilt.detach().float().cpu()[: reference.numel()]
    rebuilt = torch.nn.functional.pad(rebuilt, (0, reference.numel() - rebuilt.numel())).clamp(-1.0, 1.0)
    reference = reference.detach().float().cpu()
    distance = spectral_distance(rebuilt, reference)
    if not perceptual_available():
        return WaveScore(distance, None, None)
    from pesq import PesqError, pesq
    from pystoi import stoi

    try:
        pesq_wb: float | None = float(pesq(PESQ_RATE, AF.resample(reference, sample_rate, PESQ_RATE).numpy(),
                                           AF.resample(rebuilt, sample_rate, PESQ_RATE).numpy(), "wb"))
    except PesqError as error:  # a clip PESQ finds no speech in, or too short to score
        logger.warning("PESQ cannot score a clip: %s", error)
        pesq_wb = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        intelligibility: float | None = float(stoi(reference.numpy(), rebuilt.numpy(), sample_rate, extended=False))
    if any("Not enough STFT frames" in str(warning.message) for warning in caught):
        logger.warning("STOI cannot score a clip this short (it would report 1e-5)")
        intelligibility = None
    return WaveScore(distance, pesq_wb, intelligibility)


@torch.inference_mode()
def teacher_forced_spectrograms(
    model: Tacotron, ids: Sequence[int], mel: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Tacotron fed a clip's own frames, in eval mode (no pre-net dropout, batch-norm running stats),
    as vocoder fine-tuning feeds it (tts/training/vocoder/teacher.py); free-running synthesis applies
    seeded pre-net dropout masks instead, and the free-running figures measure that.

    ids [T_text]; mel [T_frames, n_mels] normalised as `sori prepare` writes it.
    -> predicted mel [T_frames, n_mels] and linear [T_frames, n_freq], aligned frame for frame.
    """
    device = next(model.parameters()).device
    frames, n_mels = mel.shape
    r = model.config.reduction_factor
    padded = torch.zeros(1, -(-frames // r) * r, n_mels, device=device)
    padded[0, :frames] = mel.to(device)
    tokens = torch.as_tensor(list(ids), dtype=torch.long, device=device)[None]
    was_training = model.training
    model.eval()
    try:
        output = model(tokens, torch.tensor([tokens.size(1)], device=device), padded,
                       torch.tensor([frames], device=device))
    finally:
        model.train(was_training)
    return output.mel[0, :frames].float().clamp(0.0, 1.0), output.linear[0, :frames].float()


@dataclass(frozen=True)
class FreeRunning:
    """The voice speaking the sentences on its own, with one vocoder, against the teacher."""

    mean_teacher_distance: float
    retrieval_accuracy: float


@dataclass(frozen=True)
class VocoderComparison:
    """Per-clip scores for each (path, vocoder), and the free-running figures per vocoder."""

    clips: int
    audio_seconds: float
    perceptual: bool
    scores: dict[str, dict[str, tuple[WaveScore, ...]]]
    free_running: dict[str, FreeRunning]

    @property
    def vocoders(self) -> list[str]:
        """The vocoders compared: Griffin-Lim, and the neural one when the voice has it."""
        return list(self.scores[COPY])

    def summary(self) -> dict[str, Any]:
        """Mean and worst of each measure per path and vocoder, plus the vocoder bars when a neural one
        is compared."""
        paths: dict[str, Any] = {}
        for path, by_vocoder in self.scores.items():
            paths[path] = {name: aggregate_scores(rows) for name, rows in by_vocoder.items()}
        figures: dict[str, Any] = {
            "clips": self.clips,
            "audio_seconds": round(self.audio_seconds, 1),
            "perceptual_measures": self.perceptual,
            **paths,
            "free-running": {name: vars(run) for name, run in self.free_running.items()},
        }
        if NEURAL in self.vocoders:
            figures["bars"] = self._bars(paths)
        return figures

    def _bars(self, paths: dict[str, Any]) -> dict[str, bool | None]:
        """The vocoder bars; None where a measure is missing (no pesq/pystoi here). The copy-synthesis
        ones are a general vocoder's; a voice's own vocoder ships on the end-to-end ones (against
        Griffin-Lim: teacher-forced PESQ-WB and STOI, free-running distance and retrieval)."""
        def mean(path: str, name: str, measure: str) -> float | None:
            value = paths[path][name].get(measure)
            return None if value is None else value["mean"]

        def compare(left: float | None, right: float | None, above: bool) -> bool | None:
            if left is None or right is None:
                return None
            return left > right if above else left < right

        copy_pesq, copy_stoi = mean(COPY, NEURAL, "pesq_wb"), mean(COPY, NEURAL, "stoi")
        free = self.free_running
        both = NEURAL in free and GRIFFIN_LIM in free
        return {
            f"copy synthesis PESQ-WB >= {COPY_PESQ_BAR}": None if copy_pesq is None else copy_pesq >= COPY_PESQ_BAR,
            f"copy synthesis STOI >= {COPY_STOI_BAR}": None if copy_stoi is None else copy_stoi >= COPY_STOI_BAR,
            "teacher-forced PESQ-WB above Griffin-Lim's": compare(
                mean(TEACHER_FORCED, NEURAL, "pesq_wb"), mean(TEACHER_FORCED, GRIFFIN_LIM, "pesq_wb"), above=True),
            "teacher-forced STOI above Griffin-Lim's": compare(
                mean(TEACHER_FORCED, NEURAL, "stoi"), mean(TEACHER_FORCED, GRIFFIN_LIM, "stoi"), above=True),
            "free-running MFCC-DTW distance below Griffin-Lim's": compare(
                free[NEURAL].mean_teacher_distance, free[GRIFFIN_LIM].mean_teacher_distance, above=False)
            if both else None,
            "free-running retrieval no lower than Griffin-Lim's": free[NEURAL].retrieval_accuracy
            >= free[GRIFFIN_LIM].retrieval_accuracy if both else None,
        }

    def to_markdown(self) -> list[str]:
        """The report's "Vocoders" section, one row per path and vocoder."""
        summary = self.summary()
        lines = [
            "## Vocoders",
            "",
            f"Clips: the teacher's renderings of the {self.clips} sentences ({self.audio_seconds:.1f} s), "
            "held out as long as the sentences file never was trained on. Each cell is mean (worst)."
            + ("" if self.perceptual else " PESQ-WB and STOI need `pip install 'sori[eval]'`."),
            "",
            "| path | vocoder | PESQ-WB | STOI | spectral distance |",
            "|---|---|---|---|---|",
        ]
        for path in (COPY, TEACHER_FORCED):
            for name in self.vocoders:
                cells = [_cell(summary[path][name].get(measure)) for measure in MEASURES]
                lines.append(f"| {path} | {name} | " + " | ".join(cells) + " |")
        lines += ["", "| free-running | mean MFCC-DTW distance to the teacher | retrieval |", "|---|---|---|"]
        for name, run in self.free_running.items():
            lines.append(f"| {name} | {run.mean_teacher_distance:.1f} | {run.retrieval_accuracy:.0%} |")
        if "bars" in summary:
            lines += ["", "Copy-synthesis bars are a general vocoder's; a voice's own vocoder ships on the four "
                      "end-to-end bars against Griffin-Lim.", "", "| vocoder bar | met |", "|---|---|"]
            for bar, met in summary["bars"].items():
                lines.append(f"| {bar} | {'n/a' if met is None else 'yes' if met else '**no**'} |")
        return lines


def aggregate_scores(rows: Sequence[WaveScore]) -> dict[str, dict[str, float]]:
    """Mean and worst of each measure over the clips that have it."""
    result = {}
    for measure in MEASURES:
        values = [getattr(row, measure) for row in rows if getattr(row, measure) is not None]
        if values:
            worst = max(values) if measure in LOWER_IS_BETTER else min(values)
            result[measure] = {"mean": round(statistics.mean(values), 3), "worst": round(worst, 3),
                               "clips": len(values)}
    return result


def _cell(value: dict[str, float] | None) -> str:
    return "-" if value is None else f"{value['mean']:.3f} ({value['worst']:.3f})"


def compare_vocoders(
    model: Tacotron, text: TextConfig, symbols: SymbolTable, audio: AudioConfig, vocoder: Vocoder | None,
    clips: Sequence[tuple[str, torch.Tensor]], free_running: dict[str, FreeRunning],
) -> VocoderComparison:
    """Score Griffin-Lim (and `vocoder`, when given) on held-out `clips`: (text, wave [T] at the
    voice's rate, trimmed as `sori prepare` trims) pairs. Each text is read whole, as `sori prepare`
    reads a transcript line, so a line of several sentences is one sequence here."""
    if not clips:
        raise ValueError("compare_vocoders needs at least one clip")
    extractor = SpectrogramExtractor(audio)
    vocoders: dict[str, Vocoder | None] = {GRIFFIN_LIM: None}
    if vocoder is not None:
        vocoders[NEURAL] = vocoder
    scores: dict[str, dict[str, list[WaveScore]]] = {
        path: {name: [] for name in vocoders} for path in (COPY, TEACHER_FORCED)}
    rate = audio.sample_rate
    for sentence, wave in clips:
        for name, network in vocoders.items():
            scores[COPY][name].append(score_wave(copy_synthesis(wave, audio, network), wave, rate))
        with torch.inference_mode():
            mel, _ = extractor(wave.float().cpu())  # [n_mels, T_frames]
        predicted_mel, predicted_linear = teacher_forced_spectrograms(
            model, text_to_ids(sentence, text, symbols).ids, mel.T)
        frames = predicted_mel.size(0)
        with torch.inference_mode():
            rebuilt = {GRIFFIN_LIM: griffin_lim(predicted_linear.T[None], [frames], audio)[0]}
            if vocoder is not None:
                inputs = vocoder.config.input_of(predicted_mel, predicted_linear)
                rebuilt[NEURAL] = vocoder.infer(inputs[None], torch.tensor([frames]))[0]
        for name, rebuilt_wave in rebuilt.items():
            scores[TEACHER_FORCED][name].append(score_wave(rebuilt_wave, wave, rate))
    return VocoderComparison(
        clips=len(clips),
        audio_seconds=sum(wave.numel() for _, wave in clips) / rate,
        perceptual=perceptual_available(),
        scores={path: {name: tuple(rows) for name, rows in by.items()} for path, by in scores.items()},
        free_running=free_running,
    )
