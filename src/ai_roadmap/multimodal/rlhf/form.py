"""The rule-based judge of a written 绝句: shape, marks, rhyme, tones, the prompt's character.

* **Shape and marks** — the project's form checks (:func:`ai_roadmap.nlp.poetry.corpus.
  form_of` for line count × characters, and the marks of s3.poetry's form-correctness
  figure: ， closes the odd lines, one of 。？！ the even ones).
* **Rhyme** — the last characters of the even lines (2 and 4) must share a rhyme group.
  Groups come from the modern Mandarin final (pypinyin, ``strict``), with the medial
  i/u/ü dropped and the 十三辙-style merges (``ian``→``an``, ``ing``/``ong``→``eng``,
  ``uo``/``e``→``o``, ``v``/``er``→``i``). Tang rhyme followed Middle Chinese (平水韵), so
  this is a modern proxy: a fraction of real Tang quatrains fails it (the figure is
  reported).
* **Tones** — 平 (tones 1, 2) vs 仄 (3, 4) in modern Mandarin; the entering tone (入声)
  is lost, so this is also approximate. A line passes "二四分明" when its 2nd and 4th
  characters (and 4th and 6th in 七言) differ in class, and a couplet passes "对" when
  its two lines differ at the 2nd character. Reported, not part of ``all_ok``.
* **Prompt** — the first line contains the prompt's character.
* **Degenerate** — a character three or more times in the poem, or a line of at most two
  distinct characters: what a policy gaming a reward model tends to write.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from ai_roadmap.multimodal.rlhf.prompts import Task
from ai_roadmap.nlp.poetry.corpus import COMMA, PUNCTUATION, form_of

END_MARKS = "。？！"
_LINE = re.compile(f"[^{PUNCTUATION}]*[{PUNCTUATION}]")
_MERGE = {
    "ia": "a", "ua": "a", "uo": "o", "e": "o", "ie": "ie", "ve": "ie", "uai": "ai",
    "uei": "ei", "iao": "ao", "iou": "ou", "ian": "an", "uan": "an", "van": "an",
    "in": "en", "uen": "en", "vn": "en", "iang": "ang", "uang": "ang", "ing": "eng",
    "ueng": "eng", "ong": "eng", "iong": "eng", "v": "i", "er": "i",
}  # fmt: skip


@lru_cache(maxsize=65536)
def rhyme_group(char: str) -> str:
    """The modern rhyme group of a character's final ('' when pypinyin has no reading)."""
    from pypinyin import Style, lazy_pinyin

    reading = lazy_pinyin(char, style=Style.FINALS, strict=True, errors="ignore")
    final = reading[0] if reading else ""
    return _MERGE.get(final, final)


@lru_cache(maxsize=65536)
def tone_class(char: str) -> str:
    """'p' (平: tones 1, 2), 'z' (仄: tones 3, 4) or '' (neutral or unknown)."""
    from pypinyin import Style, lazy_pinyin

    reading = lazy_pinyin(char, style=Style.TONE3, neutral_tone_with_five=True, errors="ignore")
    tone = reading[0][-1:] if reading and reading[0] else ""
    return {"1": "p", "2": "p", "3": "z", "4": "z"}.get(tone, "")


def split_lines(text: str) -> list[str]:
    """Lines with their marks; ``[]`` when the text does not split cleanly into lines."""
    lines = _LINE.findall(text)
    return lines if "".join(lines) == text and all(len(x) > 1 for x in lines) else []


def rhymes(verses: list[str]) -> bool:
    """The even lines' last characters share one (known) rhyme group."""
    groups = {rhyme_group(v[-1]) for v in verses[1::2] if v}
    return len(groups) == 1 and "" not in groups


def tones_ok(verses: list[str]) -> bool:
    """二四分明 on every line (and 四六 in 七言) and 对 within each couplet, where known."""

    def differ(a: str, b: str) -> bool:
        x, y = tone_class(a), tone_class(b)
        return not x or not y or x != y

    for verse in verses:
        if not differ(verse[1], verse[3]) or (len(verse) == 7 and not differ(verse[3], verse[5])):
            return False
    return all(differ(verses[i][1], verses[i + 1][1]) for i in range(0, len(verses) - 1, 2))


def degenerate(verses: list[str]) -> bool:
    """A character three or more times, or a line of at most two distinct characters."""
    counts = Counter("".join(verses))
    return bool(counts) and (max(counts.values()) >= 3 or any(len(set(v)) <= 2 for v in verses))


@dataclass(frozen=True)
class Verdict:
    """What the judge found in one completion."""

    form_ok: bool  # shape and marks of the requested form
    rhyme_ok: bool
    tone_ok: bool
    prompt_ok: bool
    degenerate: bool

    @property
    def all_ok(self) -> bool:
        """Form, rhyme and the prompt's character (tones are reported apart)."""
        return self.form_ok and self.rhyme_ok and self.prompt_ok


def judge(task: Task, text: str) -> Verdict:
    """Check ``text`` (lines with marks, no special tokens) against ``task``."""
    lines = split_lines(text)
    verses = [line[:-1] for line in lines]
    shape = bool(lines) and form_of(lines) == task.form.name
    marks = shape and all(
        line[-1] == COMMA if i % 2 == 0 else line[-1] in END_MARKS for i, line in enumerate(lines)
    )
    return Verdict(
        form_ok=marks,
        rhyme_ok=shape and rhymes(verses),
        tone_ok=shape and tones_ok(verses),
        prompt_ok=bool(verses) and task.char in verses[0],
        degenerate=degenerate(verses) if verses else True,
    )
