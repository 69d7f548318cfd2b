"""s4.rlhf — SFT → reward model → PPO on Tang quatrains, and DPO on the same pairs.

``run(cfg)``:

1. **SFT.** A GPT-2 (≈ 1.3 M parameters at quick, built from a config, char-level tokenizer) learns
   prompt → poem on the training split's 绝句, each prompt read off its own poem
   ("写一首五言绝句，首句含「月」：", :mod:`ai_roadmap.multimodal.rlhf.prompts`).
2. **Reward model.** The SFT trunk with a scalar head, Bradley–Terry loss on preference
   pairs built without people (:mod:`~ai_roadmap.multimodal.rlhf.pairs`): a real poem
   vs. the same poem with its length, rhyme, prompt character or line count broken, a
   line turned into one repeated character, or its lines scrambled (quality). Split by
   poem; the target is the held-out pair accuracy of the training pair types, and one
   type (``pairs.unseen``) never enters training and is scored apart.
3. **PPO written here** (:mod:`~ai_roadmap.multimodal.rlhf.ppo`), first checked on a
   bandit against its closed-form KL-regularised optimum (``checks_failed``), then run
   from the SFT model against the reward model with a per-token KL penalty to SFT.
4. **DPO** with TRL's ``DPOTrainer`` on the training pairs, from the same SFT model.
5. SFT, PPO and DPO answer the same held-out prompts: reward-model score, KL to SFT,
   the judge's form / rhyme / prompt rates, degenerate repetition and ``hacked_rate``
   (:mod:`~ai_roadmap.multimodal.rlhf.judge`) — reward hacking looked for in numbers
   and in ``samples.md``.

The roadmap's model is 1.3 B parameters trained with trlX; here a ≈ 1.3 M-parameter model
trained in the run stands for it, so the result is a proxy.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from omegaconf import DictConfig

from ai_roadmap.config import typed
from ai_roadmap.errors import UsageError
from ai_roadmap.multimodal.rlhf import bandit as bd
from ai_roadmap.multimodal.rlhf import lm
from ai_roadmap.multimodal.rlhf.dpo import DPOSection, train_dpo
from ai_roadmap.multimodal.rlhf.form import judge
from ai_roadmap.multimodal.rlhf.judge import Samples, evaluate_policy, rollout_figures
from ai_roadmap.multimodal.rlhf.pairs import PAIR_TYPES, Pair, Pool, build_pairs
from ai_roadmap.multimodal.rlhf.prompts import TEMPLATE, Example, examples
from ai_roadmap.multimodal.rlhf.reward import (
    RMConfig,
    accuracy_by_kind,
    pair_scores,
    score_texts,
    train_reward_model,
)
from ai_roadmap.multimodal.rlhf.rollout import PPOConfig, PPOReport, train_ppo
from ai_roadmap.multimodal.rlhf.sft import SFTConfig, train_sft
from ai_roadmap.multimodal.rlhf.store import save_policy
from ai_roadmap.nlp.poetry.corpus import FORMS, Cleaning, load_corpus, split_poems
from ai_roadmap.nlp.poetry.sections import Split
from ai_roadmap.result import Result
from ai_roadmap.training.device import resolve_device
from ai_roadmap.training.threads import torch_threads

PROXY = (
    "proxy: a ≈ 1.3 M-parameter GPT-2 trained in this run stands for the roadmap's 1.3 B "
    "model, our own PPO for trlX, and rule-built preference pairs for human labels"
)


@dataclass(frozen=True)
class DataSection:
    max_train_poems: int = 0  # 绝句 for SFT (0: the whole training split)
    rm_train_poems: int = 0  # training 绝句 that give reward-model pairs (0: all)
    test_poems: int = 0  # held-out 绝句 that give test pairs (0: all)
    eval_prompts: int = 128  # held-out prompts each policy answers
    min_char_freq: int = 1  # rarer training characters become <unk>


@dataclass(frozen=True)
class PairsSection:
    train_kinds: list[str] = field(
        default_factory=lambda: ["length", "rhyme", "repeat", "prompt", "shuffle"]
    )
    unseen: str = "line_count"  # never in training; its accuracy is reported apart

    def __post_init__(self) -> None:
        known = set(PAIR_TYPES)
        if not set(self.train_kinds) <= known or self.unseen not in known:
            raise UsageError(f"pairs: types must be among {', '.join(PAIR_TYPES)}")
        if self.unseen in self.train_kinds:
            raise UsageError(f"pairs.unseen={self.unseen} is also in pairs.train_kinds")


@dataclass(frozen=True)
class BanditSection(bd.BanditConfig):
    rewards: list[float] = field(default_factory=lambda: [1.0, 0.6, 0.3, 0.0])
    reference: list[float] = field(default_factory=lambda: [0.1, 0.2, 0.3, 0.4])
    beta: float = 0.2  # the KL-regularised check: PPO → π* ∝ π_ref exp(r/β)
    small_beta: float = 0.01  # the best-arm check: π*(best) ≈ 1
    tolerance: float = 0.05  # on total variation and on 1 − π(best)


@dataclass(frozen=True)
class Config:
    seed: int = 0
    threads: int = 1
    device: Literal["auto", "cpu", "cuda"] = "auto"
    corpus: Cleaning = field(default_factory=Cleaning)
    split: Split = field(default_factory=Split)
    data: DataSection = field(default_factory=DataSection)
    pairs: PairsSection = field(default_factory=PairsSection)
    model: lm.ModelSize = field(default_factory=lm.ModelSize)
    sft: SFTConfig = field(default_factory=SFTConfig)
    reward: RMConfig = field(default_factory=RMConfig)
    ppo: PPOConfig = field(default_factory=PPOConfig)
    dpo: DPOSection = field(default_factory=DPOSection)
    bandit: BanditSection = field(default_factory=BanditSection)


@dataclass
class Data:
    train: list[Example]
    rm_train: list[Example]
    test: list[Example]
    eval_tasks: list[Any]
    train_pairs: list[Pair]
    test_pairs: list[Pair]
    tokenizer: Any
    describe: str


def run(cfg: DictConfig) -> Result:
    c = typed(cfg, Config)
    with torch_threads(c.threads):
        return _run(c, Path(cfg.output_dir))


# ── data ─────────────────────────────────────────────────────────────────────


def prepare(c: Config) -> Data:
    """Quatrains split by poem, tasks, pairs, and the tokenizer of the training split."""
    corpus = load_corpus(c.corpus)
    splits = split_poems(corpus.poems, c.split.val_fraction, c.split.test_fraction, c.seed)
    train = examples(splits.train, c.seed)
    test = examples(splits.test, c.seed + 1)[: c.data.test_poems or None]
    if len(train) < 8 or len(test) < 4:
        raise UsageError(f"only {len(train)} training / {len(test)} test 绝句; raise corpus.limit")
    sft_train = train[: c.data.max_train_poems or None]
    rm_train = train[: c.data.rm_train_poems or None]
    templates = "".join(TEMPLATE.format(title=f.title, char="") for f in FORMS.values())
    tokenizer = lm.build_tokenizer(
        (e.completion for e in train), c.data.min_char_freq, keep=templates + "，。？！"
    )
    pool = Pool.from_poems([e.poem for e in train])
    train_pairs = build_pairs(rm_train, c.pairs.train_kinds, pool, c.seed)
    test_pairs = build_pairs(test, [*c.pairs.train_kinds, c.pairs.unseen], pool, c.seed + 1)
    known = set(tokenizer.get_vocab())
    tasks = [e.task for e in test if e.task.char in known][: c.data.eval_prompts]
    describe = (
        f"tang-poems 绝句 (五言/七言) of the chinese-poetry 全唐诗, split by poem "
        f"{len(splits.train)}/{len(splits.val)}/{len(splits.test)} poems: {len(sft_train)} "
        f"training quatrains for SFT, {len(train_pairs)} training pairs from {len(rm_train)} "
        f"poems, {len(test_pairs)} held-out pairs from {len(test)} test poems; {PROXY}"
    )
    return Data(sft_train, rm_train, test, tasks, train_pairs, test_pairs, tokenizer, describe)


# ── the run ──────────────────────────────────────────────────────────────────


def _run(c: Config, out: Path) -> Result:
    device = resolve_device(c.device)
    torch.manual_seed(c.seed)
    started = time.perf_counter()
    data = prepare(c)
    tk = data.tokenizer
    metrics: dict[str, float] = {"prepare_seconds": time.perf_counter() - started}
    sft = lm.build_policy(tk, c.model, c.seed)
    sft_report = train_sft(sft, tk, data.train, c.sft, c.seed, device)
    rm = lm.build_reward_model(tk, c.model, sft, c.seed)
    rm_report = train_reward_model(rm, tk, data.train_pairs, c.reward, c.seed, device)
    test_scores = pair_scores(rm, tk, data.test_pairs, device)
    held = accuracy_by_kind(data.test_pairs, test_scores)
    metrics.update(_rm_figures(c, held, test_scores, rm, tk, data, device))

    def scorer(prompts: Any, texts: Any) -> torch.Tensor:
        return score_texts(rm, tk, list(prompts), list(texts), device)

    real = scorer([e.prompt for e in data.test], [e.completion for e in data.test])
    median = float(real.median())
    checks = bandit_checks(c.bandit, c.seed)
    ppo_lm, ppo_report = train_ppo(sft, tk, [e.task for e in data.train], scorer, rollout_figures,
                                   c.ppo, c.seed, device)  # fmt: skip
    dpo_lm, dpo_report = train_dpo(
        sft, tk, data.train_pairs, c.dpo, out / "dpo-trainer", c.seed, device
    )
    policies = {"sft": sft, "ppo": ppo_lm, "dpo": dpo_lm}
    samples = {
        name: evaluate_policy(
            model, sft, tk, data.eval_tasks, scorer, median, c.ppo.max_new, c.seed + 7, device
        )
        for name, model in policies.items()
    }
    for name, s in samples.items():
        metrics.update({f"{name}_{k}": v for k, v in s.figures.items()})
    metrics.update(
        {
            **checks,
            "real_score_median": median,
            "real_all_rate": float(
                np.mean([judge(e.task, e.completion).all_ok for e in data.test])
            ),
            "sft_seconds": sft_report.seconds,
            "rm_seconds": rm_report.seconds,
            "ppo_seconds": ppo_report.seconds,
            "dpo_seconds": dpo_report.seconds,
            "ppo_iterations": float(ppo_report.iterations),
            "sft_steps": float(sft_report.steps),
            "rm_steps": float(rm_report.steps),
            "dpo_steps": float(dpo_report.steps),
            "parameters": float(lm.parameters(sft)),
            "vocab_size": float(len(tk)),
            "train_pairs": float(len(data.train_pairs)),
            "test_pairs": float(len(data.test_pairs)),
        }
    )
    artifacts = _artifacts(out, c, metrics, held, sft_report, ppo_report, dpo_report, samples)
    return Result(
        metrics=metrics,
        dataset=data.describe,
        proxy=True,
        artifacts=artifacts,
        model_path=save_policy(ppo_lm, tk, out / "model", metrics),
        params={"device": device, "pair_kinds": sorted({p.kind for p in data.test_pairs})},
        notes=_notes(c, metrics, ppo_report),
        not_measured=PROXY,
    )


def _rm_figures(
    c: Config, held: dict[str, float], scores: torch.Tensor, rm: Any, tk: Any, data: Data,
    device: str,
) -> dict[str, float]:  # fmt: skip
    """The target (held-out pairs of the training types), the unseen type, training pairs."""
    seen = [i for i, p in enumerate(data.test_pairs) if p.kind != c.pairs.unseen]
    seen_acc = accuracy_by_kind([data.test_pairs[i] for i in seen], scores[seen])["all"]
    sub = data.train_pairs[:2000]
    train_acc = accuracy_by_kind(sub, pair_scores(rm, tk, sub, device))["all"]
    return {
        "reward_model_accuracy": seen_acc,
        "reward_model_unseen_accuracy": held.get(c.pairs.unseen, float("nan")),
        "reward_model_train_accuracy": train_acc,
        **{f"rm_accuracy_{k}": v for k, v in held.items() if k != "all"},
    }


def bandit_checks(b: BanditSection, seed: int) -> dict[str, float]:
    """PPO on the bandit vs π* (TV distance) and, with a tiny β, vs the best arm."""
    r = torch.tensor(b.rewards, dtype=torch.float64)
    ref = torch.tensor(b.reference, dtype=torch.float64)
    if len(r) != len(ref) or abs(float(ref.sum()) - 1) > 1e-6 or bool((ref <= 0).any()):
        raise UsageError("bandit.reference must be positive, sum to 1 and match bandit.rewards")
    config = bd.BanditConfig(b.iterations, b.batch, b.epochs, b.lr, b.clip, b.noise)
    tv = bd.total_variation(
        bd.ppo_bandit(b.rewards, b.reference, b.beta, config, seed),
        bd.gibbs_optimum(r, ref, b.beta),
    )
    greedy = bd.ppo_bandit(b.rewards, b.reference, b.small_beta, config, seed)
    best = float(greedy[int(r.argmax())])
    failed = float(tv > b.tolerance) + float(1 - best > b.tolerance)
    return {"bandit_tv_to_optimum": tv, "bandit_best_arm_prob": best, "checks_failed": failed}


# ── figures and notes ────────────────────────────────────────────────────────


def _artifacts(
    out: Path, c: Config, m: dict[str, float], held: dict[str, float], sft: Any,
    ppo: PPOReport, dpo: Any, samples: dict[str, Samples],
) -> dict[str, Path]:  # fmt: skip
    from ai_roadmap.multimodal.rlhf.figures import (
        plot_compare,
        plot_ppo,
        plot_reward_model,
        plot_training,
        write_samples,
    )

    return {
        "training.png": plot_training(out / "training.png", sft, dpo, m),
        "reward_model.png": plot_reward_model(out / "reward_model.png", held, c.pairs.unseen),
        "ppo.png": plot_ppo(out / "ppo.png", ppo.history),
        "compare.png": plot_compare(out / "compare.png", m),
        "samples.md": write_samples(out / "samples.md", samples, m),
    }


def _notes(c: Config, m: dict[str, float], ppo: PPOReport) -> list[str]:
    notes = [
        PROXY + "; the verdict is therefore 'not measured'",
        f"reward_model_accuracy: held-out pairs of the training types "
        f"({', '.join(c.pairs.train_kinds)}) from test poems; "
        f"reward_model_unseen_accuracy: '{c.pairs.unseen}' pairs, never trained on",
        "rhyme and tones are judged by modern Mandarin readings (pypinyin), a proxy for "
        f"Tang rhyme: {m['real_all_rate']:.2f} of the real held-out quatrains pass the judge",
        f"PPO: {ppo.iterations} iterations of {c.ppo.batch} prompts, β = {c.ppo.beta}; "
        f"scores standardised by {ppo.score_shift:.3f} ± {ppo.score_scale:.3f}",
        f"policies compared on {int(c.data.eval_prompts)} held-out prompts (temperature 1); "
        "kl = mean Σ_t log π/π_SFT over the sampled tokens",
        f"bandit check: PPO vs π* ∝ π_ref·exp(r/β) at β = {c.bandit.beta}: TV "
        f"{m['bandit_tv_to_optimum']:.4f}; best arm at β = {c.bandit.small_beta}: "
        f"{m['bandit_best_arm_prob']:.4f}",
        _hacking_note(m),
    ]
    return notes


def _hacking_note(m: dict[str, float]) -> str:
    gain = m["ppo_reward"] - m["sft_reward"]
    judged = m["ppo_all_rate"] - m["sft_all_rate"]
    degen = m["ppo_degenerate_rate"] - m["sft_degenerate_rate"]
    verdict = (
        "reward hacking seen: the reward rose while the judge's rate fell or repetition grew"
        if gain > 0 and (judged < 0 or degen > 0.05)
        else "no reward hacking seen by these measures"
    )
    return (
        f"{verdict} (PPO vs SFT: reward {gain:+.3f}, all-checks rate {judged:+.3f}, "
        f"degenerate rate {degen:+.3f}, hacked_rate {m['sft_hacked_rate']:.3f} → "
        f"{m['ppo_hacked_rate']:.3f})"
    )
