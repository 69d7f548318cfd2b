"""Natural-language models: poems, a Transformer by hand, MLM pretraining, NER, LoRA.

Importing any of it sets the Hugging Face libraries offline (nothing is fetched at run time)
and keeps two notices about the libraries themselves off the learner's terminal: torchao
(pulled in by transformers/PEFT beside ExecuTorch) logs that its CUDA kernels do not load
on a CPU build, and torch logs a deprecation of its own pytree registration.
"""

import logging
import os

for _key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY", "DO_NOT_TRACK"):
    os.environ.setdefault(_key, "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
for _name in ("torchao", "torch.utils._pytree"):
    logging.getLogger(_name).setLevel(logging.ERROR)
