"""s2.house — the milestone (its code is being moved here from ai_roadmap.classic.house)."""

from ai_roadmap.classic import house as _lib

run = _lib.run
