"""Stage 4 milestones."""
