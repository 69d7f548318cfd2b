"""Reports rendered from the roadmap's code and its recorded runs (stage-1 write-ups)."""
