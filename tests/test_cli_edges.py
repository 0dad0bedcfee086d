"""The CLI's edges: bad outputs, a closed pipe, CUDA without a GPU, bad standard input, prepare's and
train's odd ends, and voices checked before the work. Each is one line on stderr and exit 2 (or a
quiet end), never a traceback."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from sori.cli import main

NO_GPU = pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a CUDA GPU")


def one_line_error(capsys: pytest.CaptureFixture[str], command: str) -> str:
    """The single line a refused command printed on stderr (asserted to be exactly one line)."""
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"sori {command}: "), err
    assert "\n" not in err and "Traceback" not in err, err
    return err


@pytest.fixture
def no_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a voice is loaded: the checks must come before any work."""
    import tts

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a voice was loaded before the command's inputs were checked")

    monkeypatch.setattr(tts.Synthesizer, "load", refuse)
    monkeypatch.setattr(tts, "read_voice_config", refuse)


@pytest.mark.usefixtures("no_loading")
def test_bad_outputs_are_refused_before_the_work(
    tmp_path: Path, test_voice_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    sentences = tmp_path / "sentences.txt"
    sentences.write_text("가나다.\n", encoding="utf-8")
    voice = ["--voice", str(test_voice_dir)]
    cases = [
        (["speak", "가나다", "-o", str(folder), *voice], "speak", "is a folder"),
        (["speak", "가나다", "-o", str(tmp_path / "x.wav"), "--alignment", str(folder), *voice], "speak",
         "is a folder"),
        (["speak", "가나다", "-o", str(tmp_path / "x.wav"), "--alignment", "/nonexistent/x.png", *voice],
         "speak", "does not exist"),
        (["vocode", str(a_file), "-o", str(folder), *voice], "vocode", "is a folder"),
        (["prepare", str(tmp_path), "--out", str(a_file)], "prepare", "must be a folder"),
        (["export", str(tmp_path), "--out", str(a_file)], "export", "must be a folder"),
        (["export", str(tmp_path), "--out", str(a_file / "voice")], "export", "is a file"),
        (["eval", "--sentences", str(sentences), "--out", str(a_file), *voice], "eval", "must be a folder"),
        (["ask", "5분 타이머 맞춰줘", "-o", str(folder), *voice], "ask", "is a folder"),
    ]
    for argv, command, message in cases:
        assert main(argv) == 2, argv
        assert message in one_line_error(capsys, command), argv
    assert not (tmp_path / "x.wav").exists()


def test_a_closed_pipe_ends_quietly(test_voice_dir: Path) -> None:
    # Enough sentences that the audio outgrows the pipe's buffer, so writes meet the closed end.
    text = "가나다라마바사아자차카타파하. " * 40
    process = subprocess.Popen(
        [sys.executable, "-m", "sori", "speak", text, "-o", "-", "--voice", str(test_voice_dir), "--device", "cpu"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.read(100)[:4] == b"RIFF"
    process.stdout.close()  # the player stops early, as `| head -c 100` does
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=300) == 141, stderr
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr


@NO_GPU
@pytest.mark.parametrize("command", ["speak", "eval", "vocode", "ask"])
def test_cuda_without_a_gpu_is_refused_at_start(
    command: str, tmp_path: Path, test_voice_dir: Path, capsys: pytest.CaptureFixture[str], no_loading: None
) -> None:
    sentences = tmp_path / "sentences.txt"
    sentences.write_text("가나다.\n", encoding="utf-8")
    argv = {
        "speak": ["speak", "가나다", "-o", str(tmp_path / "x.wav")],
        "eval": ["eval", "--sentences", str(sentences), "--out", str(tmp_path / "report")],
        "vocode": ["vocode", str(sentences), "-o", str(tmp_path / "x.wav")],
        "ask": ["ask", "5분 타이머 맞춰줘", "-o", str(tmp_path / "x.wav")],
    }[command]
    assert main([*argv, "--voice", str(test_voice_dir), "--device", "cuda"]) == 2
    assert "no CUDA GPU is available" in one_line_error(capsys, command)


@NO_GPU
def test_train_refuses_cuda_without_a_gpu_before_making_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "run"
    assert main(["train", "--features", str(tmp_path), "--run-dir", str(run_dir), "--device=cuda"]) == 2
    assert "no CUDA GPU is available" in one_line_error(capsys, "train")
    assert not run_dir.exists()


def run_sori(*args: str, data_dir: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`sori ARGS` as a user runs it, with its data under data_dir."""
    env = {**os.environ, "SORI_DATA_DIR": str(data_dir), "SORI_WARMUP": "false"}
    return subprocess.run([sys.executable, "-m", "sori", *args], capture_output=True, text=True,
                          encoding="utf-8", env=env, timeout=timeout, check=False)


@NO_GPU
@pytest.mark.parametrize("command", ["serve", "wyoming"])
def test_servers_refuse_cuda_without_a_gpu_at_start(command: str, tmp_path: Path, test_voice_dir: Path) -> None:
    result = run_sori(command, "--voice", str(test_voice_dir), "--device", "cuda", data_dir=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "no CUDA GPU is available" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["serve", "wyoming"])
def test_servers_refuse_a_missing_voices_dir(command: str, tmp_path: Path, test_voice_dir: Path) -> None:
    result = run_sori(command, "--voice", str(test_voice_dir), "--voices-dir", "/nonexistent",
                      "--device", "cpu", data_dir=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "--voices-dir /nonexistent does not exist" in result.stderr


@pytest.mark.parametrize("command", ["speak", "g2p"])
def test_invalid_utf8_on_stdin_is_reported(
    command: str, tmp_path: Path, test_voice_dir: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("가나".encode() + b"\xff\xfe " + "다라".encode())))
    argv = ["speak", "-", "-o", str(tmp_path / "x.wav"), "--voice", str(test_voice_dir)] if command == "speak" \
        else ["g2p", "-"]
    assert main(argv) == 2
    assert "standard input is not valid UTF-8 (byte 0xff at offset 6)" in one_line_error(capsys, command)
    assert not (tmp_path / "x.wav").exists()


def test_prepare_refuses_zero_jobs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prepare", str(tmp_path), "--out", str(tmp_path / "features"), "--jobs", "0"]) == 2
    assert "--jobs must be at least 1" in one_line_error(capsys, "prepare")


def test_prepare_with_no_row_prepared_fails(
    bootstrap_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "features"
    status = main(["prepare", str(bootstrap_corpus), "--out", str(out), "--max-symbols", "2", "--jobs", "1",
                   "--no-progress"])
    captured = capsys.readouterr()
    assert status == 2, captured.err
    assert '"prepared": 0' in captured.out
    assert "no row of" in captured.err and "could be prepared" in captured.err
    assert (out / "prepare_report.json").is_file()  # the reasons are kept


def test_resuming_a_finished_run_says_so(
    tiny_run: Path, prepared_features: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = Path(shutil.copytree(tiny_run, tmp_path / "run"))
    assert main(["train", "--features", str(prepared_features), "--run-dir", str(run_dir), "--resume"]) == 0
    out = capsys.readouterr().out
    assert "already finished at step 4: nothing to train" in out
    assert "nan" not in out and "last checkpoint: None" not in out
    assert f"last checkpoint: {run_dir}" in out


def test_ask_checks_the_voice_before_running_the_skill(tmp_path: Path) -> None:
    result = run_sori("ask", "5분 타이머 맞춰줘", "-o", str(tmp_path / "x.wav"), "--voice", "/nonexistent",
                      data_dir=tmp_path)
    assert result.returncode == 3, result.stderr
    assert "nothing was asked" in result.stderr and "Traceback" not in result.stderr
    status = run_sori("ask", "타이머 얼마나 남았어?", "--json", data_dir=tmp_path)
    assert '"reply": "실행 중인 타이머가 없어요."' in status.stdout  # no timer was started
