"""Stage 4: NLP (track B) and vision (track A) milestones."""
