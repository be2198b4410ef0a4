"""One process or many: process-group setup, DDP / FSDP2 wrapping, reductions, launching.

``polyalign train`` runs unchanged under ``torchrun``: when ``WORLD_SIZE`` > 1 each process
joins the group (NCCL on CUDA, gloo on CPU), takes its share of every optimizer step, and the
model is wrapped in DistributedDataParallel or sharded with FSDP2 (``fully_shard``, one unit
per decoder layer plus the root). ``polyalign train --nproc N`` starts ``torchrun`` for you.

Multi-node works through torchrun's rendezvous (see the README): nothing here assumes one host
except that checkpoints are written by rank 0 and read by every rank, so ``output_dir`` must be
on storage every node sees.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Dist:
    """Where this process stands: its rank among ``world`` processes and its device."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup() -> Dist:
    """Join the process group when started by torchrun; pick this process's device.

    A CUDA device is used when one is visible (``CUDA_VISIBLE_DEVICES=""`` forces CPU).
    """
    use_cuda = torch.cuda.is_available()
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(device)
    if world == 1:
        return Dist(device=device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return Dist(dist.get_rank(), dist.get_world_size(), local_rank, device)


def teardown(d: Dist) -> None:
    if d.world > 1 and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def barrier(d: Dist) -> None:
    if d.world > 1:
        dist.barrier()


def all_reduce_sum(values: Sequence[float], d: Dist) -> list[float]:
    """Element-wise sum of ``values`` over every process (float64, exact for token counts)."""
    if d.world == 1:
        return [float(v) for v in values]
    t = torch.tensor(list(values), dtype=torch.float64, device=d.device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.tolist()


def gather_objects(obj: Any, d: Dist) -> list[Any]:
    """``obj`` of every process, in rank order (on every process)."""
    if d.world == 1:
        return [obj]
    out: list[Any] = [None] * d.world
    dist.all_gather_object(out, obj)
    return out


def wrap(
    net: torch.nn.Module, layers: Sequence[torch.nn.Module], strategy: Literal["ddp", "fsdp"], d: Dist
) -> torch.nn.Module:
    """``net`` ready for data-parallel training: unchanged alone, DDP, or FSDP2-sharded.

    With FSDP2 every decoder layer in ``layers`` is its own unit (its parameters gathered just
    for its forward and backward), and the rest (embeddings, final norm, head) the root unit.
    """
    if d.world == 1:
        return net
    if strategy == "ddp":
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(net, device_ids=[d.device.index] if d.device.type == "cuda" else None)
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard

    mesh = init_device_mesh(d.device.type, (d.world,))
    for layer in layers:
        fully_shard(layer, mesh=mesh)
    fully_shard(net, mesh=mesh)
    return net


@contextlib.contextmanager
def gradient_sync(net: torch.nn.Module, sync: bool) -> Iterator[None]:
    """Skip the gradient all-reduce for micro-batches before the last one of a step."""
    if sync:
        yield
    elif hasattr(net, "no_sync"):  # DDP
        with net.no_sync():
            yield
    elif hasattr(net, "set_requires_gradient_sync"):  # FSDP2
        net.set_requires_gradient_sync(False)
        try:
            yield
        finally:
            net.set_requires_gradient_sync(True)
    else:
        yield


# torchrun, less its own noise. Rank 0 prints what the user reads (progress, `error: ...`, `interrupted; ...`);
# the other ranks' stderr goes to files (argv[1]), shown only when one of them failed for a reason of its own
# (not bad input, 2, or a stop, 130, which rank 0 reports too). torchrun's warnings ("Received 15 death
# signal"), its SignalException traceback and its ChildFailedError banner go; its exit status is the failed
# worker's own (2 for bad input, not 1), 130 when it was stopped.
_TORCHRUN = """
import glob, logging, os, sys
from torch.distributed.elastic.multiprocessing.api import SignalException
from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
from torch.distributed.run import parse_args, run

for name in list(logging.root.manager.loggerDict):
    if name.startswith("torch.distributed"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
logs = sys.argv[1]
try:
    run(parse_args(sys.argv[2:]))
except ChildFailedError as e:
    for f in e.failures.values():
        if f.local_rank > 0 and f.exitcode not in (2, 130, -2, -15):
            for path in glob.glob(os.path.join(logs, "*", "attempt_*", str(f.local_rank), "stderr.log")):
                with open(path, encoding="utf-8", errors="replace") as log:
                    sys.stderr.write("".join(log.readlines()[-40:]))
    codes = [f.exitcode for f in e.failures.values()]
    sys.exit(next((c for c in codes if c > 0), 1))
except (SignalException, KeyboardInterrupt):
    sys.exit(130)
"""


def launch(nproc: int, argv: Sequence[str]) -> int:
    """Run ``polyalign <argv>`` in ``nproc`` processes on this host under torchrun.

    torchrun's own rendezvous (``--standalone``) picks a free port; for several hosts, run
    ``torchrun`` yourself (README, "Many GPUs and many nodes").
    """
    logs = tempfile.mkdtemp(prefix="polyalign-torchrun-")
    cmd = [
        sys.executable,
        "-c",
        _TORCHRUN,
        logs,
        "--standalone",
        f"--nproc_per_node={nproc}",
        f"--log-dir={logs}",
        *([f"--redirects={','.join(f'{r}:2' for r in range(1, nproc))}"] if nproc > 1 else []),
        "-m",
        "polyalign",
        *argv,
    ]
    env = dict(os.environ)
    if not torch.cuda.is_available():
        # one thread per process on a CPU box, as torchrun would, without its warning
        env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    proc = subprocess.Popen(cmd, env=env)
    try:
        return proc.wait()
    except KeyboardInterrupt:  # Ctrl-C reached the whole group; a SIGTERM to this process only reached it
        proc.send_signal(signal.SIGTERM)  # torchrun stops its workers and ends (subprocess.run would SIGKILL it,
        try:  # leaving the workers behind)
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        raise
    finally:
        shutil.rmtree(logs, ignore_errors=True)
