"""s2.metrics — the milestone (its code is being moved here from ai_roadmap.classic.metrics)."""

from ai_roadmap.classic import metrics as _lib

ADAPTER = _lib.ADAPTER
CHECKS = _lib.CHECKS
run = _lib.run
