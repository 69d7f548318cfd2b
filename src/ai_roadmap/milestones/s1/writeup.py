"""s1.writeup — the milestone (its code is being moved here from ai_roadmap.report.writeup)."""

from ai_roadmap.report import writeup as _lib

run = _lib.run
