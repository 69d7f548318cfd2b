"""Stage 4 — specialisations: vision (track A), NLP (track B), multimodal and generative
(track C), and the technical report."""
