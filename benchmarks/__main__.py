"""Run every ``benchmarks/bench_*.py`` (or those named) and write JSON + a Markdown table.

Each module exposes ``run() -> list[dict]``; rows are written to
``benchmarks/results/<name>.json`` and ``benchmarks/results/<name>.md`` together
with the machine they were measured on.

    python -m benchmarks             # all
    python -m benchmarks logreg      # only bench_logreg.py
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


# The instruction sets that decide which kernels numpy, oneDNN and ONNX Runtime pick
SIMD = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8", "neon")


def cpu() -> tuple[str, list[str]]:
    """The CPU's model name and which of :data:`SIMD` it has (from /proc/cpuinfo on Linux)."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model in ("", platform.machine()):
                model = value.strip()
            elif key.strip() in ("flags", "Features"):
                flags |= set(value.split())
    except OSError:
        pass
    return model, [f for f in SIMD if f in flags]


def machine() -> dict[str, Any]:
    model, features = cpu()
    return {
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "cpu_features": features,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def markdown(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "(no rows)\n"
    columns = list(dict.fromkeys(key for row in rows for key in row))

    def cell(value: Any) -> str:
        return f"{value:.4g}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def main(names: list[str]) -> int:
    sys.path.insert(0, str(HERE.parent))
    modules = sorted(p.stem for p in HERE.glob("bench_*.py"))
    if names:
        modules = [m for m in modules if m.removeprefix("bench_") in names]
    RESULTS.mkdir(exist_ok=True)
    for name in modules:
        started = time.perf_counter()
        rows = importlib.import_module(f"benchmarks.{name}").run()
        took = time.perf_counter() - started
        short = name.removeprefix("bench_")
        payload = {
            "benchmark": short,
            "machine": machine(),
            "seconds": round(took, 1),
            "rows": rows,
        }
        (RESULTS / f"{short}.json").write_text(json.dumps(payload, indent=2) + "\n")
        header = (
            f"# {short}\n\nMeasured {payload['machine']['date']} on {os.cpu_count()} cores of "
            f"{payload['machine']['cpu_model']} "
            f"({', '.join(payload['machine']['cpu_features']) or 'no AVX2, AVX-512 or AMX'}).\n\n"
        )
        (RESULTS / f"{short}.md").write_text(header + markdown(rows))
        print(f"{short}: {len(rows)} rows in {took:.1f} s → {RESULTS / (short + '.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
