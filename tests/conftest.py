"""Shared fixtures. Append new fixtures; do not rewrite others'."""

from __future__ import annotations

import pytest

from tts.model import TacotronConfig


def tiny_tacotron_config(n_symbols: int = 20, reduction_factor: int = 2, **overrides: object) -> TacotronConfig:
    """A Tacotron small enough to train in seconds on a CPU (same architecture, narrow layers)."""
    values: dict[str, object] = dict(
        n_symbols=n_symbols, n_mels=16, n_freq=33, reduction_factor=reduction_factor,
        embedding_dim=32, encoder_prenet_dims=(32, 16), decoder_prenet_dims=(32, 16),
        encoder_bank_size=4, encoder_channels=16, encoder_highway_layers=2, encoder_gru_dim=16,
        attention_rnn_dim=32, attention_dim=16, location_filters=8, location_kernel_size=7,
        decoder_rnn_dim=32, postnet_bank_size=3, postnet_channels=16, postnet_projection_dim=32,
        postnet_highway_layers=1, postnet_gru_dim=16, max_decoder_steps=200,
    )
    values.update(overrides)
    return TacotronConfig(**values)  # type: ignore[arg-type]


@pytest.fixture
def tiny_config() -> TacotronConfig:
    """A tiny Tacotron configuration with r = 2."""
    return tiny_tacotron_config()


@pytest.fixture(scope="session")
def test_voice_dir(tmp_path_factory: pytest.TempPathFactory):
    """A tiny random-weight voice directory shared by the session (see tests/voice_factory.py)."""
    from tests.voice_factory import make_test_voice

    return make_test_voice(tmp_path_factory.mktemp("voices") / "test-tiny")


@pytest.fixture(scope="session")
def bootstrap_corpus(tmp_path_factory: pytest.TempPathFactory):
    """A tiny KSS-layout corpus (24 clips spoken by espeak-ng at 44.1 kHz); read-only, copy to modify."""
    from tests.corpus_factory import make_corpus

    return make_corpus(tmp_path_factory.mktemp("bootstrap_corpus"))


@pytest.fixture(scope="session")
def prepared_features(bootstrap_corpus, tmp_path_factory: pytest.TempPathFactory):
    """`bootstrap_corpus` prepared with default settings and a larger validation share; read-only."""
    from tts.training.config import PrepareConfig
    from tts.training.prepare import prepare_corpus

    out = tmp_path_factory.mktemp("features")
    prepare_corpus(bootstrap_corpus, out, PrepareConfig(val_fraction=0.15, test_fraction=0.05), jobs=1)
    return out


def tiny_train_config(**overrides: object):
    """A TrainConfig that trains the tiny Tacotron in well under a second per step on one CPU thread."""
    from tts.model.config import TacotronHyperparameters
    from tts.training.config import DERIVED_MODEL_FIELDS, TrainConfig

    model = TacotronHyperparameters.from_dict({key: value for key, value in tiny_tacotron_config().to_dict().items()
                                               if key not in DERIVED_MODEL_FIELDS})
    values: dict[str, object] = dict(
        model=model, batch_size=4, bucket_batches=2, threads=1, max_steps=4, log_interval=1,
        eval_interval=2, checkpoint_interval=2, keep_last_k=2, eval_batches=1, eval_sentences=1,
        eval_griffin_lim_iters=2, warmup_steps=2, learning_rate=2e-3,
    )
    values.update(overrides)
    return TrainConfig(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def tiny_run(prepared_features, tmp_path_factory: pytest.TempPathFactory):
    """A finished 4-step tiny training run on `prepared_features` (read-only): its run directory."""
    from tts.training.loop import train

    run_dir = tmp_path_factory.mktemp("runs") / "tiny"
    train(prepared_features, run_dir, tiny_train_config())
    return run_dir


@pytest.fixture(scope="module")
def base_synthesizer(test_voice_dir):
    """The test voice loaded on the CPU, once per module (the server tests wrap it)."""
    from tts import Synthesizer

    return Synthesizer.load(test_voice_dir, device="cpu")


def tiny_encoded_batch(config: TacotronConfig, lengths: list[int], seed: int = 0, device: str = "cpu"):
    """A seeded eval-mode Tacotron and random texts of `lengths` through its encoder
    -> (model, memory [B, T_text, encoder_dim], text_mask [B, T_text]), for decoder tests."""
    import torch

    from tts.model import Tacotron
    from tts.model.layers import lengths_to_mask

    torch.manual_seed(seed)
    model = Tacotron(config).eval().to(device)
    ids = torch.zeros(len(lengths), max(lengths), dtype=torch.long)
    for row, length in enumerate(lengths):
        ids[row, :length] = torch.randint(1, config.n_symbols, (length,))
    text_lengths = torch.tensor(lengths, device=device)
    with torch.inference_mode():
        memory = model.encoder(ids.to(device), text_lengths)
    return model, memory, lengths_to_mask(text_lengths, ids.size(1))


@pytest.fixture(scope="session")
def postgres_cluster():
    """A throwaway PostgreSQL cluster on 127.0.0.1 for the session, removed afterwards (skips
    without Debian's postgresql package, fails instead under CI; see tests/postgres_support.py)."""
    from tests.postgres_support import create_cluster

    cluster = create_cluster()
    try:
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture
def postgres_url(postgres_cluster) -> str:
    """The URL of a new, empty database of its own for this test."""
    return postgres_cluster.new_database()


@pytest.fixture(scope="session")
def ray_address():
    """One local Ray cluster for the session (bulk synthesis and Ray Serve share it: Ray connects
    a process once), started the way the commands start one (127.0.0.1, no
    dashboard, token authentication with a token of its own); after the tests it is stopped and
    no process of it may be left."""
    import importlib.util
    import os
    import secrets
    import subprocess
    import time

    from tests.ray_cluster import (
        RAY_ENV,
        command_line,
        is_loopback,
        is_running,
        listening_addresses,
        ray_descendants,
    )

    if importlib.util.find_spec("ray") is None:  # not importorskip: Ray must not be imported yet
        pytest.skip('Ray is the "sori[ray]" extra, which `make install` installs')
    from tts.bulk.ray_data import ray_cluster

    saved = {key: os.environ.get(key) for key in RAY_ENV}
    os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
    cluster_pids: set[int] = set()
    try:
        with ray_cluster(None) as info:
            import ray

            assert info.started_here and info.cpus >= 1
            assert os.environ["RAY_AUTH_MODE"] == "token"
            address = ray.get_runtime_context().gcs_address
            assert address.startswith("127.0.0.1:")
            yield address
            cluster_pids = ray_descendants(os.getpid())
            assert cluster_pids, "the cluster's processes were not found"
            listening = listening_addresses(cluster_pids)
            assert listening and all(is_loopback(a) for a in listening), listening
            # The dashboard is off: Ray keeps only its minimal head, or with Serve installed a head
            # without its web UI (--disable-frontend), on the loopback address as checked above.
            heads = [command_line(pid).split("\0") for pid in cluster_pids if "dashboard.py" in command_line(pid)]
            assert all("--minimal" in head or "--disable-frontend" in head for head in heads), heads
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    deadline = time.monotonic() + 30
    while any(is_running(pid) for pid in cluster_pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [pid for pid in cluster_pids if is_running(pid)]
    listing = subprocess.run(["ps", "-o", "pid,args", "-p", ",".join(map(str, left))],
                             capture_output=True, text=True).stdout if left else ""
    assert not left, f"Ray processes left behind:\n{listing}"
