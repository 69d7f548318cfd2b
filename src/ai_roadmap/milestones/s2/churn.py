"""s2.churn — the milestone (its code is being moved here from ai_roadmap.classic.churn)."""

from ai_roadmap.classic import churn as _lib

run = _lib.run
