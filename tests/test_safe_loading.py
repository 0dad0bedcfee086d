"""Untrusted files never run code: voices load from safetensors only, training state only through
torch.load(weights_only=True), and a static guard keeps every other unpickling path out of the code."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest
import torch

from sori.cli import main
from tests.fault_support import write_tiny_checkpoint
from tts import VoiceError, load_voice
from tts.training import checkpoint as ckpt
from tts.voice_format import WEIGHTS_FILE

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("tts", "sori", "server", "assistant")
PIPE_TO_OWN_CHILD = "server/inference_process.py"
"""The one module allowed to pickle: the pipe between the server and the child process it spawned
itself (multiprocessing pickles over such pipes in any case). Nothing from a client, a file or the
network is unpickled there: requests are parsed and analysed in the server before they are sent."""
UNPICKLERS = {"pickle", "_pickle", "cPickle", "dill", "cloudpickle", "joblib", "shelve", "marshal"}
PICKLE_EXCEPTIONS = {"PickleError", "PicklingError", "UnpicklingError"}


class MarkerPayload:
    """Unpickles into a call that creates `marker`: the stand-in for code an attacker would run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return open, (str(self.marker), "w")


def _poison_state(checkpoint: Path, marker: Path) -> None:
    """Replace a checkpoint's training state by one whose progress unpickles into MarkerPayload."""
    torch.save({"optimizer": {}, "scaler": {}, "progress": MarkerPayload(marker), "rng": []},
               checkpoint / ckpt.STATE_FILE)


def test_the_payload_runs_when_unpickled_without_weights_only(tmp_path: Path) -> None:
    """Control: the payload used below is live, so its marker staying absent means something."""
    marker = tmp_path / "control-marker"
    torch.save({"progress": MarkerPayload(marker)}, tmp_path / "payload.pt")
    torch.load(tmp_path / "payload.pt", weights_only=False)
    assert marker.exists()


def test_a_checkpoint_holding_a_malicious_pickle_is_refused(tmp_path: Path) -> None:
    checkpoint = write_tiny_checkpoint(tmp_path / "run", step=2)
    assert ckpt.load_checkpoint(checkpoint).progress.step == 2
    marker = tmp_path / "marker"
    _poison_state(checkpoint, marker)
    with pytest.raises(ckpt.CheckpointError, match=r"refused .*training_state\.pt: it holds objects other "
                                                    r"than tensors and plain values \((?:builtins|io)\.open\).*weights_only=True"):
        ckpt.load_checkpoint(checkpoint)
    assert not marker.exists()


def test_a_checkpoint_state_of_the_wrong_shape_is_refused(tmp_path: Path) -> None:
    checkpoint = write_tiny_checkpoint(tmp_path / "run", step=2)
    torch.save([1, 2, 3], checkpoint / ckpt.STATE_FILE)
    with pytest.raises(ckpt.CheckpointError, match="is not a training state"):
        ckpt.load_checkpoint(checkpoint)
    torch.save({"optimizer": {}, "scaler": {}, "progress": {"step": 7}, "rng": []}, checkpoint / ckpt.STATE_FILE)
    with pytest.raises(ckpt.CheckpointError, match="says step 2, training_state.pt says step 7"):
        ckpt.load_checkpoint(checkpoint)


def test_sori_train_resume_refuses_a_malicious_checkpoint(
    tiny_run: Path, prepared_features: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = Path(shutil.copytree(tiny_run, tmp_path / "run"))
    marker = tmp_path / "marker"
    _poison_state(ckpt.resolve_checkpoint(run_dir, "last"), marker)
    assert main(["train", "--features", str(prepared_features), "--run-dir", str(run_dir), "--resume"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("sori train: refused ") and "step_00000004/training_state.pt" in error
    assert not marker.exists()


@pytest.mark.parametrize("name", ["model.pt", "model.bin", "pytorch_model.ckpt"])
def test_a_voice_holding_only_a_pickle_is_refused(name: str, tmp_path: Path, test_voice_dir: Path) -> None:
    voice = Path(shutil.copytree(test_voice_dir, tmp_path / "voice"))
    state = dict(load_voice(voice)[1].state_dict())
    (voice / WEIGHTS_FILE).unlink()
    marker = tmp_path / "marker"
    torch.save({**state, "payload": MarkerPayload(marker)}, voice / name)
    with pytest.raises(VoiceError, match=rf"no model\.safetensors \(refusing {name}: voices load from "
                                         r"safetensors only, since a pickle can run code"):
        load_voice(voice)
    assert not marker.exists()


def test_a_pickle_named_like_safetensors_is_refused(tmp_path: Path, test_voice_dir: Path) -> None:
    voice = Path(shutil.copytree(test_voice_dir, tmp_path / "voice"))
    marker = tmp_path / "marker"
    torch.save({"payload": MarkerPayload(marker)}, voice / WEIGHTS_FILE)
    with pytest.raises(VoiceError, match="is not a readable safetensors file"):
        load_voice(voice)
    assert not marker.exists()


# --- static guard --------------------------------------------------------------------------

def _unsafe_loads(source: str, filename: str) -> tuple[list[str], int]:
    """Unsafe deserialisation in one module, and how many torch.load calls it makes.

    Flags: torch.load without a literal weights_only=True, `from torch import load`, any use of a
    pickle-family module other than its exception classes, and numpy loads that allow pickles.
    """
    tree = ast.parse(source, filename)
    modules: dict[str, str] = {}  # local name -> module it stands for
    problems, torch_loads = [], 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                modules[(alias.asname or alias.name).split(".")[0]] = alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module:
            top = node.module.split(".")[0]
            for alias in node.names:
                if (top in UNPICKLERS and alias.name not in PICKLE_EXCEPTIONS) or (
                        node.module == "torch" and alias.name == "load"):
                    problems.append(f"{filename}:{node.lineno}: from {node.module} import {alias.name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            module = modules.get(node.value.id)
            if module in UNPICKLERS and node.attr not in PICKLE_EXCEPTIONS:
                problems.append(f"{filename}:{node.lineno}: {node.value.id}.{node.attr}")
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        func, keywords = node.func, {k.arg: k.value for k in node.keywords}
        owner = modules.get(func.value.id) if isinstance(func.value, ast.Name) else None
        if owner == "torch" and func.attr == "load":
            torch_loads += 1
            safe = keywords.get("weights_only")
            if not (isinstance(safe, ast.Constant) and safe.value is True):
                problems.append(f"{filename}:{node.lineno}: torch.load without weights_only=True")
        if owner == "numpy" and func.attr == "load":
            allowed = keywords.get("allow_pickle")
            if not (isinstance(allowed, ast.Constant) and allowed.value is False):
                problems.append(f"{filename}:{node.lineno}: numpy.load without allow_pickle=False")
    return problems, torch_loads


def test_the_guard_catches_unsafe_loading() -> None:
    """The scanner flags each unsafe form (so the scan below can fail) and passes the safe ones."""
    unsafe = {
        "import torch\ntorch.load(path)": 1,
        "import torch as t\nt.load(path, weights_only=False)": 1,
        "from torch import load": 1,
        "import pickle\npickle.loads(data)": 1,
        "import pickle as p\np.Unpickler(stream).load()": 1,
        "from pickle import load": 1,
        "import dill\ndill.load(stream)": 1,
        "import numpy as np\nnp.load(path, allow_pickle=True)": 1,
    }
    for source, count in unsafe.items():
        assert len(_unsafe_loads(source, "<snippet>")[0]) == count, source
    safe = "import pickle\nimport torch\ntry:\n    torch.load(p, weights_only=True)\nexcept pickle.UnpicklingError:\n    pass"
    assert _unsafe_loads(safe, "<snippet>") == ([], 1)


def test_no_module_loads_pickles() -> None:
    """Every torch.load in tts, sori, server and assistant passes weights_only=True; nothing else
    unpickles (pickle may be imported only for its exception classes)."""
    problems, torch_loads, scanned = [], 0, 0
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            found, loads = _unsafe_loads(path.read_text(encoding="utf-8"), str(path.relative_to(REPO)))
            problems += found
            torch_loads += loads
            scanned += 1
    assert scanned > 50
    assert torch_loads >= 1  # the checkpoint loader: the scan sees the calls it checks
    allowed = [problem for problem in problems if problem.startswith(f"{PIPE_TO_OWN_CHILD}:")]
    assert sorted(problem.rsplit(": ", 1)[1] for problem in allowed) == ["pickle.dumps", "pickle.loads"]
    assert [problem for problem in problems if problem not in allowed] == []
