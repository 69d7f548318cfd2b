"""The pinned requirements a milestone needs on a GPU machine, for `pip download`.

    python benchmarks/wheel_pins.py grpcio fastapi ...   →   aiohttp==3.13.2 fastapi==0.121.0 ...

Starting from the named distributions, follows their requirements (extras and old-Python
markers left out) and prints every one installed here with its version. torch and the
NVIDIA libraries are never listed: the GPU machine has its own CUDA build; numpy and
setuptools come with it; antlr4 has no wheel and is built separately.
"""

from __future__ import annotations

import importlib.metadata as metadata
import re
import sys

SKIP = {"torch", "antlr4-python3-runtime", "setuptools", "numpy"}


def pins(roots: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    todo = list(roots)
    while todo:
        name = re.split(r"[ <>=!;\[~(]", todo.pop(), maxsplit=1)[0].lower().replace("_", "-")
        if name in seen or name in SKIP or name.startswith("nvidia-"):
            continue
        try:
            seen[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
        for requirement in metadata.requires(name) or []:
            if "extra ==" not in requirement and 'python_version < "3.1' not in requirement:
                todo.append(requirement)
    return [f"{name}=={version}" for name, version in sorted(seen.items())]


if __name__ == "__main__":
    print(" ".join(pins(sys.argv[1:])))
