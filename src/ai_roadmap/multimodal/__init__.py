"""Multimodal and generative models: contrastive image–text retrieval, diffusion, RLHF.

Every model here is trained at small scale on the project's offline data; none is CLIP,
Stable Diffusion or a 1.3 B language model, and the milestones' results say so.
"""
