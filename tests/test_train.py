"""Training on the CPU with a tiny model: schedules, overrides, batches, steps, exact resume,
the NaN guard, interruption, DDP with two gloo processes, and the `sori train` command."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file as load_numpy
from safetensors.numpy import save_file as save_numpy
from safetensors.torch import load_file

from sori.cli import main
from tests.conftest import tiny_tacotron_config, tiny_train_config
from tts.model import LossConfig, Tacotron, TacotronOutput
from tts.model.decoder import StepsFn
from tts.training import checkpoint as ckpt
from tts.training.config import ConfigError, TrainConfig
from tts.training.data import BucketBatchSampler, Collate, Example, bucketed_batches
from tts.training.features import features_path, read_manifest
from tts.training.loop import TrainError, TrainingDiverged, train
from tts.training.overrides import apply_overrides, parse_overrides
from tts.training.schedule import guided_attention_weight, learning_rate, self_feeding_rate
from tts.training.self_feeding import self_fed_frames

REPO = Path(__file__).resolve().parents[1]


def _weights(checkpoint_dir: Path) -> dict[str, torch.Tensor]:
    return load_file(str(checkpoint_dir / ckpt.WEIGHTS_FILE))


# --- pure pieces ---------------------------------------------------------------------------

def test_learning_rate_schedules() -> None:
    config = TrainConfig(learning_rate=1e-3, min_learning_rate=1e-5, warmup_steps=100, max_steps=1000)
    assert learning_rate(0, config) == pytest.approx(1e-5)
    assert learning_rate(49, config) == pytest.approx(5e-4)
    assert learning_rate(99, config) == pytest.approx(1e-3)
    assert learning_rate(399, config) == pytest.approx(5e-4)  # noam: sqrt(100 / 400)
    assert learning_rate(10**9, config) == pytest.approx(1e-5)
    cosine = replace(config, lr_decay="cosine")
    assert learning_rate(99, cosine) == pytest.approx(1e-3)
    assert learning_rate(549, cosine) == pytest.approx((1e-3 + 1e-5) / 2)
    assert learning_rate(999, cosine) == pytest.approx(1e-5)
    assert learning_rate(5000, replace(config, lr_decay="constant")) == 1e-3
    assert [learning_rate(s, config) for s in range(300)] == [learning_rate(s, config) for s in range(300)]
    with pytest.raises(ValueError):
        learning_rate(-1, config)


def test_guided_attention_weight_halves_every_half_life() -> None:
    config = TrainConfig(guided_attention_half_life=100, loss=LossConfig(guided_attention_weight=2.0))
    assert guided_attention_weight(0, config) == 2.0
    assert guided_attention_weight(100, config) == pytest.approx(1.0)
    assert guided_attention_weight(300, config) == pytest.approx(0.25)
    floored = replace(config, guided_attention_min_weight=0.5)
    assert guided_attention_weight(10_000, floored) == 0.5


def test_self_feeding_rate_ramps_from_its_start() -> None:
    config = TrainConfig(self_feeding_max=0.8, self_feeding_start=100, self_feeding_ramp_steps=200)
    assert [self_feeding_rate(step, config) for step in (0, 99, 100)] == [0.0, 0.0, 0.0]
    assert self_feeding_rate(200, config) == pytest.approx(0.4)
    assert self_feeding_rate(300, config) == self_feeding_rate(10_000, config) == pytest.approx(0.8)
    assert self_feeding_rate(5, replace(config, self_feeding_start=0, self_feeding_ramp_steps=0)) == 0.8
    assert self_feeding_rate(10_000, TrainConfig()) == 0.0
    with pytest.raises(ConfigError, match="self_feeding_max"):
        TrainConfig(self_feeding_max=1.5)


def test_self_fed_frames_mix_predictions_per_decoder_step() -> None:
    config = tiny_tacotron_config(reduction_factor=2)
    model = Tacotron(config).train()
    ids = torch.randint(2, config.n_symbols, (3, 7))
    lengths = torch.tensor([7, 6, 4])
    mels = torch.rand(3, 10, config.n_mels)
    buffers = [b.clone() for b in model.buffers()]
    assert self_fed_frames(model, ids, lengths, mels, 0.0) is mels
    torch.manual_seed(0)
    every = self_fed_frames(model, ids, lengths, mels, 1.0)
    assert not torch.isclose(every, mels).any()
    torch.manual_seed(0)
    half = self_fed_frames(model, ids, lengths, mels, 0.5)
    from_targets = torch.isclose(half, mels).all(dim=2)  # [B, T_frames]
    assert torch.equal(from_targets[:, 0::2], from_targets[:, 1::2])  # whole decoder steps
    assert 0 < int(from_targets.sum()) < from_targets.numel()
    assert all(torch.equal(a, b) for a, b in zip(buffers, model.buffers(), strict=True))
    assert not every.requires_grad


def test_overrides_are_type_checked() -> None:
    parsed = parse_overrides(["--batch_size=8", "--model.reduction_factor=3", "--lr_decay=cosine",
                              "--model.decoder_prenet_dims=64,32", "--loss.stop_weight=2",
                              "--model.prenet_dropout_at_inference=false"])
    config = apply_overrides(TrainConfig(), parsed)
    assert config.batch_size == 8 and config.lr_decay == "cosine" and config.loss.stop_weight == 2.0
    model = config.model_config(n_symbols=70, pad_id=0, n_mels=80, n_freq=513)
    assert model.reduction_factor == 3 and model.decoder_prenet_dims == (64, 32)
    assert model.prenet_dropout_at_inference is False
    for bad, message in [("--batch_size=3.5", "integer"), ("--precision=fp8", "one of"),
                         ("--batchsize=3", "did you mean batch_size"), ("--model.n_mels=40", "unknown"),
                         ("--learning_rate=nan", "finite"), ("batch_size", "--key=value")]:
        with pytest.raises(ConfigError, match=message):
            parse_overrides([bad])
    with pytest.raises(ConfigError, match="batch_size must be positive"):
        apply_overrides(TrainConfig(), parse_overrides(["--batch_size=0"]))
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_bucketed_batches_cover_each_epoch_once_with_similar_lengths() -> None:
    rng = np.random.default_rng(0)
    lengths = rng.integers(50, 800, size=103).tolist()
    batches = bucketed_batches(lengths, batch_size=8, bucket_batches=4, seed=1, epoch=0)
    assert sorted(i for batch in batches for i in batch) == list(range(103))
    assert batches == bucketed_batches(lengths, 8, 4, seed=1, epoch=0)
    assert batches != bucketed_batches(lengths, 8, 4, seed=1, epoch=1)

    def spread(batches: list[list[int]]) -> float:
        return float(np.mean([max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches]))

    unbucketed = bucketed_batches(lengths, 8, bucket_batches=1, seed=1, epoch=0)
    assert spread(batches) < 0.5 * spread(unbucketed)  # bucketing keeps padding small


def test_sampler_shards_ranks_and_resumes_mid_epoch() -> None:
    lengths = list(range(10, 60))
    ranks = [BucketBatchSampler(lengths, 4, 2, seed=3, rank=r, world_size=2) for r in (0, 1)]
    shards = [s.epoch_batches(0) for s in ranks]
    assert len(shards[0]) == len(shards[1]) == 6  # 13 global batches, remainder dropped
    assert not {i for b in shards[0] for i in b} & {i for b in shards[1] for i in b}
    sampler = ranks[0]
    sampler.set_position(0, 4)
    assert list(sampler) == shards[0][4:] and len(sampler) == 2


def test_collate_pads_frames_to_a_multiple_of_r() -> None:
    examples = [Example("a", torch.tensor([5, 6, 1]), torch.rand(7, 4), torch.rand(7, 9)),
                Example("b", torch.tensor([7, 1]), torch.rand(4, 4), torch.rand(4, 9))]
    batch = Collate(reduction_factor=3, pad_id=0)(examples)
    assert batch.mels.shape == (2, 9, 4) and batch.linears.shape == (2, 9, 9)
    assert batch.ids.tolist() == [[5, 6, 1], [7, 1, 0]]
    assert batch.frame_lengths.tolist() == [7, 4] and batch.text_lengths.tolist() == [3, 2]
    assert float(batch.mels[1, 4:].abs().sum()) == 0.0 and batch.frames == 11


# --- training runs -------------------------------------------------------------------------

def test_a_few_training_steps_write_everything(tiny_run: Path) -> None:
    steps = [step for step, _ in ckpt.list_checkpoints(tiny_run)]
    assert steps == [2, 4]
    loaded = ckpt.load_checkpoint(tiny_run / "checkpoints" / "step_00000004")
    document = json.loads((loaded.path / ckpt.META_FILE).read_text(encoding="utf-8"))
    assert loaded.meta.step == 4 and document["format_version"] == ckpt.CHECKPOINT_FORMAT_VERSION
    assert loaded.meta.symbols.version >= 1 and loaded.meta.world_size == 1
    evaluation = loaded.meta.evaluation
    assert {"val/total", "free/focus_rate", "free/mel_dtw", "free/mel_dtw_teacher_forced"} <= set(evaluation)
    assert 0 < evaluation["free/mel_dtw_teacher_forced"] < 1 and 0 < evaluation["free/mel_dtw"] < 1
    assert {"python", "numpy", "torch", "cuda"} <= set(loaded.training_state["rng"][0])
    assert loaded.progress.step == 4 and loaded.progress.skipped_steps == 0
    initial = ckpt.load_checkpoint(tiny_run / "checkpoints" / "step_00000002").model_state
    assert any(not torch.equal(initial[k], v) for k, v in loaded.model_state.items())
    assert all(torch.isfinite(v).all() for v in loaded.model_state.values())
    assert sorted(p.name for p in (tiny_run / "alignments").iterdir()) == [
        "step_00000002.png", "step_00000004.png"]
    assert (tiny_run / "alignments" / "step_00000004.png").read_bytes()[:4] == b"\x89PNG"
    assert list((tiny_run / "tensorboard").glob("events.out.tfevents.*"))
    metrics = [json.loads(line) for line in (tiny_run / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics] == [2, 4]
    assert json.loads((tiny_run / "train_config.json").read_text())["batch_size"] == 4
    assert ckpt.read_best(tiny_run)["step"] in (2, 4)


def test_resume_is_exact(prepared_features: Path, tmp_path: Path) -> None:
    """N steps in one go equal N/2, a kill, --resume, N/2 (data order, dropout, schedule restored)."""
    config = tiny_train_config(max_steps=8, checkpoint_interval=4, eval_interval=4, keep_last_k=5)
    whole = tmp_path / "whole"
    train(prepared_features, whole, config)
    assert len(read_manifest(prepared_features, "train")) // 4 < 8  # the run crosses an epoch end
    halted = tmp_path / "halted"
    shutil.copytree(whole, halted)
    shutil.rmtree(halted / "checkpoints" / "step_00000008")  # "killed" after step 4's checkpoint
    (halted / "checkpoints" / ".tmp-step_00000005-999").mkdir()  # a checkpoint half written
    result = train(prepared_features, halted, resume=True)
    assert result.step == 8 and not result.interrupted
    assert not list((halted / "checkpoints").glob(".tmp-*"))
    expected, resumed = _weights(whole / "checkpoints" / "step_00000008"), _weights(
        halted / "checkpoints" / "step_00000008")
    assert expected.keys() == resumed.keys()
    for name in expected:
        torch.testing.assert_close(resumed[name], expected[name], rtol=1e-5, atol=1e-6, msg=name)
    a = ckpt.load_checkpoint(whole / "checkpoints" / "step_00000008")
    b = ckpt.load_checkpoint(halted / "checkpoints" / "step_00000008")
    assert a.progress.epoch == b.progress.epoch and a.progress.batch_in_epoch == b.progress.batch_in_epoch
    state_a, state_b = a.training_state["optimizer"]["state"], b.training_state["optimizer"]["state"]
    for key in state_a:
        torch.testing.assert_close(state_b[key]["exp_avg"], state_a[key]["exp_avg"], rtol=1e-5, atol=1e-7)


def _poison(features: Path, utterance_ids: list[str]) -> None:
    for utterance_id in utterance_ids:
        path = features_path(features, utterance_id)
        tensors = load_numpy(str(path))
        tensors["mel"] = np.full_like(tensors["mel"], np.nan)
        save_numpy(tensors, str(path))


def test_nan_batches_are_skipped_and_counted(prepared_features: Path, tmp_path: Path) -> None:
    features = tmp_path / "features"
    shutil.copytree(prepared_features, features)
    train_ids = [entry.id for entry in read_manifest(features, "train")]
    _poison(features, train_ids[:1])
    result = train(features, tmp_path / "run", tiny_train_config(max_steps=6, eval_interval=6,
                                                                  checkpoint_interval=6))
    epochs = 6 / (len(train_ids) / 4)
    assert 1 <= result.skipped_steps <= int(np.ceil(epochs)) and result.step == 6
    state = ckpt.load_checkpoint(tmp_path / "run" / "checkpoints" / "step_00000006")
    assert state.progress.skipped_steps == result.skipped_steps
    assert all(torch.isfinite(v).all() for v in state.model_state.values())  # batch-norm stats too


def test_a_run_that_keeps_diverging_stops_naming_the_step(prepared_features: Path, tmp_path: Path) -> None:
    features = tmp_path / "features"
    shutil.copytree(prepared_features, features)
    _poison(features, [entry.id for entry in read_manifest(features, "train")])
    with pytest.raises(TrainingDiverged, match=r"3 consecutive bad steps, the last at step 2 \(non-finite"):
        train(features, tmp_path / "run", tiny_train_config(max_steps=10, max_bad_steps=3))


def test_a_signal_stops_with_a_checkpoint_and_resume_continues(prepared_features: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    done = threading.Event()

    def interrupt() -> None:
        # train() installs its handler before it writes train_config.json.
        while not (run_dir / "train_config.json").exists():
            if done.wait(0.05):
                return
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=interrupt, daemon=True).start()
    try:
        result = train(prepared_features, run_dir, tiny_train_config(max_steps=1000, checkpoint_interval=500))
    finally:
        done.set()
    assert result.interrupted and 1 <= result.step < 1000
    assert ckpt.list_checkpoints(run_dir)[-1][0] == result.step
    resumed = train(prepared_features, run_dir, resume=True, overrides={"max_steps": result.step + 1})
    assert resumed.step == result.step + 1 and not resumed.interrupted


def test_scheduled_sampling_can_be_switched_on_when_resuming(
    tiny_run: Path, tmp_path: Path, prepared_features: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A teacher-forced run continued with self-feeding feeds the model its own frames from the
    chosen step on, and its best checkpoint restarts under the new rate."""
    fed_steps: list[bool] = []
    forward = Tacotron.forward

    def spy(self: Tacotron, ids: torch.Tensor, text_lengths: torch.Tensor, mels: torch.Tensor,
            frame_lengths: torch.Tensor, feedback: torch.Tensor | None = None,
            run_steps: StepsFn | None = None) -> TacotronOutput:
        if self.training:
            fed_steps.append(feedback is not None and not torch.equal(feedback, mels))
        return forward(self, ids, text_lengths, mels, frame_lengths, feedback, run_steps)

    monkeypatch.setattr(Tacotron, "forward", spy)
    fed = tmp_path / "fed"
    shutil.copytree(tiny_run, fed)
    train(prepared_features, fed, resume=True, overrides={
        "max_steps": 8, "self_feeding_max": 1.0, "self_feeding_start": 6, "self_feeding_ramp_steps": 0})
    assert fed_steps == [False, False, True, True]  # steps 4 and 5 teacher-forced, 6 and 7 self-fed
    assert json.loads((fed / "train_config.json").read_text())["self_feeding_max"] == 1.0
    assert ckpt.read_best(fed)["step"] == 8  # the only evaluation after a self-fed step
    state = ckpt.load_checkpoint(fed / "checkpoints" / "step_00000008")
    assert state.progress.best_self_feeding_rate == 1.0
    assert all(torch.isfinite(value).all() for value in state.model_state.values())


def test_resume_is_exact_with_scheduled_sampling(prepared_features: Path, tmp_path: Path) -> None:
    config = tiny_train_config(max_steps=6, checkpoint_interval=3, eval_interval=3, keep_last_k=5,
                               self_feeding_max=1.0, self_feeding_start=2, self_feeding_ramp_steps=2)
    whole = tmp_path / "whole"
    train(prepared_features, whole, config)
    halted = tmp_path / "halted"
    shutil.copytree(whole, halted)
    shutil.rmtree(halted / "checkpoints" / "step_00000006")
    train(prepared_features, halted, resume=True)
    expected, resumed = _weights(whole / "checkpoints" / "step_00000006"), _weights(
        halted / "checkpoints" / "step_00000006")
    for name in expected:
        torch.testing.assert_close(resumed[name], expected[name], rtol=1e-5, atol=1e-6, msg=name)


def test_runs_refuse_to_mix(tiny_run: Path, prepared_features: Path, tmp_path: Path) -> None:
    with pytest.raises(TrainError, match="already holds checkpoints"):
        train(prepared_features, tiny_run, tiny_train_config())
    with pytest.raises(TrainError, match="cannot change batch_size"):
        train(prepared_features, tiny_run, resume=True, overrides={"batch_size": 2})
    with pytest.raises(TrainError, match="nothing to resume"):
        train(prepared_features, tmp_path / "empty", resume=True)


def test_ddp_with_two_cpu_processes(prepared_features: Path, tmp_path: Path) -> None:
    """torchrun --nproc_per_node=2 -m sori train: gloo, one checkpoint set written by rank 0."""
    run_dir = tmp_path / "ddp"
    tiny = tiny_train_config()
    model_args = [f"--model.{key}={','.join(map(str, value)) if isinstance(value, list) else value}"
                  for key, value in tiny.to_dict()["model"].items()]
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "-m", "sori", "train", "--features", str(prepared_features), "--run-dir", str(run_dir),
               "--max_steps=2", "--batch_size=2", "--threads=1", "--eval_interval=2",
               "--checkpoint_interval=2", "--log_interval=1", "--device=cpu", *model_args]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    completed = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert [step for step, _ in ckpt.list_checkpoints(run_dir)] == [2]
    loaded = ckpt.load_checkpoint(run_dir / "checkpoints" / "step_00000002")
    assert loaded.meta.world_size == 2 and len(loaded.training_state["rng"]) == 2
    assert not torch.equal(loaded.training_state["rng"][0]["torch"], loaded.training_state["rng"][1]["torch"])
    assert len(list((run_dir / "tensorboard").glob("events.out.tfevents.*"))) == 1
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "alignments", "checkpoints", "metrics.jsonl", "tensorboard", "train.log", "train_config.json"]


def test_cli_train(prepared_features: Path, tiny_run: Path, tmp_path: Path, capsys) -> None:
    base = ["train", "--features", str(prepared_features)]
    assert main([*base, "--run-dir", str(tmp_path / "a"), "--batch_size=many"]) == 2
    assert "batch_size must be an integer" in capsys.readouterr().err
    assert main([*base, "--run-dir", str(tmp_path / "b"), "--resume"]) == 2
    assert main([*base, "--run-dir", str(tiny_run)]) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(["train", "--features", str(tmp_path / "none"), "--run-dir", str(tmp_path / "c")]) == 2
