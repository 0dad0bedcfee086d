"""The voice the serving and GPU benchmarks speak with: the bundled demo voice when it is installed,
otherwise a random-weight voice at the default model size whose stop token never fires (so every
sentence decodes its full step limit: a fixed, slightly pessimistic amount of work)."""

from __future__ import annotations

from pathlib import Path

import torch

from tts import VoiceError
from tts.audio import AudioConfig
from tts.model import Tacotron, TacotronConfig
from tts.text import TextConfig, default_symbol_table
from tts.voice_discovery import default_voice_dir
from tts.voice_format import VoiceConfig, save_voice

SENTENCES = (
    "안녕하세요, 소리입니다.",
    "지금 몇 시인지 알려 드릴게요.",
    "내일 아침 일곱 시에 깨워 주세요.",
    "장보기 목록에 우유와 달걀을 넣었어요.",
    "타이머를 오 분으로 맞췄습니다.",
    "오늘은 하늘이 맑고 바람이 조금 불어요.",
    "무엇을 도와드릴까요?",
    "삼 더하기 사는 칠입니다.",
)
"""Short assistant-style replies written for these benchmarks (none from the evaluation set)."""


def sentence(index: int) -> str:
    """A distinct sentence per index (so no cache or in-flight sharing can serve it twice)."""
    return f"{index + 1}번, {SENTENCES[index % len(SENTENCES)]}"


def bench_voice(workdir: Path) -> tuple[Path, str]:
    """(voice directory, description): the bundled voice, or a random one written under workdir."""
    try:
        return default_voice_dir(), "the bundled demo voice"
    except VoiceError:
        pass
    return random_voice(workdir), RANDOM_VOICE


RANDOM_VOICE = ("a random-weight voice at the default model size (stop disabled: every sentence "
                "decodes its full step limit)")
"""How the tables describe `random_voice`."""


def random_voice(workdir: Path) -> Path:
    """A voice at the default model size with random weights and a stop token that never fires."""
    torch.manual_seed(0)
    audio = AudioConfig()
    symbols = default_symbol_table()
    model_config = TacotronConfig(n_symbols=len(symbols), n_mels=audio.n_mels, n_freq=audio.n_freq)
    model = Tacotron(model_config)
    with torch.no_grad():
        model.decoder.stop_projection.bias.fill_(-1e4)
    config = VoiceConfig(
        name="bench-random", text=TextConfig(use_g2p=True), audio=audio, model=model_config,
        symbols=symbols, metadata={"description": "random weights at the default size, for benchmarks"},
    )
    return save_voice(workdir / "bench-random", config, model)
