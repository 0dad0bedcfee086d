"""The ONNX export and the torch-free runtime: the graphs, the numpy pieces (dropout masks,
Griffin-Lim, the decoder loop) and `OnnxSynthesizer` are held equal to torch, and a broken or
stale export is refused with a message that names it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torchaudio.functional as AF

from sori.cli import main
from tests.signal_support import snr_db
from tts import (
    SynthesisOptions,
    Synthesizer,
    VoiceError,
    default_voice_dir,
    load_synthesizer,
    resolve_runtime,
)
from tts.audio import AudioConfig
from tts.audio.griffin_lim import deemphasize as torch_deemphasize
from tts.audio.griffin_lim import griffin_lim as torch_griffin_lim
from tts.model.dropout import dropout_masks as torch_dropout_masks
from tts.onnx import export as onnx_export
from tts.onnx.dropout import dropout_masks
from tts.onnx.griffin_lim import deemphasize, griffin_lim
from tts.onnx.section import OnnxSection, sha256_of
from tts.onnx.synthesizer import OnnxSynthesizer, check_onnx_files, stretch
from tts.voice_config import read_voice_config

TEXTS = ["안녕하세요. 오늘은 월요일이에요.", "지금은 오후 3시 15분입니다!", "네."]


@pytest.fixture(scope="module")
def exported_voice(test_voice_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the tiny test voice with its ONNX export (the originals stay torch-only)."""
    voice = tmp_path_factory.mktemp("onnx") / "test-tiny"
    shutil.copytree(test_voice_dir, voice)
    onnx_export.export_onnx(voice)
    return voice


def test_numpy_dropout_masks_are_torchs_bit_for_bit() -> None:
    seeds = torch.tensor([0, 7, 2**31 - 1, 123456789])
    steps = torch.arange(0, 257)
    for layer, width in enumerate((32, 16)):
        expected = torch_dropout_masks(seeds, steps, layer, width, 0.5, torch.float32).numpy()
        assert np.array_equal(dropout_masks(seeds.numpy(), steps.numpy(), layer, width, 0.5), expected)


def test_numpy_griffin_lim_matches_torch() -> None:
    config = AudioConfig(griffin_lim_iters=8)
    linear = np.random.default_rng(0).uniform(0.1, 0.8, (config.n_freq, 40)).astype(np.float32)
    expected = torch_griffin_lim(torch.from_numpy(linear)[None], [40], config)[0].numpy()
    ours = griffin_lim(linear, config)
    assert ours.shape == expected.shape == (40 * config.hop_length,)
    assert snr_db(expected, ours) > 60


def test_numpy_deemphasis_matches_torchaudio_over_many_blocks() -> None:
    wave = np.random.default_rng(1).standard_normal(5000).astype(np.float32)
    expected = torch_deemphasize(torch.from_numpy(wave)[None], AudioConfig())[0].numpy()
    np.testing.assert_allclose(deemphasize(wave, 0.97), expected, atol=2e-4, rtol=1e-4)
    assert np.array_equal(deemphasize(wave, 0.0), wave)
    np.testing.assert_allclose(AF.lfilter(torch.zeros(1, 3), torch.tensor([1.0, -0.5]), torch.tensor([1.0, 0.0])),
                               deemphasize(np.zeros(3, np.float32), 0.5)[None], atol=0)


def test_stretch_is_torchs_linear_interpolation() -> None:
    spectrogram = np.random.default_rng(2).random((5, 31)).astype(np.float32)
    for size in (12, 31, 77):
        expected = torch.nn.functional.interpolate(
            torch.from_numpy(spectrogram)[None], size=size, mode="linear", align_corners=False)[0].numpy()
        np.testing.assert_allclose(stretch(spectrogram, size), expected, atol=1e-5)


def test_export_writes_checked_graphs_and_the_onnx_section(exported_voice: Path) -> None:
    section = read_voice_config(exported_voice).onnx
    assert isinstance(section, OnnxSection) and section.opset == onnx_export.OPSET
    assert section.directory == "onnx" and set(section.files) == {"encoder", "decoder_step", "postnet"}
    check = section.metadata["check"]
    assert check["ok"] and check["stop_steps_equal"] and check["attention_argmax_equal"]
    assert check["max_mel_difference"] <= onnx_export.MEL_TOLERANCE
    assert set(check_onnx_files(exported_voice, read_voice_config(exported_voice))) == set(section.files)
    assert not [p for p in (exported_voice / "onnx").iterdir() if p.name.startswith(".")]  # no staging left


def test_onnx_synthesizer_equals_torch_per_sentence(exported_voice: Path) -> None:
    torch_voice = Synthesizer.load(exported_voice, device="cpu")
    onnx_voice = OnnxSynthesizer.load(exported_voice)
    for options in (SynthesisOptions(), SynthesisOptions(speed=1.4, griffin_lim_iters=3)):
        expected = torch_voice.synthesize_many(TEXTS, options)
        ours = onnx_voice.synthesize_many(TEXTS, options)
        for mine, theirs in zip(ours, expected, strict=True):
            assert [s.alignment.shape for s in mine.sentences] == [s.alignment.shape for s in theirs.sentences]
            assert [s.health.stopped_by_token for s in mine.sentences] == [
                s.health.stopped_by_token for s in theirs.sentences]
            for a, b in zip(mine.sentences, theirs.sentences, strict=True):
                assert np.abs(a.mel - b.mel).max() <= 1e-3
                assert np.array_equal(a.alignment.argmax(axis=1), b.alignment.argmax(axis=1))
            assert mine.waveform.dtype == np.float32 and mine.waveform.shape == theirs.waveform.shape
            assert mine.chunk_starts == theirs.chunk_starts
            assert snr_db(theirs.waveform, mine.waveform) > 20


def test_onnx_batch_gives_each_item_what_it_gets_alone(exported_voice: Path) -> None:
    voice = OnnxSynthesizer.load(exported_voice)
    together = voice.synthesize_many(TEXTS)
    for text, batched in zip(TEXTS, together, strict=True):
        alone = voice.synthesize(text)
        assert alone.waveform.shape == batched.waveform.shape
        assert max(np.abs(a.mel - b.mel).max() for a, b in zip(alone.sentences, batched.sentences, strict=True)) < 1e-4


def test_onnx_stream_is_the_whole_result(exported_voice: Path) -> None:
    voice = OnnxSynthesizer.load(exported_voice)
    whole = voice.synthesize(TEXTS[0])
    streamed = np.concatenate([chunk.waveform for chunk in voice.stream(TEXTS[0])])
    assert streamed.shape == whole.waveform.shape and snr_db(whole.waveform, streamed) > 20


def test_export_refuses_graphs_out_of_tolerance_and_writes_nothing(
    test_voice_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    voice = tmp_path / "voice"
    shutil.copytree(test_voice_dir, voice)
    before = (voice / "config.json").read_bytes()
    monkeypatch.setattr(onnx_export, "MEL_TOLERANCE", -1.0)  # no difference can be within it
    with pytest.raises(onnx_export.OnnxExportError, match=r"largest mel difference .*nothing was written"):
        onnx_export.export_onnx(voice)
    assert (voice / "config.json").read_bytes() == before
    assert not list((voice / "onnx").glob("*.onnx")) if (voice / "onnx").exists() else True


def test_a_voice_without_an_export_names_the_command(test_voice_dir: Path) -> None:
    with pytest.raises(VoiceError, match="sori export-onnx"):
        OnnxSynthesizer.load(test_voice_dir)


def test_a_changed_graph_file_is_refused(exported_voice: Path, tmp_path: Path) -> None:
    voice = tmp_path / "voice"
    shutil.copytree(exported_voice, voice)
    graph = voice / "onnx" / "postnet.onnx"
    graph.write_bytes(graph.read_bytes() + b"\0")
    with pytest.raises(VoiceError, match=r"postnet.onnx has SHA-256 .* \(changed or damaged\)"):
        OnnxSynthesizer.load(voice)
    graph.unlink()
    with pytest.raises(VoiceError, match=r"postnet .* is missing"):
        OnnxSynthesizer.load(voice)


def test_graphs_of_other_weights_are_refused(exported_voice: Path, tmp_path: Path) -> None:
    from tests.voice_factory import make_test_voice

    voice = tmp_path / "voice"
    shutil.copytree(exported_voice, voice)
    other = make_test_voice(tmp_path / "other", seed=5)
    shutil.copy(other / "model.safetensors", voice / "model.safetensors")
    with pytest.raises(VoiceError, match="exported from other weights"):
        OnnxSynthesizer.load(voice)


def test_a_graph_that_does_not_fit_the_model_is_refused(exported_voice: Path, tmp_path: Path) -> None:
    voice = tmp_path / "voice"
    shutil.copytree(exported_voice, voice)
    data = json.loads((voice / "config.json").read_text())
    demo = read_voice_config(default_voice_dir()).onnx
    assert demo is not None
    # The demo voice's decoder step (wider layers) in place of the tiny voice's, hashes updated.
    shutil.copy(default_voice_dir() / "onnx" / demo.decoder_step.file, voice / "onnx" / "decoder_step.onnx")
    data["onnx"]["decoder_step"]["sha256"] = demo.decoder_step.sha256
    (voice / "config.json").write_text(json.dumps(data))
    with pytest.raises(VoiceError, match=r"does not fit config.json's model: .*attention_hidden has width 128, the model 32"):
        OnnxSynthesizer.load(voice)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("opset", 5, "opset must be between 13 and 30"),
    ("weights_sha256", "abc", "weights_sha256 must be 64 lowercase hex digits"),
    ("format_version", 2, "onnx section has format_version 2"),
    ("colour", "red", "unknown OnnxSection keys: colour"),
])
def test_a_broken_onnx_section_names_the_field(exported_voice: Path, tmp_path: Path, field: str, value: object,
                                              message: str) -> None:
    voice = tmp_path / "voice"
    shutil.copytree(exported_voice, voice)
    data = json.loads((voice / "config.json").read_text())
    data["onnx"][field] = value
    (voice / "config.json").write_text(json.dumps(data))
    with pytest.raises(VoiceError, match=message):
        read_voice_config(voice)


def test_a_graph_file_name_must_be_bare(exported_voice: Path, tmp_path: Path) -> None:
    voice = tmp_path / "voice"
    shutil.copytree(exported_voice, voice)
    data = json.loads((voice / "config.json").read_text())
    data["onnx"]["encoder"]["file"] = "../../etc/passwd.onnx"
    (voice / "config.json").write_text(json.dumps(data))
    with pytest.raises(VoiceError, match="bare"):
        read_voice_config(voice)


def test_runtime_auto_is_torch_when_installed_else_onnx(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_runtime("auto") == "torch" and resolve_runtime("onnx") == "onnx"
    monkeypatch.setattr("tts.synthesis.torch_installed", lambda: False)
    assert resolve_runtime("auto") == "onnx"
    with pytest.raises(ValueError, match="needs torch"):
        resolve_runtime("torch")
    with pytest.raises(ValueError, match="runtime must be one of"):
        resolve_runtime("tensorflow")


def test_load_synthesizer_picks_the_runtime(exported_voice: Path) -> None:
    assert load_synthesizer(exported_voice, runtime="onnx").runtime == "onnx"
    assert load_synthesizer(exported_voice, runtime="torch", device="cpu").runtime == "torch"
    with pytest.raises(ValueError, match="runs on the CPU"):
        load_synthesizer(exported_voice, runtime="onnx", device="cuda")
    with pytest.raises(VoiceError, match="has no neural vocoder"):
        load_synthesizer(exported_voice, runtime="onnx", vocoder="neural")


def test_cli_speaks_on_onnx_and_exports(exported_voice: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output = tmp_path / "out.wav"
    assert main(["speak", "--voice", str(exported_voice), "--runtime", "onnx", "-o", str(output), "--json", "네."]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["runtime"] == "onnx" and output.stat().st_size > 44
    assert main(["export-onnx", str(tmp_path / "nowhere")]) == 2
    assert "sori export-onnx: voice directory not found" in capsys.readouterr().err


def test_the_server_registry_loads_onnx_voices(exported_voice: Path) -> None:
    from server import Settings
    from server.voice_registry import VoiceRegistry

    registry = VoiceRegistry.from_settings(Settings(voice=str(exported_voice), runtime="onnx"))
    voice = registry.load(registry.default_name)
    assert voice.synthesizer.runtime == "onnx" and str(voice.synthesizer.device) == "cpu"


def test_the_demo_voice_ships_onnx_files_that_match_its_weights(tmp_path: Path) -> None:
    """The shipped graphs are checked (hashes, weights) and give what a fresh export gives."""
    shipped = default_voice_dir()
    config = read_voice_config(shipped)
    assert config.onnx is not None
    check_onnx_files(shipped, config)  # the files' hashes and the weights they came from
    fresh = tmp_path / "demo"
    shutil.copytree(shipped, fresh, ignore=shutil.ignore_patterns("onnx", "eval"))
    onnx_export.export_onnx(fresh)
    texts = ["안녕하세요. 소리입니다.", "내일 아침 7시에 깨워줘.", "우유와 빵을 샀어요."]
    theirs = OnnxSynthesizer.load(fresh).synthesize_many(texts)
    ours = OnnxSynthesizer.load(shipped).synthesize_many(texts)
    for a, b in zip(ours, theirs, strict=True):
        assert a.waveform.shape == b.waveform.shape and a.health_ok == b.health_ok
        assert np.abs(a.mel - b.mel).max() <= 1e-5


def test_the_demo_voice_on_onnx_equals_torch() -> None:
    texts = ["오늘 날씨가 어때?", "5분 타이머 맞춰줘.", "지금 몇 시야?", "고마워요, 소리야."]
    expected = Synthesizer.load(default_voice_dir(), device="cpu").synthesize_many(texts)
    ours = OnnxSynthesizer.load(default_voice_dir()).synthesize_many(texts)
    for mine, theirs in zip(ours, expected, strict=True):
        assert mine.health_ok and theirs.health_ok
        for a, b in zip(mine.sentences, theirs.sentences, strict=True):
            assert a.alignment.shape == b.alignment.shape  # the same stop step
            assert np.abs(a.mel - b.mel).max() <= 1e-3
        assert snr_db(theirs.waveform, mine.waveform) > 20


@pytest.mark.parametrize("spectrogram", ["mel", "linear"])
def test_the_neural_vocoder_is_exported_and_matches_torch(tmp_path: Path, spectrogram: str) -> None:
    from tests.vocoder_factory import add_test_vocoder
    from tests.voice_factory import make_test_voice

    voice = make_test_voice(tmp_path / "voice")
    add_test_vocoder(voice, spectrogram=spectrogram)
    section, check = onnx_export.export_onnx(voice)
    assert section.vocoder is not None and (voice / "onnx" / section.vocoder.file).is_file()
    assert check.max_wave_difference is not None and check.max_wave_difference <= onnx_export.WAVE_TOLERANCE
    torch_voice = Synthesizer.load(voice, device="cpu")
    onnx_voice = OnnxSynthesizer.load(voice)
    assert onnx_voice.default_vocoder == torch_voice.default_vocoder == "neural"
    for options in (SynthesisOptions(), SynthesisOptions(speed=0.8)):
        for mine, theirs in zip(onnx_voice.synthesize_many(TEXTS, options),
                                torch_voice.synthesize_many(TEXTS, options), strict=True):
            assert mine.waveform.shape == theirs.waveform.shape
            assert np.abs(mine.waveform - theirs.waveform).max() <= 1e-3
    griffin = onnx_voice.synthesize(TEXTS[2], SynthesisOptions(vocoder="griffin-lim"))
    assert griffin.waveform.shape == onnx_voice.synthesize(TEXTS[2]).waveform.shape
    assert OnnxSynthesizer.load(voice, vocoder="griffin-lim").vocoder is None


def test_a_vocoder_missing_from_the_export_names_the_fix(exported_voice: Path, tmp_path: Path) -> None:
    from tests.vocoder_factory import add_test_vocoder

    voice = tmp_path / "voice"
    shutil.copytree(exported_voice, voice)
    section = read_voice_config(voice).onnx
    add_test_vocoder(voice)  # rewrites config.json (and the weights) without the onnx section
    data = json.loads((voice / "config.json").read_text())
    data["onnx"] = section.to_dict() if section is not None else None
    data["onnx"]["weights_sha256"] = sha256_of(voice / "model.safetensors")
    (voice / "config.json").write_text(json.dumps(data))
    with pytest.raises(VoiceError, match="its ONNX export has no vocoder"):
        OnnxSynthesizer.load(voice)
    assert OnnxSynthesizer.load(voice, vocoder="griffin-lim").default_vocoder == "griffin-lim"


def test_the_onnx_path_never_imports_torch(tmp_path: Path) -> None:
    """The frontend, the server, Wyoming, the assistant, the CLI and a whole ONNX synthesis run
    without importing torch (so a slim install, which has none, can run them)."""
    script = (
        "import sys\n"
        "import tts, tts.text, tts.synthesis, tts.voice_config, tts.plot, tts.audio\n"
        "import assistant, server, server.app, server.wyoming, sori.cli\n"
        "from server import Settings, create_app\n"
        "sori.cli.build_parser()\n"
        "create_app(Settings(runtime='onnx'))\n"
        "from tts import default_voice_dir, load_synthesizer\n"
        "result = load_synthesizer(default_voice_dir(), runtime='onnx').synthesize('안녕하세요.')\n"
        "assert result.health_ok and result.waveform.size > 0\n"
        "loaded = sorted(name for name in sys.modules if name.split('.')[0] in ('torch', 'torchaudio', 'librosa'))\n"
        "assert not loaded, loaded\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                         cwd=Path(__file__).resolve().parents[1], env=dict(os.environ, SORI_DATA_DIR=str(tmp_path)))
    assert run.returncode == 0, run.stderr


def test_weights_exact_in_float16_are_stored_as_float16_with_the_same_outputs() -> None:
    """A vocoder bundled in fp16 exports at half the size, and its numbers do not change."""
    import onnx
    import onnx.helper
    import onnx.numpy_helper
    import onnxruntime

    from tts.onnx.export import store_half_exact_weights

    rng = np.random.default_rng(0)
    exact = rng.standard_normal((64, 32)).astype(np.float16).astype(np.float32)
    inexact = rng.standard_normal((32, 32)).astype(np.float32)  # float32 values float16 cannot hold
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("MatMul", ["x", "exact"], ["h"]), onnx.helper.make_node("MatMul", ["h", "inexact"], ["y"])],
        "g", [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["batch", 64])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["batch", 32])],
        [onnx.numpy_helper.from_array(exact, "exact"), onnx.numpy_helper.from_array(inexact, "inexact")],
    )
    original = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)]).SerializeToString()
    halved = store_half_exact_weights(original)
    stored = {init.name: init.data_type for init in onnx.load_from_string(halved).graph.initializer}
    assert stored == {"exact.float16": onnx.TensorProto.FLOAT16, "inexact": onnx.TensorProto.FLOAT}
    x = rng.standard_normal((3, 64)).astype(np.float32)
    outputs = [onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
               for model in (original, halved)]
    assert np.array_equal(outputs[0], outputs[1])
