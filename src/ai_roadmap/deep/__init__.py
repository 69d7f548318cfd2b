"""Stage 3 — deep-learning fundamentals: autodiff, layers, optimisers, CNNs, RNNs and the
ResNet-18 / distillation / export / poetry milestones."""
