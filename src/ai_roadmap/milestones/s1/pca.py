"""s1.pca — the milestone (its code is being moved here from ai_roadmap.foundations.pca)."""

from ai_roadmap.foundations import pca as _lib

ADAPTER = _lib.ADAPTER
CHECKS = _lib.CHECKS
run = _lib.run
