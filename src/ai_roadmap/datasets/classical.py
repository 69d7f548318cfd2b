"""The classical Chinese corpus: every poem collection of the npm ``chinese-poetry`` package.

Four collections, gathered into one file ``classical.jsonl.gz`` in simplified script:

============  ============================================  =====================
collection    members                                       records
============  ============================================  =====================
``tang``      ``dist/quantangshi/poet.tang.*.json``         57 607 Tang poems
``song``      ``dist/quantangshi/poet.song.*.json``         254 248 Song poems
``songci``    ``dist/songci/ci.song.<n>.json``              21 053 Song ci
``yuding``    ``dist/yudingquantangshi/json/*.json``        43 103 poems (御定全唐詩)
============  ============================================  =====================

Each record becomes ``{"collection", "author", "title", "text"}`` where ``text`` is the
poem's lines joined with newlines. The package prints most of it in traditional script;
OpenCC's ``t2s`` tables (phrase, then character mappings — the conversion s3.poetry uses)
turn it into simplified script once, here, because the pure-Python converter takes about
a minute for the 23 M characters. 御定全唐詩 repeats many Tang poems: the records are
kept as published, and the MLM corpus (:mod:`ai_roadmap.nlp.mlm.corpus`) de-duplicates
and splits by the hash of the text so a repeated poem never lands on both sides.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ai_roadmap.datasets import require

DATASET = "classical-corpus"
FILE = "classical.jsonl.gz"
COLLECTIONS = ("tang", "song", "songci", "yuding")
_PATTERNS = (
    ("tang", re.compile(r"quantangshi/poet\.tang\.(\d+)\.json$")),
    ("song", re.compile(r"quantangshi/poet\.song\.(\d+)\.json$")),
    ("songci", re.compile(r"songci/ci\.song\.(\d+)\.json$")),
    ("yuding", re.compile(r"yudingquantangshi/json/(\d+)\.json$")),
)


def collection_of(member: str) -> tuple[str, int] | None:
    """``(collection, file number)`` of an archive member, None for other files."""
    for name, pattern in _PATTERNS:
        found = pattern.search(member)
        if found:
            return name, int(found.group(1))
    return None


def _records(members: dict[str, Path]) -> Iterator[tuple[str, dict[str, Any]]]:
    keyed = [(collection_of(m), m) for m in members]
    ordered = sorted(
        ((key, m) for key, m in keyed if key is not None),
        key=lambda km: (COLLECTIONS.index(km[0][0]), km[0][1]),
    )
    for (collection, _), member in ordered:
        for record in json.loads(members[member].read_text(encoding="utf-8")):
            yield collection, record


def convert(members: dict[str, Path], out: Path) -> None:
    """Gather the four collections, converted to simplified script, into one file."""
    from opencc import OpenCC

    rows = [
        {
            "collection": collection,
            "author": str(record.get("author", "")),
            "title": str(record.get("title") or record.get("rhythmic") or ""),
            "text": "\n".join(str(p) for p in record.get("paragraphs") or []),
        }
        for collection, record in _records(members)
    ]
    rows = [row for row in rows if row["text"].strip()]
    # one call per field over the whole corpus: OpenCC per record is far slower
    for field in ("author", "title", "text"):
        joined = "\x00".join(row[field].replace("\x00", "") for row in rows)
        for row, value in zip(rows, OpenCC("t2s").convert(joined).split("\x00"), strict=True):
            row[field] = value
    with gzip.open(out / FILE, "wt", encoding="utf-8") as sink:
        for row in rows:
            sink.write(json.dumps(row, ensure_ascii=False) + "\n")


def iter_classical() -> Iterator[dict[str, str]]:
    """Every classical record ``{"collection", "author", "title", "text"}``, simplified script."""
    with gzip.open(require(DATASET) / FILE, "rt", encoding="utf-8") as source:
        for line in source:
            yield json.loads(line)
