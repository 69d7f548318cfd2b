"""Scoring an image classifier: argmax predictions, flip test-time augmentation, DDP shards.

Test-time augmentation averages the logits of the image and its mirror image,
argmax_k [z_k(x) + z_k(flip(x))].
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.distributed as dist
from torch import nn

from ai_roadmap.training.hardware import input_format


@torch.no_grad()
def predict(
    model: nn.Module,
    images: torch.Tensor,
    *,
    normalise: Callable[[torch.Tensor], torch.Tensor] | None = None,
    tta: bool = True,
    batch_size: int = 500,
    dtype: torch.dtype | None = None,
    rows: range | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(row indices, argmax_k z_k(x), argmax_k [z_k(x) + z_k(flip(x))]) in eval mode.

    ``images`` are uint8 with ``normalise`` given, else already-normalised floats;
    ``rows`` are the batch starts to score (default: all of them). Without ``tta``
    the third tensor equals the second. The model's train/eval mode is restored.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    layout = input_format(model)
    index, plain, flipped_too = [], [], []
    for start in rows if rows is not None else range(0, len(images), batch_size):
        x = images[start : start + batch_size].to(device)
        x = (normalise(x) if normalise else x.float()).contiguous(memory_format=layout)
        with torch.autocast(device.type, dtype, enabled=dtype is not None):
            logits = model(x).float()
            flipped = model(x.flip(-1)).float() if tta else logits
        index.append(torch.arange(start, start + len(x), device=device))
        plain.append(logits.argmax(1))
        flipped_too.append((logits + flipped).argmax(1))
    model.train(was_training)
    empty = torch.zeros(0, dtype=torch.long, device=device)
    return tuple(torch.cat(t) if t else empty for t in (index, plain, flipped_too))  # type: ignore[return-value]


def evaluate(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    normalise: Callable[[torch.Tensor], torch.Tensor] | None = None,
    tta: bool = True,
    batch_size: int = 500,
    dtype: torch.dtype | None = None,
) -> dict[str, float]:
    """Accuracy, and with ``tta`` also accuracy of argmax_k [z_k(x) + z_k(flip(x))].

    ``images`` are uint8 with ``normalise`` given, else already-normalised floats.
    Under DDP each rank scores its 1/N of the images and the counts are summed.
    """
    world, rank = (dist.get_world_size(), dist.get_rank()) if dist.is_initialized() else (1, 0)
    mine = range(rank * batch_size, len(images), world * batch_size)
    rows, pred, pred_tta = predict(
        model, images, normalise=normalise, tta=tta, batch_size=batch_size, dtype=dtype, rows=mine
    )
    y = labels.to(rows.device)[rows]
    counts = torch.stack([(pred == y).sum(), (pred_tta == y).sum(), torch.tensor(len(y))])
    counts = counts.double()
    if world > 1:
        dist.all_reduce(counts)
    result = {"accuracy": float(counts[0] / counts[2])}
    if tta:
        result["accuracy_tta"] = float(counts[1] / counts[2])
    return result
