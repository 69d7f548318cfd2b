"""Stage 6: interview and influence."""
