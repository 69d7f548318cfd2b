"""``roadmap poem``: one request — form, heads, first line, sampling — turned into a poem.

The form is given (``--form``) or read off the request: seven characters in the first
line mean 七言, eight heads mean 律诗; otherwise 五言绝句. Input in traditional script is
converted to simplified (the model's script), a first line may end in its mark, and
every problem — unknown form, wrong number of heads, a character the model never saw —
is one :class:`~ai_roadmap.errors.UsageError` line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ai_roadmap.errors import UsageError
from ai_roadmap.nlp.poetry.corpus import FORMS, PUNCTUATION, Form
from ai_roadmap.settings import Settings

if TYPE_CHECKING:
    from torch import nn

    from ai_roadmap.nlp.poetry.generate import Stepper


@dataclass(frozen=True)
class PoemRequest:
    """What the user asked for, as typed."""

    form: str | None = None
    head: str = ""
    first_line: str = ""
    temperature: float = 0.8
    top_k: int = 0
    top_p: float = 0.9
    beam: int = 0
    seed: int | None = None
    no_repeat: int = 1


def simplified(text: str) -> str:
    """The text in simplified script, without whitespace."""
    from opencc import OpenCC

    return OpenCC("t2s").convert("".join(text.split()))


def resolve_form(name: str | None, head: str, first_line: str) -> Form:
    """The requested form, or the one the heads and first line imply (default 五言绝句)."""
    from ai_roadmap.nlp.poetry.generate import form_by_name

    if name is not None:
        return form_by_name(name)
    chars = 7 if len(first_line) == 7 else 5
    lines = 8 if len(head) == 8 else 4
    return next(f for f in FORMS.values() if f.chars == chars and f.lines == lines)


def check_sampling(request: PoemRequest) -> None:
    if request.temperature <= 0:
        raise UsageError(f"--temperature must be > 0; got {request.temperature:g}")
    if not 0 < request.top_p <= 1:
        raise UsageError(f"--top-p must lie in (0, 1]; got {request.top_p:g}")
    if min(request.top_k, request.beam, request.no_repeat) < 0:
        raise UsageError("--top-k, --beam and --no-repeat must be ≥ 0")


REGISTERED = {"lstm": "s3.poetry", "transformer": "s4.transformer"}  # --model by name


def stepper_for(model: nn.Module) -> Stepper:
    """The decoders' interface to ``model``: the KV-cache stepper for the Transformer."""
    from ai_roadmap.nlp.poetry.generate import NeuralStepper
    from ai_roadmap.nlp.transformer.decoder import DecoderLM
    from ai_roadmap.nlp.transformer.stepper import DecoderStepper

    return DecoderStepper(model) if isinstance(model, DecoderLM) else NeuralStepper(model)


def write(
    request: PoemRequest, settings: Settings, model_dir: Path | str | None = None
) -> tuple[list[str], str]:
    """The poem's lines and a line saying which model and settings wrote it.

    ``model_dir``: a model folder, or ``lstm`` / ``transformer`` for the registry's model
    of s3.poetry / s4.transformer (``None``: the LSTM).
    """
    from ai_roadmap.nlp.poetry.generate import Sampling, check_request, write_poem
    from ai_roadmap.nlp.poetry.store import load, load_registered

    check_sampling(request)
    head = simplified(request.head)
    first_line = simplified(request.first_line).rstrip(PUNCTUATION)
    form = resolve_form(request.form, head, first_line)
    check_request(None, form, first_line, head)  # before the (slow) model download
    milestone = REGISTERED.get(str(model_dir or "lstm"))
    if milestone is None:
        model, vocab, _card = load(Path(model_dir or ""))
        source = str(model_dir)
    else:
        model, vocab, _card, version = load_registered(settings, milestone=milestone)
        source = f"{milestone} v{version} from the registry"
    sampling = Sampling(request.temperature, request.top_k, request.top_p)
    lines = write_poem(
        stepper_for(model),
        vocab,
        form,
        head,
        first_line,
        sampling,
        request.beam,
        request.seed,
        no_repeat=request.no_repeat,
    )
    how = (
        f"beam {request.beam}"
        if request.beam
        else (
            f"temperature {request.temperature:g}, top-k {request.top_k}, top-p {request.top_p:g}, "
            f"seed {request.seed}"
        )
    )
    return lines, f"{form.title} ({form.name}) · {how} · model: {source}"


def couplets(lines: list[str]) -> list[str]:
    """Lines paired as they are printed: '白日依山尽，黄河入海流。'."""
    return ["".join(lines[i : i + 2]) for i in range(0, len(lines), 2)]
