"""全唐诗: the Tang poems of the npm ``chinese-poetry`` package, as one compact file.

Each ``dist/quantangshi/poet.tang.<n>.json`` holds a list of records
``{"author", "title", "paragraphs": [line, ...], "id"}`` in traditional script.
The conversion only gathers them, in file order, into ``tang.jsonl.gz`` (one
record per line: author, title, paragraphs); script conversion and cleaning
belong to the poetry milestone, which caches its own processed corpus.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path

from ai_roadmap.datasets import require

FILE = "tang.jsonl.gz"


def _order(path: str) -> int:
    found = re.search(r"poet\.tang\.(\d+)\.json$", path)
    return int(found.group(1)) if found else -1


def convert(members: dict[str, Path], out: Path) -> None:
    with gzip.open(out / FILE, "wt", encoding="utf-8") as sink:
        for name in sorted(members, key=_order):
            for record in json.loads(members[name].read_text(encoding="utf-8")):
                row = {
                    "author": record.get("author", ""),
                    "title": record.get("title", ""),
                    "paragraphs": list(record.get("paragraphs", [])),
                }
                sink.write(json.dumps(row, ensure_ascii=False) + "\n")


def iter_tang_poems() -> Iterator[dict[str, object]]:
    """Every Tang poem record, traditional script, in the package's order."""
    with gzip.open(require("tang-poems") / FILE, "rt", encoding="utf-8") as source:
        for line in source:
            yield json.loads(line)
