"""s2.tuning — the milestone (its code is being moved here from ai_roadmap.classic.tuning)."""

from ai_roadmap.classic import tuning as _lib

run = _lib.run
