"""The torch training loop shared by the image models: augmentation, checkpoints, DDP,
precision and thread control."""
