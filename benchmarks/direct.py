"""Run one milestone without the tracking store and print what it measured as JSON.

    python -m benchmarks.direct s3.resnet18 --scale full --out runs/r18 [overrides ...]

The same config composition, seeding and verdict as ``roadmap run``, but nothing is
written to MLflow and no model is registered: for a machine that has the accelerator
and not the whole toolchain (a lent GPU box without MLflow). The model folder and the
figures stay under ``--out``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any


def device_facts() -> dict[str, Any]:
    """Python, torch and the accelerator this run used."""
    facts: dict[str, Any] = {"python": platform.python_version(), "machine": platform.machine()}
    try:
        import torch
    except ImportError:
        return facts
    facts["torch"] = torch.__version__
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        facts["gpu"] = props.name
        facts["gpu_memory_gib"] = round(props.total_memory / 2**30, 1)
        facts["bf16"] = torch.cuda.is_bf16_supported()
    return facts


def main(argv: list[str] | None = None) -> int:
    from ai_roadmap.catalog import load_catalog
    from ai_roadmap.config import compose
    from ai_roadmap.runner import judge, seed_everything

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("item_id")
    parser.add_argument("--scale", default="quick")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_intermixed_args(argv)
    item = load_catalog().get(args.item_id)
    cfg = compose(args.item_id, args.scale, args.overrides)
    module = importlib.import_module(item.module or f"ai_roadmap.milestones.{item.id}")
    seed_everything(int(cfg.get("seed", 0)))
    args.out.mkdir(parents=True, exist_ok=True)
    cfg.output_dir = str(args.out)
    started = time.perf_counter()
    result = module.run(cfg)
    verdict = judge(item.target, result, args.scale)
    report = {
        "id": item.id,
        "scale": args.scale,
        "overrides": args.overrides,
        "duration_s": round(time.perf_counter() - started, 1),
        "metrics": {k: float(v) for k, v in result.metrics.items()},
        "target": None if item.target is None else item.target.describe(args.scale),
        "verdict": asdict(verdict),
        "dataset": result.dataset,
        "proxy": result.proxy,
        "notes": list(result.notes),
        "model": None if result.model_path is None else str(result.model_path),
        "device": device_facts(),
    }
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
