"""Text to speech with a loaded voice, whatever runs the networks: the frontend, sentence
splitting, batching, streaming and the results, without torch.

`SpeechSynthesizer` is the interface `sori speak`, `sori serve`, `sori wyoming` and `sori ask -o`
use; a runtime gives it `_decode_batch` (symbol ids -> spectrograms -> waves): torch
(`tts.synthesizer.Synthesizer`) or ONNX Runtime (`tts.onnx.synthesizer.OnnxSynthesizer`).
`load_synthesizer` picks one. A synthesizer holds a voice's configuration and weights and nothing
that changes between calls, so one instance serves many threads. Long text is split into
sentences; every sentence's attention is checked, and a failed one is reported in the result
rather than passed off as speech. Waves are numpy float32 arrays [T] in [-1, 1].
"""

from __future__ import annotations

import importlib.util
import logging
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, get_args

import numpy as np

from tts.alignment import AttentionHealth
from tts.text import FrontendError, FrontendResult, text_to_ids
from tts.text.sentences import split_sentences
from tts.voice_config import VoiceConfig, VoiceError

logger = logging.getLogger(__name__)

VocoderName = Literal["griffin-lim", "neural"]
"""How mel frames become a wave: Griffin-Lim on the predicted linear spectrogram, or the voice's
neural vocoder on the predicted mel."""
VOCODER_NAMES: tuple[str, ...] = get_args(VocoderName)

STEP_LIMIT_MARGIN_FRAMES = 40
"""Frames added to every sentence's step limit (`max_frames_per_symbol` per symbol, plus this), so
a sentence of a symbol or two still has room for its leading and trailing silence (about 0.46 s
at 22.05 kHz and hop 256)."""


@dataclass(frozen=True)
class SynthesisOptions:
    """Per-request options, apart from the voice's own hyperparameters."""

    speed: float = 1.0
    """Speaking-rate factor in [0.25, 4.0]: the spectrogram is stretched in time before Griffin-Lim."""
    griffin_lim_iters: int | None = None
    """Griffin-Lim iterations; None uses the voice's audio config."""
    max_sentence_chars: int = 100
    """Sentences longer than this are cut at a comma or space."""
    sentence_pause_seconds: float = 0.25
    """Silence inserted between sentences."""
    max_frames_per_symbol: float = 12.0
    """Step limit per sentence: this many frames per input symbol, plus a margin."""
    vocoder: VocoderName | None = None
    """'griffin-lim' or 'neural' (the voice must have a neural vocoder); None: the synthesizer's default."""

    def __post_init__(self) -> None:
        if self.vocoder is not None and self.vocoder not in VOCODER_NAMES:
            raise ValueError(f"vocoder must be one of {', '.join(VOCODER_NAMES)}, got {self.vocoder!r}")
        if not 0.25 <= self.speed <= 4.0:
            raise ValueError(f"speed must be between 0.25 and 4.0, got {self.speed}")
        if self.griffin_lim_iters is not None and not 1 <= self.griffin_lim_iters <= 500:
            raise ValueError(f"griffin_lim_iters must be between 1 and 500, got {self.griffin_lim_iters}")
        if self.sentence_pause_seconds < 0:
            raise ValueError("sentence_pause_seconds must not be negative")


@dataclass(frozen=True)
class SentenceSynthesis:
    """One sentence's intermediate results."""

    text: str
    frontend: FrontendResult
    labels: tuple[str, ...]  # [T_text] the symbol of each input id, EOS included
    alignment: np.ndarray  # [T_steps, T_text]
    mel: np.ndarray  # [T_frames, n_mels]
    health: AttentionHealth


@dataclass(frozen=True)
class SynthesisResult:
    """Speech for one input text, with everything needed to judge it."""

    waveform: np.ndarray  # [T] float32, in [-1, 1]
    sample_rate: int
    sentences: tuple[SentenceSynthesis, ...]
    chunk_starts: tuple[int, ...] = ()
    """Per sentence, the sample where its chunk (the pause before it, then its speech) begins."""

    @property
    def alignments(self) -> list[np.ndarray]:
        """Per sentence [T_steps, T_text]."""
        return [sentence.alignment for sentence in self.sentences]

    @property
    def mel(self) -> np.ndarray:
        """All sentences' mel frames, concatenated. [T_frames, n_mels]."""
        return np.concatenate([sentence.mel for sentence in self.sentences], axis=0)

    @property
    def health_ok(self) -> bool:
        """Every sentence's attention reached the end, moved forward and stopped by itself."""
        return all(sentence.health.ok for sentence in self.sentences)

    @property
    def failed_sentences(self) -> list[str]:
        """Texts of sentences whose attention failed."""
        return [sentence.text for sentence in self.sentences if not sentence.health.ok]

    @property
    def dropped(self) -> tuple[str, ...]:
        """Characters the frontend could not speak, over all sentences."""
        return tuple(ch for sentence in self.sentences for ch in sentence.frontend.dropped)

    @property
    def duration_seconds(self) -> float:
        """Length of the waveform in seconds."""
        return self.waveform.size / self.sample_rate


@dataclass(frozen=True)
class SpeechChunk:
    """One sentence of a streamed synthesis, ready to play: the pause before it, then its audio.

    Played one after another, a text's chunks are its `SynthesisResult.waveform`: the same pauses,
    frames and stops, and the same samples up to the rounding of batches of other sizes.
    """

    index: int
    """Position of the sentence in the text, from 0."""
    sentence: SentenceSynthesis
    waveform: np.ndarray  # [T] float32, in [-1, 1]: pause (index > 0) + speech
    sample_rate: int
    pause_samples: int
    """Leading samples of silence (the pause between sentences), before the sentence's speech."""

    @property
    def duration_seconds(self) -> float:
        """Length of the chunk, pause included."""
        return self.waveform.size / self.sample_rate


def stream_groups(count: int, max_size: int) -> list[range]:
    """How a stream of `count` sentences is decoded: the first alone, so it is heard after one
    sentence's time, then batches doubling (2, 4, ... up to max_size), so the rest still decodes
    in batches while the first is playing."""
    groups, start, size = [], 0, 1
    while start < count:
        groups.append(range(start, min(start + size, count)))
        start += size
        size = min(2 * size, max_size)
    return groups


def join_chunks(chunks: Sequence[SpeechChunk], sample_rate: int) -> SynthesisResult:
    """A whole text's result from its chunks, in order (failed attention is logged)."""
    waveform = np.concatenate([chunk.waveform for chunk in chunks]) if chunks else np.zeros(0, np.float32)
    starts = tuple(int(start) for start in np.cumsum([0] + [chunk.waveform.size for chunk in chunks[:-1]]))
    result = SynthesisResult(
        waveform, sample_rate, tuple(chunk.sentence for chunk in chunks), starts if chunks else ()
    )
    if not result.health_ok:
        logger.warning("attention failed for: %s", " | ".join(result.failed_sentences))
    return result


def sentence_seed(ids: Sequence[int]) -> int:
    """Stable per-sentence seed for the pre-net dropout masks: same text, same audio."""
    return zlib.crc32(np.asarray(ids, dtype=np.int32).tobytes()) & 0x7FFFFFFF


@dataclass(frozen=True)
class VoiceSource:
    """The arguments a synthesizer was loaded with, so another process can load the same one."""

    voice_dir: str
    device: str
    max_batch_size: int
    cuda_graphs: bool
    vocoder: Literal["auto", "griffin-lim", "neural"]


RuntimeName = Literal["torch", "onnx", "auto"]
"""What runs the networks: torch, ONNX Runtime, or 'auto' (torch when it is installed, else ONNX)."""
RUNTIME_NAMES: tuple[str, ...] = get_args(RuntimeName)


class Device(Protocol):
    """Where a synthesizer runs: a torch.device, or `CPU` for ONNX Runtime (`type` and str())."""

    @property
    def type(self) -> str: ...


def torch_installed() -> bool:
    """Whether torch can be imported here (without importing it)."""
    return importlib.util.find_spec("torch") is not None


def resolve_runtime(runtime: str) -> Literal["torch", "onnx"]:
    """'auto' -> torch when it is installed, else ONNX; a runtime that cannot run is a ValueError."""
    if runtime not in RUNTIME_NAMES:
        raise ValueError(f"runtime must be one of {', '.join(RUNTIME_NAMES)}, got {runtime!r}")
    if runtime == "auto":
        return "torch" if torch_installed() else "onnx"
    if runtime == "torch" and not torch_installed():
        raise ValueError("runtime 'torch' needs torch, which is not installed: pip install 'sori[torch]', "
                         "or use --runtime onnx")
    return "torch" if runtime == "torch" else "onnx"


def load_synthesizer(
    voice_dir: str | Path, runtime: str = "auto", device: str = "auto", max_batch_size: int = 64,
    cuda_graphs: bool = True, vocoder: Literal["auto", "griffin-lim", "neural"] = "auto",
) -> SpeechSynthesizer:
    """Load a voice directory on the runtime asked for ('auto': torch when installed, else ONNX).

    ONNX Runtime runs on the CPU: `device` must then be 'auto' or 'cpu', and `cuda_graphs` is unused.
    VoiceError names what is wrong with the voice (no onnx section, a stale or damaged file).
    """
    chosen = resolve_runtime(runtime)
    if chosen == "onnx":
        from tts.onnx.synthesizer import OnnxSynthesizer

        return OnnxSynthesizer.load(voice_dir, device=device, max_batch_size=max_batch_size, vocoder=vocoder)
    from tts.synthesizer import Synthesizer

    return Synthesizer.load(voice_dir, device=device, max_batch_size=max_batch_size,
                            cuda_graphs=cuda_graphs, vocoder=vocoder)


class SpeechSynthesizer:
    """A loaded voice that turns Korean text into speech; a runtime supplies `_decode_batch`."""

    runtime: Literal["torch", "onnx"]
    """What runs the networks."""

    def __init__(self, config: VoiceConfig, device: Device, max_batch_size: int = 64,
                 source: VoiceSource | None = None) -> None:
        self.config = config
        self.device = device
        self.max_batch_size = max_batch_size
        self.source = source
        """Where it was loaded from (None: built in memory, so no other process can load it)."""

    @property
    def has_neural_vocoder(self) -> bool:
        """Whether a neural vocoder is loaded (else Griffin-Lim only)."""
        raise NotImplementedError

    def _decode_batch(
        self, batch: Sequence[tuple[str, FrontendResult]], options: SynthesisOptions
    ) -> list[tuple[SentenceSynthesis, np.ndarray]]:
        """Up to max_batch_size sentences -> (their synthesis, their wave [T] float32) each."""
        raise NotImplementedError

    @property
    def default_vocoder(self) -> VocoderName:
        """What a request that names no vocoder gets: 'neural' when one is loaded."""
        return "neural" if self.has_neural_vocoder else "griffin-lim"

    def vocoder_for(self, options: SynthesisOptions) -> VocoderName:
        """The vocoder a request gets; VoiceError when it asks for a neural one and none is loaded."""
        choice = options.vocoder or self.default_vocoder
        if choice == "neural" and not self.has_neural_vocoder:
            raise VoiceError(f"voice {self.config.name} has no neural vocoder loaded; use griffin-lim")
        return choice

    @property
    def sample_rate(self) -> int:
        """Output sample rate in Hz."""
        return self.config.audio.sample_rate

    def analyze(self, text: str, options: SynthesisOptions | None = None) -> list[tuple[str, FrontendResult]]:
        """Split into sentences and run the frontend; raises FrontendError if nothing is speakable.

        A sentence with nothing speakable ("😀!") is joined to its neighbour, so the frontend
        still reports its characters in `dropped` instead of them vanishing with the sentence.
        """
        options = options or SynthesisOptions()
        results: list[tuple[str, FrontendResult]] = []
        pending = ""
        for sentence in split_sentences(text, options.max_sentence_chars):
            # Each sentence is read alone first, so a long run of unspeakable ones costs linear
            # time, not the quadratic of re-reading the growing run (a denial of service).
            try:
                alone = self._read(sentence)
            except FrontendError:
                pending = f"{pending} {sentence}".strip()
                continue
            if pending:
                candidate = f"{pending} {sentence}"
                results.append((candidate, self._read(candidate)))
                pending = ""
            else:
                results.append((sentence, alone))
        if pending and results:
            merged = f"{results[-1][0]} {pending}"
            results[-1] = (merged, self._read(merged))
        if not results:
            # Run the whole text once more so the error names what could not be spoken.
            self._read(text)
            raise FrontendError(f"nothing speakable in {text!r}")
        return results

    def _read(self, sentence: str) -> FrontendResult:
        """The voice's frontend on one sentence."""
        return text_to_ids(sentence, self.config.text, self.config.symbols)

    def synthesize(self, text: str, options: SynthesisOptions | None = None) -> SynthesisResult:
        """Speak one text (any length)."""
        return self.synthesize_many([text], options)[0]

    def synthesize_many(self, texts: Sequence[str], options: SynthesisOptions | None = None) -> list[SynthesisResult]:
        """Speak several texts, decoding all their sentences in shared batches."""
        options = options or SynthesisOptions()
        return self.synthesize_analyzed([self.analyze(text, options) for text in texts], options)

    def synthesize_analyzed(
        self, analyzed: Sequence[Sequence[tuple[str, FrontendResult]]], options: SynthesisOptions | None = None
    ) -> list[SynthesisResult]:
        """Speak texts already run through `analyze` (a server validates first, then batches)."""
        options = options or SynthesisOptions()
        flat = [item for sentences in analyzed for item in sentences]
        spoken: list[tuple[SentenceSynthesis, np.ndarray]] = []
        for start in range(0, len(flat), self.max_batch_size):
            spoken.extend(self._decode_batch(flat[start : start + self.max_batch_size], options))
        results, cursor = [], 0
        for sentences in analyzed:
            chunks = [self._chunk(index, sentence, wave, options)
                      for index, (sentence, wave) in enumerate(spoken[cursor : cursor + len(sentences)])]
            cursor += len(sentences)
            results.append(join_chunks(chunks, self.sample_rate))
        return results

    def stream(self, text: str, options: SynthesisOptions | None = None) -> Iterator[SpeechChunk]:
        """Speak one text sentence by sentence: each chunk is yielded as soon as it is ready.

        Raises FrontendError before the first chunk when nothing is speakable, and VoiceError when
        the options ask for a neural vocoder the voice lacks.
        """
        options = options or SynthesisOptions()
        self.vocoder_for(options)
        return self.stream_analyzed(self.analyze(text, options), options)

    def stream_analyzed(
        self, sentences: Sequence[tuple[str, FrontendResult]], options: SynthesisOptions | None = None
    ) -> Iterator[SpeechChunk]:
        """`stream` for a text already run through `analyze`, decoded in `stream_groups`."""
        options = options or SynthesisOptions()
        for group in stream_groups(len(sentences), self.max_batch_size):
            decoded = self._decode_batch(sentences[group.start : group.stop], options)
            for index, (sentence, wave) in zip(group, decoded, strict=True):
                if not sentence.health.ok:
                    logger.warning("attention failed for: %s", sentence.text)
                yield self._chunk(index, sentence, wave, options)

    def chunks_of(self, result: SynthesisResult, first_index: int, options: SynthesisOptions) -> list[SpeechChunk]:
        """A result for some consecutive sentences of a text, starting at its sentence
        `first_index`, as the chunks `stream` would give for them: for a server that queues a
        stream's sentence groups (`stream_groups`) as requests of their own."""
        pause = int(round(options.sentence_pause_seconds * self.sample_rate))
        bounds = [*result.chunk_starts, result.waveform.size]
        chunks = []
        for offset, sentence in enumerate(result.sentences):
            piece = result.waveform[bounds[offset] : bounds[offset + 1]]
            index = first_index + offset
            if offset == 0 and index > 0:
                piece = np.concatenate([np.zeros(pause, np.float32), piece])
            chunks.append(SpeechChunk(index, sentence, piece, self.sample_rate, pause if index else 0))
        return chunks

    def _chunk(
        self, index: int, sentence: SentenceSynthesis, wave: np.ndarray, options: SynthesisOptions
    ) -> SpeechChunk:
        """A sentence's audio as played in its text: the pause before it (not the first), clipped."""
        pause = 0 if index == 0 else int(round(options.sentence_pause_seconds * self.sample_rate))
        waveform = np.clip(np.concatenate([np.zeros(pause, np.float32), wave.astype(np.float32, copy=False)]), -1.0, 1.0)
        return SpeechChunk(index, sentence, waveform, self.sample_rate, pause)
