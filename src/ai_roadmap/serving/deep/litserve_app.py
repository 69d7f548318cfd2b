"""The same model served by LitServe, what a user might pick instead of writing a batcher.

``python -m ai_roadmap.serving.deep.litserve_app --folder MODEL --port P`` serves
``POST /predict`` with the body of our REST route (``{"pixels": [...]}``) through
LitServe's own batching (``max_batch_size``, ``batch_timeout``) and the same eager
runtime, so the comparison is between the two serving layers, not two models.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import litserve as ls
import numpy as np


class ImageAPI(ls.LitAPI):  # type: ignore[misc]
    """Our eager runtime behind LitServe's decode → batch → predict → unbatch → encode."""

    def __init__(self, folder: Path, threads: int, max_batch_size: int, batch_timeout_s: float):
        super().__init__(max_batch_size=max_batch_size, batch_timeout=batch_timeout_s)
        self.folder, self.threads = folder, threads

    def setup(self, device: str) -> None:
        import torch

        from ai_roadmap.serving.deep.runtime import ImageRuntime, load_folder

        torch.set_num_threads(self.threads)
        info, module = load_folder(self.folder, self.folder.name, "1", "litserve")
        self.shape = info.shape
        self.runtime = ImageRuntime(info, module, "eager", self.threads)

    def decode_request(self, request):  # type: ignore[no-untyped-def]  # LitServe reads the hint
        """The parsed JSON body (LitServe treats an annotated parameter as a query field)."""
        from ai_roadmap.serving.deep.server import pixels_array

        return pixels_array(request["pixels"], self.shape)

    def batch(self, inputs: list[np.ndarray]) -> np.ndarray:
        return np.stack(inputs)

    def predict(self, x: np.ndarray) -> np.ndarray:
        single = x.ndim == 3
        out = self.runtime.predict(x[None] if single else x)
        return out[0] if single else out

    def unbatch(self, output: np.ndarray) -> list[np.ndarray]:
        return list(output)

    def encode_response(self, output: np.ndarray) -> dict[str, Any]:
        return {"probabilities": [float(p) for p in output]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve an image model folder with LitServe.")
    parser.add_argument("--folder", required=True, type=Path)
    parser.add_argument("--port", required=True, type=int)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-batch-size", type=int, default=32)
    parser.add_argument("--batch-timeout-s", type=float, default=0.005)
    args = parser.parse_args(argv)
    api = ImageAPI(args.folder, args.threads, args.max_batch_size, args.batch_timeout_s)
    server = ls.LitServer(api, accelerator="cpu", workers_per_device=1, timeout=30)
    server.run(host="127.0.0.1", port=args.port, generate_client_file=False, log_level="warning")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
