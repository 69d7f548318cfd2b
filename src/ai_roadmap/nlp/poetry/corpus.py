"""The Tang-poem corpus: simplified script, cleaned, labelled by form, split by poem.

Source: the 57 607 poems of 全唐诗 in the npm ``chinese-poetry`` package
(:func:`ai_roadmap.datasets.poems.iter_tang_poems`), traditional script. The pipeline:

1. **Script.** OpenCC's ``t2s`` tables (phrase-level, then character-level mappings)
   convert the text to simplified script, the script of most poetry-generation work.
2. **Cleaning.** Editors' notes in full-width parentheses (``（一作…）``, variant readings)
   are removed, and a run of marks left behind (``。（見…）。`` → ``。。``) keeps its
   first mark. A poem is kept only if every character is a CJK unified ideograph or
   one of the four marks ``，。？！``, and the text splits into lines that each hold at
   least one character and end in a mark. Dropped, with the reason counted: missing
   characters (``□``), bracketed annotations (``[ ] { } 《 》``), odd punctuation
   (``；：、``), empty lines, fewer than ``min_lines`` lines, more than ``max_chars``.
3. **Forms.** The regulated forms are labelled by shape only — line count × characters
   per line: 五言绝句 ``wujue`` 4 × 5, 七言绝句 ``qijue`` 4 × 7, 五言律诗 ``wulv`` 8 × 5,
   七言律诗 ``qilv`` 8 × 7; everything else is ``other``. Tonal pattern (平仄) and rhyme
   are not checked, so a label means "has the shape of".
4. **De-duplication.** 全唐诗 prints some poems twice (under two attributions); identical
   bodies are kept once, so no poem can land in two splits.
5. **Split.** A permutation drawn with a fixed seed sends ``test_fraction`` of the poems
   to test, ``val_fraction`` to validation and the rest to training — a split by poem,
   so no line of a held-out poem is seen in training as part of *that* poem (lines
   quoted by other poems can still occur; the evaluation reports how often generated
   lines copy the training set).

Steps 1–4 are slow (OpenCC is pure Python) and are cached under the data root in
``tang-poems/cache/``, one file per hash of the source file and the cleaning
parameters, written to a temporary file and renamed, so a cache file is complete or absent.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ai_roadmap.settings import Settings, get_settings

DATASET = "tang-poems"
CACHE_VERSION = 3
PUNCTUATION = "，。？！"
COMMA, STOP = "，", "。"
_NOTE = re.compile(r"（[^（）]*）")
_MARK_RUN = re.compile(f"([{PUNCTUATION}])[{PUNCTUATION}]+")
_LINE = re.compile(f"[^{PUNCTUATION}]*[{PUNCTUATION}]")


@dataclass(frozen=True)
class Form:
    """A regulated form: ``lines`` lines of ``chars`` characters, marks ，。 alternating."""

    name: str
    title: str
    chars: int
    lines: int

    def punctuation(self, line: int) -> str:
        """The mark ending 0-based line ``line``: ， on lines 1, 3, 5, 7, 。 on 2, 4, 6, 8."""
        return COMMA if line % 2 == 0 else STOP


FORMS: dict[str, Form] = {
    form.name: form
    for form in (
        Form("wujue", "五言绝句", 5, 4),
        Form("qijue", "七言绝句", 7, 4),
        Form("wulv", "五言律诗", 5, 8),
        Form("qilv", "七言律诗", 7, 8),
    )
}
OTHER = "other"


def is_hanzi(char: str) -> bool:
    """A CJK unified ideograph (the basic block or any extension)."""
    return unicodedata.name(char, "").startswith("CJK UNIFIED IDEOGRAPH")


def form_of(lines: Iterable[str]) -> str:
    """The form name whose shape the lines have (marks not checked), else ``"other"``."""
    lines = list(lines)
    lengths = {len(line) - 1 for line in lines}
    for form in FORMS.values():
        if len(lines) == form.lines and lengths == {form.chars}:
            return form.name
    return OTHER


@dataclass(frozen=True)
class Poem:
    """One poem as lines, each line its characters followed by its mark."""

    lines: tuple[str, ...]

    @property
    def form(self) -> str:
        return form_of(self.lines)

    @property
    def body(self) -> str:
        return "".join(self.lines)

    def verses(self) -> list[str]:
        """The lines without their marks."""
        return [line[:-1] for line in self.lines]


@dataclass(frozen=True)
class Cleaning:
    """Parameters of steps 1–4; their hash names the cache file."""

    script: str = "t2s"  # OpenCC conversion
    strip_notes: bool = True  # remove （…） editors' notes before checking characters
    min_lines: int = 2  # a first line and at least one line to continue it
    max_chars: int = 200  # characters + marks of the whole poem
    limit: int = 0  # read only the first ``limit`` source poems (0: all) — for smoke runs

    def __post_init__(self) -> None:
        if self.min_lines < 1 or self.max_chars < 2 or self.limit < 0:
            raise ValueError(f"bad cleaning parameters: {self}")

    def key(self, source_sha256: str) -> str:
        text = json.dumps([CACHE_VERSION, source_sha256, asdict(self)], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class Corpus:
    """The cleaned, de-duplicated poems in source order, and why the others were dropped."""

    poems: list[Poem]
    dropped: dict[str, int] = field(default_factory=dict)
    source_poems: int = 0


# ── steps 1–4 ────────────────────────────────────────────────────────────────


def to_simplified(texts: list[str], config: str = "t2s") -> list[str]:
    """OpenCC conversion of many texts in one call (one call per text is far slower)."""
    from opencc import OpenCC

    joined = "\n".join(text.replace("\n", "") for text in texts)
    converted = OpenCC(config).convert(joined).split("\n")
    if len(converted) != len(texts):
        raise RuntimeError("OpenCC changed the number of lines")
    return converted


def clean_text(text: str, cleaning: Cleaning) -> tuple[tuple[str, ...], str]:
    """``(lines, "")`` for a kept poem, ``((), reason)`` for a dropped one."""
    text = re.sub(r"\s", "", text)
    if cleaning.strip_notes:
        text = _NOTE.sub("", text)
    text = _MARK_RUN.sub(r"\1", text)  # "…支公。（見…）。" leaves "。。" behind
    for char in text:
        if char == "□":
            return (), "missing character"
        if char in "[]{}《》（）":
            return (), "bracketed annotation"
        if not (is_hanzi(char) or char in PUNCTUATION):
            return (), "odd punctuation or symbol"
    lines = tuple(_LINE.findall(text))
    if "".join(lines) != text or any(len(line) < 2 for line in lines):
        return (), "empty or unterminated line"
    if len(lines) < cleaning.min_lines:
        return (), f"fewer than {cleaning.min_lines} lines"
    if len(text) > cleaning.max_chars:
        return (), f"longer than {cleaning.max_chars} characters"
    return lines, ""


def clean_corpus(texts: list[str], cleaning: Cleaning) -> Corpus:
    """Steps 2 and 4 on already converted texts."""
    dropped: Counter[str] = Counter()
    seen: set[str] = set()
    poems = []
    for text in texts:
        lines, reason = clean_text(text, cleaning)
        if reason:
            dropped[reason] += 1
            continue
        body = "".join(lines)
        if body in seen:
            dropped["duplicate"] += 1
            continue
        seen.add(body)
        poems.append(Poem(lines))
    return Corpus(poems, dict(dropped), source_poems=len(texts))


def _source_texts(limit: int) -> list[str]:
    from ai_roadmap.datasets.poems import iter_tang_poems

    texts: list[str] = []
    for record in iter_tang_poems():
        if limit and len(texts) >= limit:
            break
        texts.append("".join(str(p) for p in record.get("paragraphs") or []))  # type: ignore[attr-defined]
    return texts


def cache_file(cleaning: Cleaning, settings: Settings | None = None) -> Path:
    """Where the cleaned corpus for these parameters is (or will be) cached."""
    from ai_roadmap.artifacts import sha256_file
    from ai_roadmap.datasets import require
    from ai_roadmap.datasets.poems import FILE

    folder = require(DATASET, settings or get_settings())
    return folder / "cache" / f"corpus-{cleaning.key(sha256_file(folder / FILE))}.json.gz"


def load_corpus(cleaning: Cleaning, settings: Settings | None = None) -> Corpus:
    """The cleaned corpus, from the cache when present, else built and cached."""
    path = cache_file(cleaning, settings)
    if path.exists():
        data = json.loads(gzip.decompress(path.read_bytes()).decode("utf-8"))
        poems = [Poem(tuple(lines)) for lines in data["poems"]]
        return Corpus(poems, data["dropped"], data["source_poems"])
    texts = to_simplified(_source_texts(cleaning.limit), cleaning.script)
    corpus = clean_corpus(texts, cleaning)
    data = {
        "cleaning": asdict(cleaning),
        "dropped": corpus.dropped,
        "source_poems": corpus.source_poems,
        "poems": [list(poem.lines) for poem in corpus.poems],
    }
    _write_atomically(path, gzip.compress(json.dumps(data, ensure_ascii=False).encode("utf-8")))
    return corpus


def _write_atomically(path: Path, payload: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as handle:
        tmp = Path(handle.name)
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())
    try:
        tmp.chmod(0o644)  # NamedTemporaryFile makes it private; a cache is ordinary data
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# ── step 5 ───────────────────────────────────────────────────────────────────


@dataclass
class Splits:
    train: list[Poem]
    val: list[Poem]
    test: list[Poem]


def split_poems(poems: list[Poem], val_fraction: float, test_fraction: float, seed: int) -> Splits:
    """A seeded split by poem: test first, then validation, the rest training."""
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError("val_fraction + test_fraction must lie in [0, 1)")
    order = np.random.default_rng(seed).permutation(len(poems))
    n_test = round(test_fraction * len(poems))
    n_val = round(val_fraction * len(poems))
    pick = [poems[i] for i in order]
    return Splits(
        train=pick[n_test + n_val :], val=pick[n_test : n_test + n_val], test=pick[:n_test]
    )


def form_counts(poems: Iterable[Poem]) -> dict[str, int]:
    """How many poems have each form's shape (``other`` included)."""
    counts = Counter(poem.form for poem in poems)
    return {name: counts.get(name, 0) for name in (*FORMS, OTHER)}
