"""Tacotron 1 network: shapes, masks, gradients, batched inference equals one-by-one."""

from __future__ import annotations

import pytest
import torch

from tests.conftest import tiny_tacotron_config
from tts.model import LossConfig, Tacotron, TacotronConfig, TacotronLoss
from tts.model.dropout import hashed_uniform


def _batch(config: TacotronConfig, text_lengths: list[int], frame_lengths: list[int], seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    r = config.reduction_factor
    total_text = max(text_lengths)
    total_frames = -(-max(frame_lengths) // r) * r
    ids = torch.zeros(len(text_lengths), total_text, dtype=torch.long)
    for row, length in enumerate(text_lengths):
        ids[row, :length] = torch.randint(2, config.n_symbols, (length,), generator=generator)
    mels = torch.rand(len(text_lengths), total_frames, config.n_mels, generator=generator)
    linears = torch.rand(len(text_lengths), total_frames, config.n_freq, generator=generator)
    for row, length in enumerate(frame_lengths):
        mels[row, length:] = 0
        linears[row, length:] = 0
    return ids, torch.tensor(text_lengths), mels, linears, torch.tensor(frame_lengths)


@pytest.mark.parametrize("r", [1, 2, 3])
def test_forward_shapes_for_every_r(r: int) -> None:
    config = tiny_tacotron_config(reduction_factor=r)
    model = Tacotron(config)
    ids, text_lengths, mels, _, frame_lengths = _batch(config, [9, 5, 7], [12, 7, 10])
    out = model(ids, text_lengths, mels, frame_lengths)
    frames = mels.size(1)
    assert frames % r == 0
    assert out.mel.shape == (3, frames, config.n_mels)
    assert out.linear.shape == (3, frames, config.n_freq)
    assert out.stop_logits.shape == (3, frames // r)
    assert out.alignments.shape == (3, frames // r, 9)


def test_feedback_replaces_only_the_frames_fed_back(tiny_config: TacotronConfig) -> None:
    model = Tacotron(tiny_config).eval()
    ids, text_lengths, mels, _, frame_lengths = _batch(tiny_config, [9, 5], [12, 8])
    reference = model(ids, text_lengths, mels, frame_lengths)
    same = model(ids, text_lengths, mels, frame_lengths, feedback=mels.clone())
    torch.testing.assert_close(same.mel, reference.mel)
    r = tiny_config.reduction_factor
    feedback = mels.clone()
    feedback[:, r - 1] += 1.0  # the frame step 1 is fed
    fed = model(ids, text_lengths, mels, frame_lengths, feedback=feedback)
    torch.testing.assert_close(fed.mel[:, :r], reference.mel[:, :r])  # step 0 sees only <go>
    assert not torch.allclose(fed.mel[:, r:2 * r], reference.mel[:, r:2 * r])
    with pytest.raises(ValueError, match="feedback"):
        model(ids, text_lengths, mels, frame_lengths, feedback=mels[:, :r])


def test_attention_never_looks_at_padding(tiny_config: TacotronConfig) -> None:
    model = Tacotron(tiny_config)
    ids, text_lengths, mels, _, frame_lengths = _batch(tiny_config, [9, 4], [10, 8])
    out = model(ids, text_lengths, mels, frame_lengths)
    assert torch.all(out.alignments[1, :, 4:] == 0)
    assert torch.allclose(out.alignments.sum(dim=2), torch.ones(2, out.alignments.size(1)), atol=1e-5)


def test_padding_content_does_not_change_real_outputs(tiny_config: TacotronConfig) -> None:
    model = Tacotron(tiny_config).eval()
    ids, text_lengths, mels, _, frame_lengths = _batch(tiny_config, [9, 4], [10, 6])
    reference = model(ids, text_lengths, mels, frame_lengths)
    ids[1, 4:] = 7
    mels[1, 6:] = 5.0
    changed = model(ids, text_lengths, mels, frame_lengths)
    assert torch.allclose(reference.mel[1, :6], changed.mel[1, :6], atol=1e-6)
    assert torch.allclose(reference.linear[1, :6], changed.linear[1, :6], atol=1e-6)
    assert torch.allclose(reference.alignments[1, :3], changed.alignments[1, :3], atol=1e-6)


def test_every_parameter_gets_a_gradient_and_moves(tiny_config: TacotronConfig) -> None:
    torch.manual_seed(0)
    model = Tacotron(tiny_config)
    loss_fn = TacotronLoss(LossConfig(), 22050, tiny_config.n_freq, tiny_config.reduction_factor)
    ids, text_lengths, mels, linears, frame_lengths = _batch(tiny_config, [9, 6, 7], [12, 8, 10])
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for step in range(3):
        optimizer.zero_grad()
        terms = loss_fn(model(ids, text_lengths, mels, frame_lengths), mels, linears, text_lengths, frame_lengths)
        terms.total.backward()
        if step == 0:
            missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
            assert missing == []
        optimizer.step()
    unchanged = [n for n, p in model.named_parameters() if torch.equal(p, before[n])]
    assert unchanged == []


def test_infer_batch_equals_one_by_one() -> None:
    config = tiny_tacotron_config(stop_threshold=1.1)  # never stop: compare the same number of steps
    torch.manual_seed(1)
    model = Tacotron(config).eval()
    ids, text_lengths, *_ = _batch(config, [11, 4, 8], [2, 2, 2])
    seeds = torch.tensor([3, 9, 27])
    batch = model.infer(ids, text_lengths, max_steps=torch.tensor([30, 20, 25]), seeds=seeds)
    assert batch.step_lengths.tolist() == [30, 20, 25]
    assert batch.hit_limit.tolist() == [True, True, True]
    for row in range(3):
        length = int(text_lengths[row])
        alone = model.infer(ids[row : row + 1, :length], text_lengths[row : row + 1],
                            max_steps=int(batch.step_lengths[row]), seeds=seeds[row : row + 1])
        frames = int(alone.frame_lengths[0])
        assert frames == int(batch.frame_lengths[row])
        assert torch.allclose(alone.mel[0, :frames], batch.mel[row, :frames], atol=1e-4)
        assert torch.allclose(alone.linear[0, :frames], batch.linear[row, :frames], atol=1e-4)
        steps = int(alone.step_lengths[0])
        assert torch.allclose(alone.alignments[0, :steps, :length], batch.alignments[row, :steps, :length], atol=1e-5)


def test_infer_is_deterministic_and_seeded(tiny_config: TacotronConfig) -> None:
    model = Tacotron(tiny_config).eval()
    ids, text_lengths, *_ = _batch(tiny_config, [8], [2])
    first = model.infer(ids, text_lengths, max_steps=15, seeds=torch.tensor([5]), stop_threshold=1.1)
    again = model.infer(ids, text_lengths, max_steps=15, seeds=torch.tensor([5]), stop_threshold=1.1)
    other = model.infer(ids, text_lengths, max_steps=15, seeds=torch.tensor([6]), stop_threshold=1.1)
    assert torch.equal(first.mel, again.mel)
    assert not torch.allclose(first.mel, other.mel)


def test_infer_stops_by_token_and_reports_limit(tiny_config: TacotronConfig) -> None:
    model = Tacotron(tiny_config).eval()
    with torch.no_grad():
        model.decoder.stop_projection.bias.fill_(50.0)  # stop probability ~1 at once
    ids, text_lengths, *_ = _batch(tiny_config, [6, 3], [2, 2])
    out = model.infer(ids, text_lengths, max_steps=40)
    assert out.step_lengths.tolist() == [1, 1]
    assert out.hit_limit.tolist() == [False, False]
    assert out.frame_lengths.tolist() == [tiny_config.reduction_factor] * 2
    with torch.no_grad():
        model.decoder.stop_projection.bias.fill_(-50.0)
    out = model.infer(ids, text_lengths, max_steps=torch.tensor([12, 5]))
    assert out.step_lengths.tolist() == [12, 5]
    assert out.hit_limit.tolist() == [True, True]


def test_infer_requires_eval_mode(tiny_config: TacotronConfig) -> None:
    model = Tacotron(tiny_config)
    ids, text_lengths, *_ = _batch(tiny_config, [4], [2])
    with pytest.raises(RuntimeError, match="eval"):
        model.infer(ids, text_lengths, max_steps=3)


def test_hashed_dropout_is_uniform_and_per_item() -> None:
    seeds = torch.tensor([0, 1, 2, 3])
    values = hashed_uniform(seeds, step=7, layer=1, width=4096)
    assert values.min() >= 0 and values.max() < 1
    assert abs(float(values.mean()) - 0.5) < 0.02
    alone = hashed_uniform(seeds[2:3], step=7, layer=1, width=4096)
    assert torch.equal(alone[0], values[2])
    assert not torch.equal(values[0], values[1])


def test_config_round_trip_and_validation() -> None:
    config = tiny_tacotron_config(reduction_factor=3)
    assert TacotronConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown"):
        TacotronConfig.from_dict({**config.to_dict(), "mystery": 1})
    with pytest.raises(ValueError, match="reduction_factor"):
        tiny_tacotron_config(reduction_factor=0)
    assert config.encoder_dim == 2 * config.encoder_gru_dim


def test_attention_health_end_is_the_last_spoken_symbol() -> None:
    from tts.alignment import attention_health

    # 6 symbols: four spoken, then "." and EOS; the peak walks to index 2 (one short of the last spoken).
    alignment = torch.zeros(4, 6)
    for step, peak in enumerate([0, 1, 2, 2]):
        alignment[step, peak] = 1.0
    assert attention_health(alignment, True, spoken_length=4).end_reached
    assert not attention_health(alignment, True, spoken_length=6).end_reached
    short = torch.zeros(3, 6)
    for step, peak in enumerate([0, 1, 1]):
        short[step, peak] = 1.0
    assert not attention_health(short, True, spoken_length=4).end_reached
