"""Stage 3 — deep-learning core: autodiff, layers, optimisers, CNNs, RNNs, ResNet-18,
poetry, distillation."""
