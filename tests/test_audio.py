"""Contracts of tts.audio: configuration, file I/O, encodings, silence trimming, spectrograms."""

from __future__ import annotations

import io
import json
import math
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from tts.audio import (
    AudioConfig,
    AudioConfigError,
    AudioError,
    SpectrogramExtractor,
    denormalize,
    encode_audio,
    load_audio,
    normalize,
    save_wav,
    silence_bounds,
    trim_silence,
    wav_bytes,
)
from tts.config_io import ConfigError

CONFIG = AudioConfig()


def tone(frequency: float, seconds: float, rate: int, amplitude: float = 0.5) -> np.ndarray:
    """A float32 sine of the given frequency, duration and sample rate."""
    t = np.arange(int(round(seconds * rate))) / rate
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def dominant_frequency(wave: torch.Tensor, rate: int) -> float:
    """The frequency in Hz of the strongest FFT bin of a wave [T]."""
    spectrum = np.abs(np.fft.rfft(wave.numpy()))
    return float(np.argmax(spectrum)) * rate / wave.numel()


# --- AudioConfig -------------------------------------------------------------------------------


def test_config_derived_values() -> None:
    assert CONFIG.n_freq == 513
    assert CONFIG.frame_shift_seconds == pytest.approx(256 / 22050)
    assert CONFIG.frame_length_seconds == pytest.approx(1024 / 22050)
    assert CONFIG.frames_per_second == pytest.approx(22050 / 256)
    assert CONFIG.n_frames(22050) == 22050 // 256 + 1
    assert CONFIG.min_amplitude == pytest.approx(1e-5)
    assert CONFIG.max_amplitude == pytest.approx(10.0)
    assert CONFIG.silence_amplitude == pytest.approx(1e-4)
    assert AudioConfig(n_fft=2048, win_length=2048).n_freq == 1025


def test_config_dict_round_trip_through_json() -> None:
    changed = AudioConfig(fmin=0.0, fmax=11025.0, griffin_lim_iters=32)
    restored = AudioConfig.from_dict(json.loads(json.dumps(changed.to_dict())))
    assert restored == changed
    assert set(CONFIG.to_dict()) >= {"sample_rate", "n_fft", "hop_length", "n_mels", "fmin",
                                     "fmax", "preemphasis", "ref_level_db", "min_level_db",
                                     "griffin_lim_power", "griffin_lim_momentum", "trim_top_db"}


def test_config_from_dict_rejects_unknown_keys() -> None:
    values = CONFIG.to_dict() | {"num_mels": 80, "hop": 200}
    with pytest.raises(ConfigError, match=r"unknown AudioConfig keys: hop, num_mels \(did you mean n_mels\?\)"):
        AudioConfig.from_dict(values)
    with pytest.raises(ConfigError, match="JSON object"):
        AudioConfig.from_dict([1, 2])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"win_length": 2048}, "win_length .* exceeds n_fft"),
        ({"fmax": 12000.0}, "fmax"),
        ({"sample_rate": "22050"}, "sample_rate must be a positive integer"),
        ({"fmin": float("nan")}, "fmin must be a finite number"),
        ({"min_level_db": 10.0}, "min_level_db must be negative"),
        ({"griffin_lim_momentum": 1.0}, "griffin_lim_momentum"),
        ({"preemphasis": 1.0}, "preemphasis"),
    ],
)
def test_config_rejects_inconsistent_values(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(AudioConfigError, match=message):
        AudioConfig.from_dict(overrides)


# --- load_audio --------------------------------------------------------------------------------


def test_load_stereo_48k_wav_gives_mono_at_target_rate(tmp_path: Path) -> None:
    left = tone(440.0, 1.0, 48000, amplitude=0.6)
    right = -0.5 * left  # the mono mix is 0.25 * left
    path = tmp_path / "stereo.wav"
    soundfile.write(path, np.stack([left, right], axis=1), 48000, subtype="FLOAT")
    wave = load_audio(path, 22050)
    assert wave.dtype == torch.float32 and wave.dim() == 1
    assert wave.numel() == math.ceil(48000 * 22050 / 48000)
    assert dominant_frequency(wave, 22050) == pytest.approx(440.0, abs=2.0)
    middle = wave[2000:-2000]
    assert middle.abs().max().item() == pytest.approx(0.25 * 0.6, rel=0.02)


@pytest.mark.parametrize(("rate", "subtype", "suffix"), [(44100, "PCM_16", "flac"),
                                                         (44100, "PCM_24", "wav"),
                                                         (16000, "PCM_16", "flac")])
def test_load_other_rates_and_flac(tmp_path: Path, rate: int, subtype: str, suffix: str) -> None:
    samples = tone(1000.0, 0.75, rate, amplitude=0.3)
    path = tmp_path / f"mono.{suffix}"
    soundfile.write(path, samples, rate, subtype=subtype)
    wave = load_audio(path, 22050)
    assert wave.numel() == math.ceil(samples.size * 22050 / rate)
    assert dominant_frequency(wave, 22050) == pytest.approx(1000.0, abs=3.0)


def test_load_at_file_rate_is_exact(tmp_path: Path) -> None:
    samples = tone(300.0, 0.1, 22050, amplitude=0.5)
    save_wav(tmp_path / "a.wav", samples, 22050)
    wave = load_audio(tmp_path / "a.wav", 22050)
    np.testing.assert_allclose(wave.numpy(), samples, atol=1 / 32767)


def test_load_audio_errors_name_file_and_problem(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match=r"missing\.wav: no such file"):
        load_audio(tmp_path / "missing.wav", 22050)
    with pytest.raises(AudioError, match="not a regular file"):
        load_audio(tmp_path, 22050)
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"this is not audio at all" * 10)
    with pytest.raises(AudioError, match=r"garbage\.wav: cannot read audio"):
        load_audio(garbage, 22050)
    empty = tmp_path / "empty.wav"
    soundfile.write(empty, np.zeros(0, dtype=np.float32), 22050)
    with pytest.raises(AudioError, match=r"empty\.wav: contains no samples"):
        load_audio(empty, 22050)
    with pytest.raises(AudioError, match="sample rate"):
        load_audio(garbage, 0)


# --- writing and encoding ----------------------------------------------------------------------


def test_wav_bytes_header_is_16_bit_pcm_mono() -> None:
    wave = torch.from_numpy(tone(220.0, 0.2, 22050))
    data = wav_bytes(wave, 22050)
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE" and data[12:16] == b"fmt "
    riff_size = struct.unpack("<I", data[4:8])[0]
    assert riff_size == len(data) - 8
    audio_format, channels, rate, byte_rate, block_align, bits = struct.unpack(
        "<HHIIHH", data[20:36]
    )
    assert (audio_format, channels, rate, bits) == (1, 1, 22050, 16)
    assert (byte_rate, block_align) == (22050 * 2, 2)
    assert data[36:40] == b"data"
    assert struct.unpack("<I", data[40:44])[0] == 2 * wave.numel()


def test_save_wav_round_trip_and_clipping(tmp_path: Path) -> None:
    wave = torch.tensor([0.0, 0.5, -0.5, 1.0, -1.0, 1.7, -3.0, 0.25])
    path = save_wav(tmp_path / "sub" / "out.wav", wave, 16000)
    info = soundfile.info(path)
    assert (info.samplerate, info.channels, info.subtype, info.frames) == (16000, 1, "PCM_16", 8)
    samples, _ = soundfile.read(path, dtype="int16")
    assert samples.tolist() == [0, 16384, -16384, 32767, -32767, 32767, -32767, 8192]
    assert [p.name for p in path.parent.iterdir()] == ["out.wav"]  # no temporary left behind


def test_save_wav_replaces_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "out.wav"
    save_wav(path, np.zeros(100, dtype=np.float32), 22050)
    save_wav(path, np.full(50, 0.5, dtype=np.float32), 22050)
    assert soundfile.info(path).frames == 50


def test_encodings_agree() -> None:
    wave = torch.from_numpy(tone(330.0, 0.3, 22050, amplitude=0.8))
    wav = encode_audio(wave, 22050, "wav")
    pcm = encode_audio(wave, 22050, "pcm")
    flac = encode_audio(wave, 22050, "flac")
    assert len(pcm) == 2 * wave.numel()
    assert wav[44:] == pcm  # the WAV data chunk is exactly the raw s16le stream
    assert flac[:4] == b"fLaC"
    decoded, rate = soundfile.read(io.BytesIO(flac), dtype="int16")
    assert rate == 22050
    assert decoded.tobytes() == pcm  # FLAC is lossless


def test_encode_audio_rejects_bad_input() -> None:
    with pytest.raises(AudioError, match="unknown audio format 'mp3'"):
        encode_audio(torch.zeros(10), 22050, "mp3")  # type: ignore[arg-type]
    with pytest.raises(AudioError, match=r"mono wave \[T\]"):
        encode_audio(torch.zeros(2, 10), 22050, "wav")
    with pytest.raises(AudioError, match="NaN"):
        encode_audio(torch.tensor([0.0, float("nan")]), 22050, "wav")
    with pytest.raises(AudioError, match="sample rate"):
        encode_audio(torch.zeros(10), -1, "wav")


# --- trim_silence ------------------------------------------------------------------------------


def test_trim_silence_cuts_quiet_edges() -> None:
    rate = CONFIG.sample_rate
    rng = np.random.default_rng(0)
    speech = tone(500.0, 0.5, rate, amplitude=0.5)
    lead, tail = int(0.4 * rate), int(0.3 * rate)
    floor = 0.5 * 10 ** (-60 / 20)  # 60 dB below the tone: silence by the 33 dB threshold
    noise = (floor * rng.standard_normal(lead + tail)).astype(np.float32)
    wave = torch.from_numpy(np.concatenate([noise[:lead], speech, noise[lead:]]))
    start, end = silence_bounds(wave, CONFIG)
    tolerance = CONFIG.win_length  # edges resolve to a frame, which reaches half a window out
    assert abs(start - lead) <= tolerance
    assert abs(end - (lead + speech.size)) <= tolerance
    trimmed = trim_silence(wave, CONFIG)
    torch.testing.assert_close(trimmed, wave[start:end], rtol=0, atol=0)


def test_trim_silence_keeps_loud_audio_and_empties_silence() -> None:
    loud = torch.from_numpy(tone(300.0, 0.3, CONFIG.sample_rate))
    assert trim_silence(loud, CONFIG).numel() >= loud.numel() - CONFIG.hop_length
    assert trim_silence(torch.zeros(5000), CONFIG).numel() == 0
    with pytest.raises(AudioError, match=r"mono wave \[T\]"):
        trim_silence(torch.zeros(2, 100), CONFIG)


# --- spectrograms ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def extractor() -> SpectrogramExtractor:
    return SpectrogramExtractor(CONFIG)


def test_spectrogram_shapes_frames_and_range(extractor: SpectrogramExtractor) -> None:
    torch.manual_seed(0)
    wave = 0.3 * torch.randn(2, 3, 5000)
    mel, linear = extractor(wave)
    frames = 5000 // CONFIG.hop_length + 1
    assert mel.shape == (2, 3, CONFIG.n_mels, frames)
    assert linear.shape == (2, 3, CONFIG.n_freq, frames)
    for spec in (mel, linear):
        assert spec.min() >= 0.0 and spec.max() <= 1.0
        assert 0.0 < spec.mean() < 1.0
    single = wave[1, 2]
    assert extractor.mel_spectrogram(single).shape == (CONFIG.n_mels, frames)
    torch.testing.assert_close(extractor.mel_spectrogram(single), mel[1, 2], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(extractor.linear_spectrogram(single), linear[1, 2],
                               rtol=1e-5, atol=1e-5)


def test_silence_is_zero_and_loudness_orders(extractor: SpectrogramExtractor) -> None:
    mel, linear = extractor(torch.zeros(4000))
    assert mel.max() == 0.0 and linear.max() == 0.0
    soft = extractor.linear_spectrogram(torch.from_numpy(tone(2000.0, 0.2, 22050, 0.01)))
    loud = extractor.linear_spectrogram(torch.from_numpy(tone(2000.0, 0.2, 22050, 0.02)))
    bin_2k = round(2000 * CONFIG.n_fft / CONFIG.sample_rate)
    doubling = 20 * math.log10(2) / -CONFIG.min_level_db  # +6 dB in normalised units
    delta = (loud[bin_2k, 5:-5] - soft[bin_2k, 5:-5]).mean().item()
    assert delta == pytest.approx(doubling, rel=0.01)


def test_mel_filterbank_matches_librosa_slaney(extractor: SpectrogramExtractor) -> None:
    import librosa

    reference = librosa.filters.mel(
        sr=CONFIG.sample_rate, n_fft=CONFIG.n_fft, n_mels=CONFIG.n_mels,
        fmin=CONFIG.fmin, fmax=CONFIG.fmax, htk=False, norm="slaney",
    )  # [n_mels, n_freq]
    np.testing.assert_allclose(extractor.mel_basis.T.numpy(), reference, atol=1e-6, rtol=1e-4)


def test_normalize_and_denormalize_are_exact_inverses() -> None:
    generator = torch.Generator().manual_seed(0)
    spec = torch.rand(3, CONFIG.n_freq, 40, generator=generator, dtype=torch.float64)
    torch.testing.assert_close(normalize(denormalize(spec, CONFIG), CONFIG), spec,
                               rtol=0, atol=1e-12)
    low, high = math.log10(CONFIG.silence_amplitude), math.log10(CONFIG.max_amplitude)
    magnitude = 10 ** (low + (high - low) * torch.rand(500, generator=generator,
                                                       dtype=torch.float64))
    torch.testing.assert_close(denormalize(normalize(magnitude, CONFIG), CONFIG), magnitude,
                               rtol=1e-12, atol=0)
    outside = torch.tensor([-0.5, 1.5])
    assert denormalize(outside, CONFIG).tolist() == pytest.approx(
        [CONFIG.silence_amplitude, CONFIG.max_amplitude], rel=1e-5
    )


def test_spectrogram_errors(extractor: SpectrogramExtractor) -> None:
    with pytest.raises(AudioError, match="too short"):
        extractor(torch.zeros(100))
    with pytest.raises(AudioError, match="floating-point"):
        extractor(torch.zeros(4000, dtype=torch.int16))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_spectrograms_on_cuda_match_cpu(extractor: SpectrogramExtractor) -> None:
    wave = 0.3 * torch.randn(2, 6000)
    mel, linear = extractor(wave)
    mel_gpu, linear_gpu = SpectrogramExtractor(CONFIG).to("cuda")(wave.cuda())
    assert mel_gpu.device.type == "cuda"
    torch.testing.assert_close(mel_gpu.cpu(), mel, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(linear_gpu.cpu(), linear, rtol=1e-4, atol=1e-4)
    with pytest.raises(AudioError, match="move the extractor"):
        extractor(wave.cuda())
