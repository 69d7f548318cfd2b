"""A CLIP-style dual encoder trained here on the Tux Paint stamps' image–caption pairs.

One concept per module: :mod:`.pairs` (the pairs and their split by image),
:mod:`.augment` (image and caption augmentation), :mod:`.image_tower` (a small CNN),
:mod:`.text_tower` (our hashed character n-gram tower, English and Chinese),
:mod:`.minilm` (the frozen MiniLM sentence encoder with a trained projection),
:mod:`.model` (the dual encoder and its config), :mod:`.loss` (symmetric InfoNCE, the
clamped learned temperature), :mod:`.recall` (Recall@K, strict and lenient),
:mod:`.baseline` (the caption-keyword baseline), :mod:`.train` (the training loop),
:mod:`.index` (the retrieval index saved in a model folder) and :mod:`.scorer`
(:class:`ClipScorer`, the stable API other milestones score images and texts with).
"""
