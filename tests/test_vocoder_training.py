"""Vocoder training: segments, a tiny vocoder learns a clip, exact resume, the NaN guard, the CLI
and bundling the result into a voice."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
import soundfile
import torch

from sori.cli import main
from tts.training import checkpoint as ckpt
from tts.training.features import read_settings
from tts.training.runtime import TrainError
from tts.training.vocoder.config import VocoderTrainConfig, learning_rate
from tts.training.vocoder.data import load_clips, segment_batch
from tts.training.vocoder.loop import VocoderCheckpointMeta, VocoderTrainingDiverged, train_vocoder
from tts.vocoder import Vocoder, VocoderConfig
from tts.vocoder.losses import VocoderLoss, spectral_distance
from tts.voice_format import load_vocoder, read_voice_config


def tiny_vocoder_train_config(**overrides: object) -> VocoderTrainConfig:
    """A vocoder run that takes a few hundredths of a second per step on one CPU thread."""
    values: dict[str, object] = dict(
        max_steps=6, batch_size=2, segment_frames=8, dim=16, intermediate_dim=32, n_blocks=2, threads=1,
        log_interval=1, eval_interval=3, checkpoint_interval=3, eval_clips=1, keep_last_k=5,
    )
    values.update(overrides)
    return VocoderTrainConfig(**values)  # type: ignore[arg-type]


def test_segments_are_a_pure_function_of_seed_and_step(prepared_features: Path, bootstrap_corpus: Path) -> None:
    audio = read_settings(prepared_features).audio
    clips = load_clips(prepared_features, "train", bootstrap_corpus, audio, limit=4)
    assert all(clip.wave.numel() == clip.frames * audio.hop_length for clip in clips)
    first = segment_batch(clips, 7, 1, 3, 16, audio.hop_length)
    again = segment_batch(clips, 7, 1, 3, 16, audio.hop_length)
    other = segment_batch(clips, 8, 1, 3, 16, audio.hop_length)
    assert first.inputs.shape == (3, 16, audio.n_mels) and first.wave.shape == (3, 16 * audio.hop_length)
    assert torch.equal(first.inputs, again.inputs) and torch.equal(first.wave, again.wave)
    assert not torch.equal(first.wave, other.wave)
    linear = load_clips(prepared_features, "train", bootstrap_corpus, audio, limit=4, spectrogram="linear")
    assert all(clip.inputs.shape == (clip.frames, audio.n_freq) and torch.equal(clip.mel, mel_clip.mel)
               for clip, mel_clip in zip(linear, clips, strict=True))
    same_segments = segment_batch(linear, 7, 1, 3, 16, audio.hop_length)
    assert same_segments.inputs.shape == (3, 16, audio.n_freq) and torch.equal(same_segments.wave, first.wave)


def test_recordings_that_changed_since_prepare_are_named(prepared_features: Path, bootstrap_corpus: Path,
                                                         tmp_path: Path) -> None:
    corpus = Path(shutil.copytree(bootstrap_corpus, tmp_path / "corpus"))
    audio = read_settings(prepared_features).audio
    clip = load_clips(prepared_features, "train", corpus, audio, limit=1)[0]
    wav = next(path for path in corpus.rglob("*.wav") if path.stem == clip.id.split("/")[-1])
    data, rate = soundfile.read(str(wav))
    soundfile.write(str(wav), data[: len(data) // 2], rate)
    with pytest.raises(ValueError, match="the corpus changed since sori prepare"):
        load_clips(prepared_features, "train", corpus, audio, limit=1)


def test_tiny_vocoder_overfits_a_clip(prepared_features: Path, bootstrap_corpus: Path) -> None:
    """A fixed number of steps on one short clip: the spectral distance falls several-fold."""
    torch.manual_seed(0)
    audio = read_settings(prepared_features).audio
    clip = min(load_clips(prepared_features, "train", bootstrap_corpus, audio), key=lambda c: c.frames)
    vocoder = Vocoder(VocoderConfig.for_audio(audio, dim=64, intermediate_dim=128, n_blocks=2))
    loss_fn = VocoderLoss(audio.sample_rate, audio.n_fft, audio.hop_length, 1.0, 1.0)
    optimizer = torch.optim.AdamW(vocoder.parameters(), lr=2e-3, betas=(0.8, 0.99))
    mel, wave = clip.mel[None], clip.wave[None]
    before = spectral_distance(vocoder.infer(mel)[0], clip.wave)
    for _ in range(500):
        terms = loss_fn(vocoder(mel), wave)
        optimizer.zero_grad()
        terms.total.backward()
        optimizer.step()
    after = spectral_distance(vocoder.infer(mel)[0], clip.wave)
    assert after < before / 3, (before, after)


def test_resume_continues_exactly(prepared_features: Path, tmp_path: Path) -> None:
    straight = train_vocoder(prepared_features, tmp_path / "straight", tiny_vocoder_train_config())
    first = train_vocoder(prepared_features, tmp_path / "split", tiny_vocoder_train_config(max_steps=3))
    assert first.step == 3 and first.losses == straight.losses[:3]
    with pytest.raises(TrainError, match="already holds checkpoints"):
        train_vocoder(prepared_features, tmp_path / "split", tiny_vocoder_train_config())
    with pytest.raises(TrainError, match="cannot change batch_size"):
        train_vocoder(prepared_features, tmp_path / "split", resume=True, overrides={"batch_size": 3})
    second = train_vocoder(prepared_features, tmp_path / "split", resume=True, overrides={"max_steps": 6})
    assert second.step == 6 and second.losses == straight.losses[3:]
    assert all(math.isfinite(loss) for loss in straight.losses)
    assert straight.last_checkpoint is not None and second.last_checkpoint is not None
    a = ckpt.read_checkpoint(straight.last_checkpoint, VocoderCheckpointMeta)[1]
    b = ckpt.read_checkpoint(second.last_checkpoint, VocoderCheckpointMeta)[1]
    for name in a:
        assert torch.equal(a[name], b[name]), name
    metrics = [json.loads(line)["step"] for line in (tmp_path / "split" / "metrics.jsonl").read_text().splitlines()]
    assert metrics == [3, 6]
    assert second.last_eval["val/spectral_distance"] > 0


def test_non_finite_losses_are_skipped_then_stop_the_run(prepared_features: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"count": 0}
    original = VocoderLoss.forward

    def flaky(self, generated, target):  # type: ignore[no-untyped-def]
        calls["count"] += 1
        terms = original(self, generated, target)
        return terms._replace(total=terms.total * math.nan) if calls["count"] in (2, 3) else terms

    monkeypatch.setattr(VocoderLoss, "forward", flaky)
    result = train_vocoder(prepared_features, tmp_path / "flaky", tiny_vocoder_train_config(eval_interval=100))
    assert result.skipped_steps == 2 and math.isnan(result.losses[1]) and math.isfinite(result.losses[3])
    monkeypatch.setattr(VocoderLoss, "forward", lambda self, g, t: original(self, g, t)._replace(
        total=original(self, g, t).total * math.nan))
    with pytest.raises(VocoderTrainingDiverged, match="3 consecutive bad steps"):
        train_vocoder(prepared_features, tmp_path / "nan", tiny_vocoder_train_config(max_bad_steps=3))


def test_learning_rate_schedule() -> None:
    config = VocoderTrainConfig(learning_rate=1e-3, min_learning_rate=1e-4, decay_steps=100)
    assert learning_rate(0, config) == pytest.approx(1e-3)
    assert learning_rate(50, config) == pytest.approx(5.5e-4)
    assert learning_rate(100, config) == learning_rate(1000, config) == pytest.approx(1e-4)


def test_cli_trains_and_bundles_into_a_voice(prepared_features: Path, tiny_run: Path, test_voice_dir: Path,
                                             tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = tmp_path / "vocoder-run"
    settings = ["--set", "batch_size=2", "--set", "segment_frames=8", "--set", "dim=16", "--set",
                "intermediate_dim=32", "--set", "n_blocks=2", "--set", "threads=1", "--set", "eval_interval=2",
                "--set", "checkpoint_interval=2", "--set", "eval_clips=1"]
    assert main(["train-vocoder", "--features", str(prepared_features), "--out", str(run), "--steps", "2",
                 *settings]) == 0
    assert "finished at step 2" in capsys.readouterr().out
    assert main(["train-vocoder", "--features", str(prepared_features), "--out", str(run), "--resume",
                 "--steps", "4"]) == 0
    assert "finished at step 4" in capsys.readouterr().out
    assert main(["train-vocoder", "--features", str(prepared_features), "--out", str(tmp_path / "x"),
                 "--set", "dims=3"]) == 2
    assert "expected KEY=VALUE" in capsys.readouterr().err

    voice = tmp_path / "voice"
    assert main(["export", str(tiny_run), "--out", str(voice), "--checkpoint", "last", "--vocoder", str(run)]) == 0
    config = read_voice_config(voice)
    assert config.vocoder is not None and config.vocoder.metadata["training_steps"] in (2, 4)
    assert config.vocoder.metadata["initialised_from"] is None  # fresh weights, not fine-tuned
    load_vocoder(voice, config)
    wav = tmp_path / "hello.wav"
    assert main(["speak", "안녕하세요", "-o", str(wav), "--voice", str(voice), "--device", "cpu",
                 "--vocoder", "neural"]) == 0

    plain = Path(shutil.copytree(test_voice_dir, tmp_path / "plain"))
    assert main(["export-vocoder", str(run), "--voice", str(plain), "--checkpoint", "last"]) == 0
    assert read_voice_config(plain).vocoder.metadata["training_steps"] == 4  # type: ignore[union-attr]
    assert main(["export-vocoder", str(tmp_path / "none"), "--voice", str(plain)]) == 2


def test_fine_tunes_on_a_voices_teacher_forced_mels(prepared_features: Path, bootstrap_corpus: Path,
                                                    tiny_run: Path, tmp_path: Path) -> None:
    from tts.training.export import export_voice
    from tts.training.vocoder.teacher import teacher_forced_clips

    voice = export_voice(tiny_run, tmp_path / "voice", checkpoint="last")
    settings = read_settings(prepared_features)
    clips = load_clips(prepared_features, "val", bootstrap_corpus, settings.audio, limit=2)
    predicted = teacher_forced_clips(clips, voice, settings.audio, settings.symbols, torch.device("cpu"))
    for clip, taught in zip(clips, predicted, strict=True):
        assert torch.equal(taught.mel, clip.mel) and torch.equal(taught.wave, clip.wave)  # fed as recorded
        assert taught.inputs.shape == clip.mel.shape and not torch.equal(taught.inputs, clip.inputs)
        assert 0 <= taught.inputs.min() <= taught.inputs.max() <= 1
    masked = teacher_forced_clips(clips, voice, settings.audio, settings.symbols, torch.device("cpu"), dropout=True)
    assert read_voice_config(voice).model.prenet_dropout_at_inference
    for taught, dropped in zip(predicted, masked, strict=True):  # synthesis's pre-net masks change the mel
        assert dropped.inputs.shape == taught.inputs.shape and not torch.equal(dropped.inputs, taught.inputs)
        assert 0 <= dropped.inputs.min() <= dropped.inputs.max() <= 1
    again = teacher_forced_clips(clips, voice, settings.audio, settings.symbols, torch.device("cpu"), dropout=True)
    assert all(torch.equal(a.inputs, b.inputs) for a, b in zip(masked, again, strict=True))  # fixed per sentence
    linear = teacher_forced_clips(clips, voice, settings.audio, settings.symbols, torch.device("cpu"), "linear")
    assert all(taught.inputs.shape == (clip.frames, settings.audio.n_freq)
               for clip, taught in zip(clips, linear, strict=True))
    result = train_vocoder(prepared_features, tmp_path / "run",
                           tiny_vocoder_train_config(max_steps=2, teacher_dropout=True), acoustic_voice=voice)
    assert result.step == 2
    with pytest.raises(TrainError, match="other acoustic_voice"):
        train_vocoder(prepared_features, tmp_path / "run", resume=True, overrides={"max_steps": 3})


def test_adversarial_training_resumes_exactly(prepared_features: Path, tmp_path: Path) -> None:
    settings = dict(adversarial=True, adversarial_start_step=1, period_channels=(4, 8), resolution_channels=4,
                    mel_loss_weight=45.0, stft_loss_weight=0.0)
    straight = train_vocoder(prepared_features, tmp_path / "straight", tiny_vocoder_train_config(**settings))
    train_vocoder(prepared_features, tmp_path / "split", tiny_vocoder_train_config(max_steps=3, **settings))
    resumed = train_vocoder(prepared_features, tmp_path / "split", resume=True, overrides={"max_steps": 6})
    assert resumed.losses == straight.losses[3:] and straight.skipped_steps == 0
    assert straight.last_checkpoint is not None and resumed.last_checkpoint is not None
    a = ckpt.read_checkpoint(straight.last_checkpoint, VocoderCheckpointMeta)[1]
    b = ckpt.read_checkpoint(resumed.last_checkpoint, VocoderCheckpointMeta)[1]
    assert any(name.startswith("discriminators.") for name in a)
    for name in a:
        assert torch.equal(a[name], b[name]), name


def test_discriminators_shapes_and_gradients() -> None:
    from tts.vocoder.discriminators import (
        Discriminators,
        discriminator_loss,
        feature_matching_loss,
        generator_adversarial_loss,
    )

    discriminators = Discriminators((4, 8), 4)
    real, fake = torch.randn(2, 4096), torch.randn(2, 4096, requires_grad=True)
    judged_real, judged_fake = discriminators(real), discriminators(fake)
    assert len(judged_real.scores) == 8 and all(score.size(0) == 2 for score in judged_real.scores)
    loss = (discriminator_loss(judged_real, judged_fake) + generator_adversarial_loss(judged_fake)
            + feature_matching_loss(judged_real, judged_fake))
    loss.backward()
    assert fake.grad is not None and fake.grad.abs().sum() > 0
    assert all(p.grad is not None for p in discriminators.parameters())


def test_a_new_run_starts_from_another_runs_weights(prepared_features: Path, tmp_path: Path) -> None:
    source = train_vocoder(prepared_features, tmp_path / "source", tiny_vocoder_train_config(max_steps=3))
    # One step at a vanishing learning rate: the weights are still the source's.
    still = tiny_vocoder_train_config(max_steps=1, learning_rate=1e-12, min_learning_rate=1e-12)
    tuned = train_vocoder(prepared_features, tmp_path / "tuned", still, init_from=tmp_path / "source")
    assert source.last_checkpoint is not None and tuned.last_checkpoint is not None
    before = ckpt.read_checkpoint(source.last_checkpoint, VocoderCheckpointMeta)[1]
    meta, after, _ = ckpt.read_checkpoint(tuned.last_checkpoint, VocoderCheckpointMeta)
    assert meta.initialised_from == str(source.last_checkpoint)
    for name in before:
        torch.testing.assert_close(after[name], before[name], atol=1e-8, rtol=1e-6)
    with pytest.raises(TrainError, match="other sizes"):
        train_vocoder(prepared_features, tmp_path / "wider", tiny_vocoder_train_config(dim=24),
                      init_from=source.last_checkpoint)
    with pytest.raises(TrainError, match="starts a new run"):
        train_vocoder(prepared_features, tmp_path / "tuned", resume=True, init_from=source.last_checkpoint)


def test_a_run_on_the_linear_spectrogram_exports_and_speaks(prepared_features: Path, tiny_run: Path,
                                                            tmp_path: Path) -> None:
    """--set spectrogram=linear trains on the features' linear spectrograms; the exported voice then
    feeds its vocoder the post-net's linear spectrogram."""
    run = tmp_path / "linear"
    result = train_vocoder(prepared_features, run, tiny_vocoder_train_config(max_steps=3, spectrogram="linear"))
    assert result.step == 3 and all(math.isfinite(loss) for loss in result.losses)
    voice = tmp_path / "voice"
    assert main(["export", str(tiny_run), "--out", str(voice), "--checkpoint", "last", "--vocoder", str(run)]) == 0
    config = read_voice_config(voice)
    assert config.vocoder is not None and config.vocoder.config.spectrogram == "linear"
    vocoder = load_vocoder(voice, config)
    assert vocoder.embed.in_channels == config.audio.n_freq
    assert main(["speak", "안녕하세요", "-o", str(tmp_path / "hello.wav"), "--voice", str(voice),
                 "--device", "cpu", "--vocoder", "neural"]) == 0
