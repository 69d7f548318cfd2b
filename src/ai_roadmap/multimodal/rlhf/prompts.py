"""A task read off a real poem: "写一首五言绝句，首句含「月」：" and the poem that answers it.

The prompt names the poem's form (五言绝句 or 七言绝句) and one character of its first
line, drawn with a seeded generator; so every real 绝句 is, by construction, a correct
answer to its own prompt. Every prompt has the same number of characters (the form
titles are all four characters long), which lets a batch of prompts be sampled from
without padding.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ai_roadmap.nlp.poetry.corpus import FORMS, Form, Poem

QUATRAINS = ("wujue", "qijue")  # the forms the tasks ask for
TEMPLATE = "写一首{title}，首句含「{char}」："
_PROMPT = re.compile("写一首(.{4})，首句含「(.)」：")
_BY_TITLE = {FORMS[name].title: FORMS[name] for name in QUATRAINS}


@dataclass(frozen=True)
class Task:
    """What a prompt asks for: a form and a character the first line must contain."""

    form: Form
    char: str

    @property
    def prompt(self) -> str:
        return TEMPLATE.format(title=self.form.title, char=self.char)

    @classmethod
    def parse(cls, prompt: str) -> Task:
        match = _PROMPT.fullmatch(prompt)
        if match is None or match.group(1) not in _BY_TITLE:
            raise ValueError(f"not a task prompt: {prompt!r}")
        return cls(_BY_TITLE[match.group(1)], match.group(2))


@dataclass(frozen=True)
class Example:
    """One real poem as a supervised example: its task and its text (lines with marks)."""

    task: Task
    poem: Poem

    @property
    def prompt(self) -> str:
        return self.task.prompt

    @property
    def completion(self) -> str:
        return self.poem.body


def task_of(poem: Poem, rng: np.random.Generator) -> Task:
    """The poem's form and a character of its first line, drawn by ``rng``."""
    first = poem.verses()[0]
    return Task(FORMS[poem.form], first[int(rng.integers(len(first)))])


def examples(poems: Iterable[Poem], seed: int) -> list[Example]:
    """Every 绝句 of ``poems`` with a task read off it (other forms skipped)."""
    rng = np.random.default_rng(seed)
    return [Example(task_of(p, rng), p) for p in poems if p.form in QUATRAINS]
