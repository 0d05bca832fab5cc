"""Several processes, one run: ``torchrun --nproc_per_node N -m facecodec train ...``.

Nothing to change in a command: when ``torchrun`` sets ``WORLD_SIZE`` > 1 the
trainers join a process group (NCCL on CUDA, Gloo on the CPU), each process
takes its share of every batch (``idx[rank::world]``, so the global batch size
and the learning-rate schedule are those of a single-process run) and the
gradients are averaged across processes before each optimiser step (one
flattened all-reduce per step, the data-parallel scheme of torch DDP). Only
rank 0 validates, logs and writes checkpoints.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors


@dataclass(frozen=True)
class World:
    """This process's place in the run."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def shard(self, idx: np.ndarray) -> np.ndarray:
        """This process's part of a global batch of indices."""
        return idx if self.size == 1 else idx[self.rank :: self.size]


def join(device: torch.device) -> tuple[World, torch.device]:
    """Join the process group when launched by torchrun; returns the world and this rank's device."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return World(), device
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return World(rank, size, local), device


def average_gradients(params: list[torch.nn.Parameter], world: World) -> None:
    """All-reduce (mean) the gradients of ``params`` across the processes of ``world``."""
    if world.size == 1:
        return
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = _flatten_dense_tensors(grads)
    dist.all_reduce(flat)
    flat /= world.size
    for p, g in zip(params, _unflatten_dense_tensors(flat, grads)):
        if p.grad is None:
            p.grad = g
        else:
            p.grad.copy_(g)


def barrier(world: World) -> None:
    if world.size > 1:
        dist.barrier()
