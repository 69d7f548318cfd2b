"""Two small ML systems end to end: recall + ranking on MovieLens, ETA on NYC flights."""
