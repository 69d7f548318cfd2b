"""s1.logreg — the milestone (its code is being moved here from ai_roadmap.foundations.logreg)."""

from ai_roadmap.foundations import logreg as _lib

ADAPTER = _lib.ADAPTER
CHECKS = _lib.CHECKS
run = _lib.run
