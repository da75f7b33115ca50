"""Data-parallel training on ``torch.distributed``: a batch split across processes.

Launch with PyTorch's own launcher, e.g. ``torchrun --standalone --nproc_per_node=2 -m
neuralsde.fit ...``; the CLI finds torchrun's environment (``RANK``, ``WORLD_SIZE``), initialises
the process group (gloo on CPU, nccl on CUDA) and gives each process a contiguous block of the
batch as a :class:`Shard`: of the sample paths for the "start" objective, of whole windows (each
its ``samples`` paths, :meth:`Shard.repeat`) for the "windows" objective.

How a split run stays equal to a single-process run with the same seed and batch:

* noise: every process draws the Brownian increments of *all* paths from the seed (one tensor
  draw for a fixed grid; a ``BrownianInterval`` of the global shape when adaptive) and keeps its
  own rows, so the noise of a path depends only on the seed and the path's global index;
* adaptive steps: the error norm is all-reduced, so every process takes the same step sequence,
  the one a single process would take over the whole batch;
* loss: the predictions of all processes are all-gathered (without autograd) and every process
  evaluates the same loss on the whole batch; gradients reach only its own paths, and the
  parameter gradients are summed across processes with one all-reduce: the sum is the gradient
  of the single-process loss. The windows objective's loss is a sum over windows (each window is
  scored on its own samples), so it gathers each window's share of the loss instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


def split(total: int, rank: int, world: int) -> tuple[int, int]:
    """``(start, size)`` of rank ``rank``'s contiguous block of ``total`` paths; the first
    ``total % world`` ranks get one path more."""
    if world < 1 or not 0 <= rank < world:
        raise ValueError(f"rank={rank} and world={world} are not supported; expected "
                         "0 <= rank < world.")
    if total < world:
        raise ValueError(f"{total} sample paths cannot be split across {world} processes; "
                         f"expected at least one path per process (--paths >= {world}).")
    base, extra = divmod(total, world)
    start = rank * base + min(rank, extra)
    return start, base + (1 if rank < extra else 0)


@dataclass(frozen=True)
class Shard:
    """This process's block ``[start, start + size)`` of ``total`` sample paths."""

    start: int
    size: int
    total: int

    @property
    def world(self) -> int:
        return dist.get_world_size() if dist.is_initialized() else 1

    def repeat(self, times: int) -> Shard:
        """The block of rows when each of the ``total`` items is ``times`` consecutive rows
        (a window's ``times`` sample paths): for solving and :meth:`take`; gather with the
        shard of the items, whose blocks are those of :func:`split`."""
        return Shard(self.start * times, self.size * times, self.total * times)

    def take(self, x: torch.Tensor, dim: int) -> torch.Tensor:
        """This process's rows of a tensor that holds all paths along ``dim``."""
        return x.narrow(dim, self.start, self.size)

    def mean_square(self, x: torch.Tensor) -> torch.Tensor:
        """Mean of ``x**2`` over the entries of all processes (``x`` holds this process's paths
        along its first dimension); NaN anywhere gives NaN everywhere."""
        local = torch.stack([x.square().sum(), torch.tensor(float(x.numel()), dtype=x.dtype,
                                                            device=x.device)])
        if dist.is_initialized():
            dist.all_reduce(local)
        return local[0] / local[1]

    def gather(self, x: torch.Tensor, dim: int) -> torch.Tensor:
        """All processes' ``x`` joined along ``dim`` in path order; only this process's part
        carries gradients."""
        if not dist.is_initialized():
            return x
        world, rank = dist.get_world_size(), dist.get_rank()
        if split(self.total, rank, world) != (self.start, self.size):
            raise ValueError(f"gather needs the block of split({self.total}, {rank}, {world}) = "
                             f"{split(self.total, rank, world)}; this shard holds "
                             f"({self.start}, {self.size}).")
        sizes = [split(self.total, r, world)[1] for r in range(world)]
        width = max(sizes)  # gloo gathers equal shapes only: pad, gather, trim
        local = x.detach()
        if local.shape[dim] < width:
            pad_shape = list(local.shape)
            pad_shape[dim] = width - local.shape[dim]
            local = torch.cat([local, local.new_zeros(pad_shape)], dim=dim)
        parts = [torch.empty_like(local) for _ in range(world)]
        dist.all_gather(parts, local.contiguous())
        parts = [part.narrow(dim, 0, size) for part, size in zip(parts, sizes)]
        parts[rank] = x
        return torch.cat(parts, dim=dim)

    def any(self, flag: bool, device=None) -> bool:
        """True on every process if ``flag`` is True on any."""
        if not dist.is_initialized():
            return flag
        value = torch.tensor([1.0 if flag else 0.0], device=device)
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item() > 0)

    def sum_gradients(self, params) -> None:
        """Sum the parameters' gradients over all processes, in place (one all-reduce)."""
        if not dist.is_initialized():
            return
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        offset = 0
        for p, g in zip(params, grads):
            n = g.numel()
            p.grad = flat[offset:offset + n].view_as(p).clone()
            offset += n


def launched() -> bool:
    """Whether this process was started by torchrun (or another launcher setting WORLD_SIZE)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init(device: torch.device) -> tuple[int, int]:
    """Initialise the default process group from torchrun's environment; ``(rank, world)``."""
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend=backend)
    return dist.get_rank(), dist.get_world_size()


def finish() -> None:
    """Wait for every process at the end of a run that went well, so that all tear down together:
    a process that leaves while another still writes its files can take the gloo connections
    down under it (a C++ abort at exit). A process that failed skips this; torchrun then stops
    the others."""
    if dist.is_initialized():
        dist.barrier()


def shutdown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()
