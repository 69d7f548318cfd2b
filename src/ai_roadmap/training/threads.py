"""One context manager shared by the stage-3 runs: a set number of torch threads, restored after.

The networks of the stage-3 exercises are small: on a busy 2-core machine two intra-op
threads spend more time waiting for each other than computing (measured for the depth
experiment of ``s3.layers``: 12 s with one thread, 104 s with two).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the block with ``count`` intra-op threads (0: leave as is), then restore the setting."""
    previous = torch.get_num_threads()
    if count > 0:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
