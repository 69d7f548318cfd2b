"""``torchrun … -m <milestone> --scale S --out DIR [overrides]``: one entry for every rank."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch.distributed as dist


def torchrun_main(item_id: str, run: Callable[[Any], Any], argv: list[str] | None = None) -> int:
    """``torchrun … -m <module> --scale S --out DIR [overrides]``: rank 0 prints the figures."""
    import argparse

    from ai_roadmap.config import compose

    parser = argparse.ArgumentParser(description=f"{item_id} under torchrun (or alone)")
    parser.add_argument("--scale", default="quick")
    parser.add_argument("--out", type=Path, default=Path("runs") / item_id)
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args(argv)
    cfg = compose(item_id, args.scale, args.overrides)
    cfg.output_dir = str(args.out)
    result = run(cfg)
    if not dist.is_initialized() or dist.get_rank() == 0:
        figures = {"dataset": result.dataset, **result.metrics}
        print(json.dumps(figures, indent=2, ensure_ascii=False))
    if dist.is_initialized():
        dist.destroy_process_group()
    return 0
