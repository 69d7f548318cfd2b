"""s0.titanic — the milestone (its code is being moved here from ai_roadmap.classic.titanic)."""

from ai_roadmap.classic import titanic as _lib

run = _lib.run
