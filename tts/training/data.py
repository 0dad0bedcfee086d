"""Training data: a dataset over prepared features, a length-bucketed batch sampler, and collation.

The sampler is a pure function of (seed, epoch, rank, world size): every process of a torchrun job
derives the same global batch order and takes its own share, and a resumed run skips exactly the
batches it had consumed. Batches are padded to a multiple of r frames.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from tts.training.features import ManifestEntry, read_features, read_manifest


class Example(NamedTuple):
    """One utterance as tensors."""

    id: str
    ids: torch.Tensor  # [T_text] int64
    mel: torch.Tensor  # [T_frames, n_mels] float32
    linear: torch.Tensor  # [T_frames, n_freq] float32


class Batch(NamedTuple):
    """A padded batch; T_frames is a multiple of r."""

    utterance_ids: tuple[str, ...]
    ids: torch.Tensor  # [B, T_text] int64, padded with pad_id
    text_lengths: torch.Tensor  # [B]
    mels: torch.Tensor  # [B, T_frames, n_mels], zero (silence) padding
    linears: torch.Tensor  # [B, T_frames, n_freq]
    frame_lengths: torch.Tensor  # [B]

    def to(self, device: torch.device) -> Batch:
        """The same batch on `device` (non-blocking from pinned memory)."""
        return Batch(self.utterance_ids, *(t.to(device, non_blocking=True) for t in self[1:]))

    @property
    def frames(self) -> int:
        """Real (unpadded) frames in the batch."""
        return int(self.frame_lengths.sum())


class FeatureDataset(Dataset[Example]):
    """The utterances of one split of a features directory, loaded from disk on access."""

    def __init__(self, root: Path, split: str) -> None:
        self.root = Path(root)
        self.entries: list[ManifestEntry] = read_manifest(self.root, split)

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def lengths(self) -> list[int]:
        """Frames of each utterance (what the bucketing sorts by)."""
        return [entry.n_frames for entry in self.entries]

    def __getitem__(self, index: int) -> Example:
        entry = self.entries[index]
        features = read_features(self.root, entry.id)
        return Example(
            entry.id,
            torch.from_numpy(features.ids.astype(np.int64)),
            torch.from_numpy(features.mel.astype(np.float32)),
            torch.from_numpy(features.linear.astype(np.float32)),
        )


class Collate:
    """Pads examples into a Batch; T_frames rounded up to a multiple of r (picklable for workers)."""

    def __init__(self, reduction_factor: int, pad_id: int) -> None:
        self.reduction_factor = reduction_factor
        self.pad_id = pad_id

    def __call__(self, examples: Sequence[Example]) -> Batch:
        r = self.reduction_factor
        text_lengths = torch.tensor([len(e.ids) for e in examples])
        frame_lengths = torch.tensor([e.mel.size(0) for e in examples])
        total_frames = -(-int(frame_lengths.max()) // r) * r
        n_mels, n_freq = examples[0].mel.size(1), examples[0].linear.size(1)
        ids = torch.full((len(examples), int(text_lengths.max())), self.pad_id, dtype=torch.long)
        mels = torch.zeros(len(examples), total_frames, n_mels)
        linears = torch.zeros(len(examples), total_frames, n_freq)
        for row, example in enumerate(examples):
            ids[row, : len(example.ids)] = example.ids
            mels[row, : example.mel.size(0)] = example.mel
            linears[row, : example.linear.size(0)] = example.linear
        return Batch(tuple(e.id for e in examples), ids, text_lengths, mels, linears, frame_lengths)


def bucketed_batches(
    lengths: Sequence[int], batch_size: int, bucket_batches: int, seed: int, epoch: int
) -> list[list[int]]:
    """The global batch order of one epoch: shuffle, sort within buckets by length, cut, shuffle.

    Deterministic in (lengths, batch_size, bucket_batches, seed, epoch).
    """
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(lengths))
    bucket = batch_size * bucket_batches
    batches: list[list[int]] = []
    for start in range(0, len(order), bucket):
        members = sorted(order[start : start + bucket].tolist(), key=lambda i: -lengths[i])
        batches += [members[i : i + batch_size] for i in range(0, len(members), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches)).tolist()]


class BucketBatchSampler(Sampler[list[int]]):
    """Yields this rank's batches of an epoch from a given position (set before each iteration)."""

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        bucket_batches: int,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if len(lengths) < world_size:
            raise ValueError(f"{len(lengths)} utterances cannot feed {world_size} processes")
        self.lengths = list(lengths)
        self.batch_size = batch_size
        self.bucket_batches = bucket_batches
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0
        self.start = 0

    def epoch_batches(self, epoch: int) -> list[list[int]]:
        """This rank's batches of `epoch`; every rank gets the same count (the remainder is dropped)."""
        batches = bucketed_batches(self.lengths, self.batch_size, self.bucket_batches, self.seed, epoch)
        usable = len(batches) - len(batches) % self.world_size
        return batches[self.rank : usable : self.world_size]

    def set_position(self, epoch: int, start: int) -> None:
        """Iterate `epoch` from its `start`-th batch next time."""
        self.epoch, self.start = epoch, start

    def __len__(self) -> int:
        return len(self.epoch_batches(self.epoch)) - self.start

    def __iter__(self) -> Iterator[list[int]]:
        yield from self.epoch_batches(self.epoch)[self.start :]
