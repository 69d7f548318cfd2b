"""DDP through ``torchrun --nproc_per_node 2`` with gloo: the same steps as one process.

A tiny conv net without BatchNorm (whose batch statistics are per rank by design)
is trained with :func:`ai_roadmap.training.loop.fit` twice from the same weights on
the same data: by two torchrun ranks with half of every global batch each, and by
one plain process with the whole batch. DDP averages the ranks' gradients, so the
weights must agree to float32 rounding, and the ranks must hold identical copies.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.slow

SCRIPT = """
import os, sys
from pathlib import Path
import torch
from torch import nn
from ai_roadmap.datasets.images import ImageData
from ai_roadmap.training.loop import TrainOptions, fit

torch.set_num_threads(1)
out = Path(sys.argv[1])
g = torch.Generator().manual_seed(0)
images = torch.randint(0, 256, (96, 1, 8, 8), generator=g, dtype=torch.uint8)
labels = torch.randint(0, 3, (96,), generator=g)
data = ImageData(images, labels, images, labels, (0.5,), (0.29,), ("a", "b", "c"), "toy", True)
torch.manual_seed(0)
model = nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
    nn.Linear(32, 3),
)
options = TrainOptions(
    epochs=2, batch_size=16, lr=0.1, crop_padding=1, flip=True, label_smoothing=0.1,
    precision="fp32", compile="off", progress=False, seed=3,
)
local_sizes = set()


def loss_fn(logits, targets, inputs):
    local_sizes.add(len(targets))
    return nn.functional.cross_entropy(logits, targets, label_smoothing=0.1)


report = fit(model, data, options, loss_fn=loss_fn)
rank = int(os.environ.get("RANK", "0"))
tag = f"rank{rank}" if "WORLD_SIZE" in os.environ else "single"
state = report.model.state_dict()
saved = {"state": state, "world": report.world_size, "local": sorted(local_sizes)}
torch.save(saved, out / f"{tag}.pt")
if torch.distributed.is_initialized():
    torch.distributed.destroy_process_group()
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(cmd: list[str], tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"RANK", "WORLD_SIZE", "LOCAL_RANK"}}
    env["OMP_NUM_THREADS"] = "1"
    done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]


def test_two_gloo_ranks_match_one_process_on_the_global_batch(tmp_path: Path) -> None:
    script = tmp_path / "train_tiny.py"
    script.write_text(SCRIPT)
    torchrun = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nnodes=1",
        "--nproc_per_node=2",
        "--master_addr=127.0.0.1",
        f"--master_port={free_port()}",
    ]
    run([*torchrun, str(script), str(tmp_path)], tmp_path)
    run([sys.executable, str(script), str(tmp_path)], tmp_path)
    rank0, rank1, single = (
        torch.load(tmp_path / f"{name}.pt", weights_only=True)
        for name in ("rank0", "rank1", "single")
    )
    assert rank0["world"] == rank1["world"] == 2 and single["world"] == 1
    assert rank0["local"] == rank1["local"] == [8] and single["local"] == [16]  # half each
    torch.manual_seed(0)
    start = torch.nn.Conv2d(1, 8, 3, padding=1)  # the initial weights: training moved them
    assert not torch.allclose(start.weight, single["state"]["0.weight"], atol=1e-3)
    for key, value in single["state"].items():
        torch.testing.assert_close(rank0["state"][key], rank1["state"][key], atol=0, rtol=0)
        torch.testing.assert_close(rank0["state"][key], value, atol=1e-6, rtol=0)
