"""The neural vocoder's generator: shapes, dtypes, gradients, the inverse STFT, batch == alone."""

from __future__ import annotations

import pytest
import torch

from tests.vocoder_factory import tiny_vocoder_config
from tts.audio import AudioConfig
from tts.config_io import ConfigError
from tts.vocoder import Vocoder, VocoderConfig
from tts.vocoder.model import inverse_stft


def test_forward_shapes_dtypes_and_every_parameter_learns() -> None:
    config = tiny_vocoder_config()
    vocoder = Vocoder(config)
    mel = torch.rand(3, 12, config.n_mels)
    wave = vocoder(mel, torch.tensor([12, 7, 1]))
    assert wave.shape == (3, 12 * config.hop_length) and wave.dtype == torch.float32
    assert torch.all(wave[1, 7 * config.hop_length :] == 0) and torch.all(wave[2, config.hop_length :] == 0)
    wave.square().mean().backward()
    silent = [name for name, p in vocoder.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not silent


@pytest.mark.parametrize("spectrogram", ["mel", "linear"])
def test_infer_batch_equals_each_item_alone(spectrogram: str) -> None:
    torch.manual_seed(0)
    config = tiny_vocoder_config(kernel_size=5, spectrogram=spectrogram)
    vocoder = Vocoder(config).eval()
    assert vocoder.embed.in_channels == (config.n_mels if spectrogram == "mel" else config.n_freq)
    lengths = [17, 9, 3, 1]
    mels = torch.rand(len(lengths), max(lengths), config.n_input)
    mels[1, 9:] = 5.0  # garbage in the padding must not leak into the item
    batched = vocoder.infer(mels, torch.tensor(lengths))
    for row, count in enumerate(lengths):
        alone = vocoder.infer(mels[row : row + 1, :count])[0]
        assert batched[row].shape == (count * config.hop_length,)
        torch.testing.assert_close(batched[row], alone, atol=1e-5, rtol=1e-4)


def test_inverse_stft_inverts_the_centred_stft() -> None:
    wave = torch.randn(2, 4000)
    window = torch.hann_window(512)
    spectrum = torch.stft(wave, 512, 128, 512, window, center=True, return_complex=True).transpose(1, 2)
    mask = torch.ones(2, spectrum.size(1))
    rebuilt = inverse_stft(spectrum, mask, window, 128)
    assert rebuilt.shape == (2, spectrum.size(1) * 128)
    torch.testing.assert_close(rebuilt[:, :4000], wave, atol=1e-5, rtol=1e-5)


def test_config_round_trip_and_checks() -> None:
    audio = AudioConfig()
    config = VocoderConfig.for_audio(audio, dim=32, n_blocks=3)
    assert VocoderConfig.from_dict(config.to_dict()) == config
    assert config.mismatches(audio) == [] and config.n_freq == audio.n_freq
    assert VocoderConfig(hop_length=200).mismatches(audio) == ["hop_length: 200 != 256"]
    with pytest.raises(ConfigError, match="kernel_size must be odd"):
        VocoderConfig(kernel_size=4)
    with pytest.raises(ConfigError, match="dim must be a positive integer"):
        VocoderConfig(dim=0)
    with pytest.raises(ConfigError, match="unknown VocoderConfig keys: dims"):
        VocoderConfig.from_dict({"dims": 3})
    linear = VocoderConfig.for_audio(audio, spectrogram="linear")
    assert VocoderConfig.from_dict(linear.to_dict()) == linear and linear.n_input == audio.n_freq
    assert VocoderConfig.from_dict({k: v for k, v in config.to_dict().items() if k != "spectrogram"}) == config
    assert linear.mismatches(AudioConfig(n_fft=2048, win_length=2048)) == ["n_fft: 1024 != 2048"]
    assert config.mismatches(AudioConfig(n_fft=2048, win_length=2048)) == []  # the mel's bands are the same
    with pytest.raises(ConfigError, match="spectrogram must be one of mel, linear"):
        VocoderConfig(spectrogram="cqt")
