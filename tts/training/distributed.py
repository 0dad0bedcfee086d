"""torchrun / DDP plumbing: one process per device, rank 0 logs, evaluates and writes checkpoints.

`setup_distributed` reads torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE)
when it is called, never at import. A single plain process is a world of one, and every helper here
is then a cheap no-op, so the training loop has one code path.
"""

from __future__ import annotations

import datetime
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

logger = logging.getLogger(__name__)


class DistributedError(RuntimeError):
    """The torchrun environment is inconsistent or the requested device is missing."""


@dataclass(frozen=True)
class DistributedContext:
    """Where this process stands in the job."""

    rank: int
    local_rank: int
    world_size: int
    local_world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that logs, evaluates and writes files."""
        return self.rank == 0

    @property
    def is_distributed(self) -> bool:
        """More than one process takes part."""
        return self.world_size > 1


def _env_int(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise DistributedError(f"environment variable {name}={value!r} is not an integer") from None


def setup_distributed(device: str = "auto", env: Mapping[str, str] | None = None) -> DistributedContext:
    """Join the torchrun process group when WORLD_SIZE > 1 (nccl on GPUs, gloo on CPUs)."""
    env = os.environ if env is None else env
    world_size = _env_int(env, "WORLD_SIZE", 1)
    rank = _env_int(env, "RANK", 0)
    local_rank = _env_int(env, "LOCAL_RANK", 0)
    local_world_size = _env_int(env, "LOCAL_WORLD_SIZE", world_size)
    if not 0 <= rank < world_size:
        raise DistributedError(f"RANK {rank} is outside WORLD_SIZE {world_size}")
    use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    if use_cuda:
        if not torch.cuda.is_available():
            raise DistributedError("device 'cuda' was requested but no CUDA GPU is available")
        if local_rank >= torch.cuda.device_count():
            raise DistributedError(
                f"LOCAL_RANK {local_rank} has no GPU: only {torch.cuda.device_count()} visible"
            )
        resolved = torch.device("cuda", local_rank)
        torch.cuda.set_device(resolved)
    else:
        resolved = torch.device("cpu")
    if world_size > 1 and not dist.is_initialized():
        backend = "nccl" if use_cuda else "gloo"
        dist.init_process_group(backend, rank=rank, world_size=world_size,
                                timeout=datetime.timedelta(minutes=30),
                                device_id=resolved if use_cuda else None)
        logger.info("rank %d of %d joined the %s process group on %s", rank, world_size, backend, resolved)
    return DistributedContext(rank, local_rank, world_size, local_world_size, resolved)


def teardown(context: DistributedContext) -> None:
    """Leave the process group (if this process joined one)."""
    if context.is_distributed and dist.is_initialized():
        dist.destroy_process_group()


def wrap_model(model: nn.Module, context: DistributedContext) -> nn.Module:
    """DDP around the model in a multi-process job; the model itself otherwise."""
    if not context.is_distributed:
        return model
    from torch.nn.parallel import DistributedDataParallel

    device_ids = [context.device.index] if context.device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids)


def all_reduce_mean(tensor: torch.Tensor, context: DistributedContext) -> torch.Tensor:
    """The element-wise mean of `tensor` over all processes (a copy; the input is untouched)."""
    result = tensor.detach().clone()
    if context.is_distributed:
        dist.all_reduce(result, op=dist.ReduceOp.SUM)
        result /= context.world_size
    return result


def all_gather_objects(value: Any, context: DistributedContext) -> list[Any]:
    """Every process's `value`, in rank order (collective: all ranks must call it)."""
    if not context.is_distributed:
        return [value]
    gathered: list[Any] = [None] * context.world_size
    dist.all_gather_object(gathered, value)
    return gathered


def barrier(context: DistributedContext) -> None:
    """Wait until every process arrives."""
    if context.is_distributed:
        dist.barrier()
