"""Multimodal and generative models: contrastive image–text retrieval, diffusion, RLHF.

Every model here is trained at small scale on the project's offline data; none is CLIP,
Stable Diffusion or a 1.3 B language model, and the milestones' results say so.
"""

import logging
import os

# Offline Hugging Face libraries (nothing is fetched at run time), and two notices about the
# libraries themselves kept off the terminal: torchao's CUDA-kernel warning on a CPU build and
# torch's deprecation of its own pytree registration.
for _key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY", "DO_NOT_TRACK"):
    os.environ.setdefault(_key, "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
for _name in ("torchao", "torch.utils._pytree"):
    logging.getLogger(_name).setLevel(logging.ERROR)
