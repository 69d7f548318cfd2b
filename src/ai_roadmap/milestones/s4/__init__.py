"""Stage 4 — large models: a Transformer by hand, MLM pretraining, NER, LoRA."""
