"""Masked-language-model pretraining of a small Chinese RoBERTa with the Hugging Face Trainer.

``corpus`` (the texts of each phase and their held-out parts), ``tokenizer`` (a character
tokenizer trained with HF ``tokenizers``), ``blocks`` (packing texts into fixed-length
blocks), ``model`` (the RoBERTa config), ``masking`` (the collator's measured masking
rates), ``train`` (one Trainer phase and the fixed-mask held-out loss), ``store`` (the
encoder folder that ``AutoModel.from_pretrained`` reads).
"""

import os

# nothing is fetched at run time; set before transformers is imported anywhere below
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")
