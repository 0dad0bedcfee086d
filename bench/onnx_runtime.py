"""Benchmark: the bundled voice on ONNX Runtime against the torch fast path, interleaved in one
process, on the CPU; and the two held equal on the evaluation sentences.

- Decoder step: ms per step of the free-running decoder (stop disabled, so both run the same
  steps), torch's regrouped fast loop (`tts.model.fast_decode`, what `Synthesizer` runs on a CPU)
  against the exported step driven from numpy (`tts.onnx.model.OnnxTacotron.decode`).
- Text to wave: the whole synthesizer (frontend, encoder, decoder, post-net, Griffin-Lim with 60
  iterations), `Synthesizer` (torch) against `OnnxSynthesizer` (ONNX Runtime + numpy Griffin-Lim),
  as real-time factors (seconds of compute per second of speech).
- Equality: every evaluation sentence through both: stop steps, attention peaks, largest mel
  difference (the issue's bar: every stop step the same, at most 1e-3).
- int8: ONNX Runtime's dynamic quantisation of the graphs against fp32: decoder step speed, and
  quality on the evaluation sentences (measured, not offered: see docs/small-machines.md).

Batch 1 and 8, 1 and 2 threads (torch intra-op threads; ONNX Runtime sessions of that many
intra-op threads).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from bench.report import Table
from bench.timing import interleave
from bench.voice import SENTENCES
from tts.model.layers import lengths_to_mask
from tts.onnx.model import OnnxTacotron
from tts.onnx.synthesizer import OnnxSynthesizer, load_onnx_model
from tts.synthesis import SynthesisOptions, sentence_seed
from tts.synthesizer import Synthesizer
from tts.text import text_to_ids
from tts.voice_config import read_voice_config
from tts.voice_discovery import default_voice_dir

DECODER_STEPS = 120
"""Steps timed per decoder run (stop disabled)."""
BATCHES = (1, 8)
EVAL_SENTENCES = Path(os.environ.get(
    "SORI_EVAL_SENTENCES", Path(__file__).resolve().parents[1].parent / "shared" / "eval" / "sentences_ko.txt"))
"""The held-out evaluation set (read, never trained on): beside the repository, or SORI_EVAL_SENTENCES."""


def _decoder_candidates(torch_voice: Synthesizer, onnx_model: OnnxTacotron, batch: int) -> dict[str, Callable[[], object]]:
    """Both decoders on the same encoded batch of `batch` sentences, DECODER_STEPS steps each."""
    config = torch_voice.config
    texts = [SENTENCES[i % len(SENTENCES)] for i in range(batch)]
    ids_list = [text_to_ids(text, config.text, config.symbols).ids for text in texts]
    lengths = np.array([len(ids) for ids in ids_list])
    ids = np.zeros((batch, lengths.max()), np.int64)
    for row, item in enumerate(ids_list):
        ids[row, : len(item)] = item
    seeds = np.array([sentence_seed(item) for item in ids_list])
    steps = np.full(batch, DECODER_STEPS)
    model = torch_voice.model
    with torch.inference_mode():
        memory = model.encoder(torch.from_numpy(ids), torch.from_numpy(lengths))
    mask = lengths_to_mask(torch.from_numpy(lengths), ids.shape[1])
    never = replace(onnx_model.config, stop_threshold=1.1)  # a probability never exceeds it
    free_running = OnnxTacotron(never, onnx_model.encoder, onnx_model.decoder_step, onnx_model.postnet)
    encoded, processed = onnx_model.encoder.run(None, {"ids": ids, "lengths": lengths})
    text_mask = mask.numpy()

    def torch_decode() -> object:
        with torch.inference_mode():
            return model.decoder.infer(memory, mask, torch.from_numpy(steps), torch.from_numpy(seeds), 1.1)

    def onnx_decode() -> object:
        return free_running.decode(encoded, processed, text_mask, steps, seeds)

    return {"torch": torch_decode, "onnx": onnx_decode}


def _wave_candidates(torch_voice: Synthesizer, onnx_voice: OnnxSynthesizer, batch: int,
                     spoken: dict[str, float]) -> dict[str, Callable[[], object]]:
    """Both synthesizers on `batch` sentences in one call; records the seconds of speech made."""
    texts = [SENTENCES[i % len(SENTENCES)] for i in range(batch)]
    options = SynthesisOptions()

    def speak(voice: Synthesizer | OnnxSynthesizer, name: str) -> Callable[[], object]:
        def call() -> object:
            results = voice.synthesize_many(texts, options)
            spoken[name] = sum(result.duration_seconds for result in results)
            return results
        return call

    return {"torch": speak(torch_voice, "torch"), "onnx": speak(onnx_voice, "onnx")}


def equality_table(torch_voice: Synthesizer, onnx_voice: OnnxSynthesizer) -> Table:
    """ONNX against torch on every evaluation sentence, the file decoded as one batch by each (as
    `sori eval` decodes it)."""
    table = Table("ONNX Runtime against torch on the evaluation sentences (the demo voice)",
                  ["sentences", "stop steps equal", "attention argmax equal", "largest mel difference",
                   "attention ok (torch / onnx)"])
    if not EVAL_SENTENCES.is_file():
        table.notes.append(f"not measured: {EVAL_SENTENCES} is missing")
        return table
    sentences = [line.strip() for line in EVAL_SENTENCES.read_text(encoding="utf-8").splitlines() if line.strip()]
    expected = torch_voice.synthesize_many(sentences)
    ours = onnx_voice.synthesize_many(sentences)
    pairs = [(a, b) for mine, theirs in zip(ours, expected, strict=True)
             for a, b in zip(mine.sentences, theirs.sentences, strict=True)]
    steps_equal = sum(a.alignment.shape == b.alignment.shape and a.health.stopped_by_token == b.health.stopped_by_token
                      for a, b in pairs)
    argmax_equal = sum(a.alignment.shape == b.alignment.shape
                       and bool(np.array_equal(a.alignment.argmax(1), b.alignment.argmax(1))) for a, b in pairs)
    mel = max(float(np.abs(a.mel - b.mel).max()) for a, b in pairs if a.mel.shape == b.mel.shape)
    table.add(len(sentences), f"{steps_equal}/{len(pairs)}", f"{argmax_equal}/{len(pairs)}", f"{mel:.1e}",
              f"{sum(r.health_ok for r in expected)}/{len(sentences)} / {sum(r.health_ok for r in ours)}/{len(sentences)}")
    table.notes.append(f"Sentences: {EVAL_SENTENCES.name} ({len(pairs)} sentence parts after splitting), all in "
                       "one batch per runtime, as `sori eval` decodes them.")
    return table


def run(rounds: int = 7, threads: tuple[int, ...] = (2, 1)) -> list[Table]:
    """The decoder-step and text-to-wave tables at each thread count and batch, and the equality table."""
    voice_dir = default_voice_dir()
    torch_voice = Synthesizer.load(voice_dir, device="cpu")
    steps = Table(
        f"Decoder step, ONNX Runtime vs the torch fast path, CPU, {DECODER_STEPS} steps, demo voice",
        ["threads", "batch", "torch ms/step", "onnx ms/step", "onnx speed-up (median, range)"])
    waves = Table(
        "Text to wave, OnnxSynthesizer vs Synthesizer (torch), CPU, Griffin-Lim 60 iterations, demo voice",
        ["threads", "batch", "speech s", "torch RTF", "onnx RTF", "onnx speed-up (median, range)"])
    previous = torch.get_num_threads()
    onnx_voice = OnnxSynthesizer.load(voice_dir)
    try:
        for count in sorted(threads):
            torch.set_num_threads(count)
            onnx_model = load_onnx_model(voice_dir, torch_voice.config, threads=count)
            onnx_voice = OnnxSynthesizer(torch_voice.config, onnx_model)
            for batch in BATCHES:
                samples = interleave(_decoder_candidates(torch_voice, onnx_model, batch), rounds)
                low, high = samples.ratio_spread("onnx", "torch")
                steps.add(count, batch, f"{samples.median('torch') * 1000 / DECODER_STEPS:.3f}",
                          f"{samples.median('onnx') * 1000 / DECODER_STEPS:.3f}",
                          f"{samples.ratio('onnx', 'torch'):.2f}x ({low:.2f}-{high:.2f})")
                spoken: dict[str, float] = {}
                samples = interleave(_wave_candidates(torch_voice, onnx_voice, batch, spoken), max(3, rounds - 2))
                low, high = samples.ratio_spread("onnx", "torch")
                waves.add(count, batch, f"{spoken['torch']:.1f}",
                          f"{samples.median('torch') / spoken['torch']:.4f}",
                          f"{samples.median('onnx') / spoken['onnx']:.4f}",
                          f"{samples.ratio('onnx', 'torch'):.2f}x ({low:.2f}-{high:.2f})")
    finally:
        torch.set_num_threads(previous)
    steps.notes.append(
        "Stop disabled in both, so each runs the same steps; torch checks the stop token every 8 steps, the "
        "ONNX loop reads it every step in numpy. Speed-up = torch time / ONNX time per interleaved round.")
    waves.notes.append(
        "Whole synthesis from text: frontend, encoder, decoder to each sentence's own stop, post-net, "
        "Griffin-Lim (torch: tts.audio.griffin_lim; ONNX: numpy, tts.onnx.griffin_lim). The torch "
        "Synthesizer runs batches of up to 16 on one intra-op thread by design (tts.threads), so its "
        "2-thread rows differ from the 1-thread rows only in what torch does outside that block.")
    return [steps, waves, equality_table(torch_voice, onnx_voice), *int8_tables(rounds)]


def quantized_voice(voice_dir: Path, out_dir: Path) -> Path:
    """A copy of the voice whose three graphs are int8 dynamically quantised (weights int8,
    activations quantised per call; ONNX Runtime's quantize_dynamic), config hashes updated."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from tts.onnx.section import sha256_of

    shutil.copytree(voice_dir, out_dir, ignore=shutil.ignore_patterns("eval*"))
    data = json.loads((out_dir / "config.json").read_text(encoding="utf-8"))
    for role in ("encoder", "decoder_step", "postnet"):
        name = data["onnx"][role]["file"]
        quantize_dynamic(str(voice_dir / "onnx" / name), str(out_dir / "onnx" / name), weight_type=QuantType.QInt8)
        data["onnx"][role]["sha256"] = sha256_of(out_dir / "onnx" / name)
    (out_dir / "config.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return out_dir


def int8_tables(rounds: int) -> list[Table]:
    """int8 against fp32 on ONNX Runtime: decoder step speed (one thread), and quality on the
    evaluation sentences (stop steps, mel difference, attention, retrieval against the teacher)."""
    voice_dir = default_voice_dir()
    speed = Table("int8 dynamic quantisation vs fp32, ONNX Runtime decoder step, CPU, 1 thread, demo voice",
                  ["batch", "fp32 ms/step", "int8 ms/step", "int8 speed-up (median, range)"])
    quality = Table("int8 vs fp32 on the evaluation sentences (the demo voice, ONNX Runtime)",
                    ["sentences", "stop steps equal to fp32", "mean mel difference", "largest mel difference",
                     "attention ok", "retrieval (int8)", "retrieval (fp32)"])
    torch_voice = Synthesizer.load(voice_dir, device="cpu")
    with tempfile.TemporaryDirectory(prefix="sori-int8-") as temporary:
        int8_dir = quantized_voice(voice_dir, Path(temporary) / "voice")
        fp32 = load_onnx_model(voice_dir, torch_voice.config, threads=1)
        int8_config = read_voice_config(int8_dir)
        sizes = {name: sum((folder / "onnx" / f"{role}.onnx").stat().st_size
                           for role in ("encoder", "decoder_step", "postnet")) / 1e6
                 for name, folder in (("fp32", voice_dir), ("int8", int8_dir))}
        int8 = load_onnx_model(int8_dir, int8_config, threads=1)
        for batch in BATCHES:
            fp32_run = _decoder_candidates(torch_voice, fp32, batch)["onnx"]
            int8_run = _decoder_candidates(torch_voice, int8, batch)["onnx"]
            samples = interleave({"fp32": fp32_run, "int8": int8_run}, rounds)
            low, high = samples.ratio_spread("int8", "fp32")
            speed.add(batch, f"{samples.median('fp32') * 1000 / DECODER_STEPS:.3f}",
                      f"{samples.median('int8') * 1000 / DECODER_STEPS:.3f}",
                      f"{samples.ratio('int8', 'fp32'):.2f}x ({low:.2f}-{high:.2f})")
        if not EVAL_SENTENCES.is_file():
            quality.notes.append(f"not measured: {EVAL_SENTENCES} is missing")
            return [speed, quality]
        from tts.evaluation import evaluate_voice

        sentences = [line.strip() for line in EVAL_SENTENCES.read_text(encoding="utf-8").splitlines() if line.strip()]
        reports = {}
        results = {}
        for name, model, config in (("fp32", fp32, torch_voice.config), ("int8", int8, int8_config)):
            voice = OnnxSynthesizer(config, model)
            results[name] = voice.synthesize_many(sentences)
            reports[name] = evaluate_voice(voice, sentences, Path(temporary) / name, compare_vocoders_too=False)
        pairs = [(a, b) for mine, theirs in zip(results["int8"], results["fp32"], strict=True)
                 for a, b in zip(mine.sentences, theirs.sentences, strict=True)]
        differences = [np.abs(a.mel[: min(len(a.mel), len(b.mel))] - b.mel[: min(len(a.mel), len(b.mel))])
                       for a, b in pairs]
        quality.add(len(sentences), f"{sum(a.alignment.shape == b.alignment.shape for a, b in pairs)}/{len(pairs)}",
                    f"{np.mean([d.mean() for d in differences]):.4f}", f"{max(d.max() for d in differences):.3f}",
                    f"{sum(r.health_ok for r in results['int8'])}/{len(sentences)}",
                    f"{reports['int8'].summary['retrieval_accuracy']:.0%}",
                    f"{reports['fp32'].summary['retrieval_accuracy']:.0%}")
    speed.notes.append("quantize_dynamic(weight_type=QInt8) on the encoder, decoder step and post-net; the "
                       f"three graphs take {sizes['int8']:.1f} MB instead of {sizes['fp32']:.1f} MB.")
    quality.notes.append("Mel differences over the frames both decoded (normalised [0, 1] units); retrieval: "
                         "`sori eval`'s measure (each sentence's MFCC-DTW nearest espeak-ng rendering is its own).")
    return [speed, quality]
