"""Stage 4: deep-learning tracks (vision, NLP) and their deployment."""
