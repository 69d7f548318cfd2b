"""Deep-learning fundamentals written from their equations and checked against PyTorch:
autodiff, BatchNorm and residual blocks, activations, optimisers, regularisers,
convolution arithmetic, recurrent layers and seq2seq with attention."""
