"""The RLHF run's figures: training curves, reward-model accuracy, PPO over steps, the
before → after comparison of the policies, and the sample poems as markdown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ai_roadmap.multimodal.rlhf.form import judge
from ai_roadmap.plots import figure

POLICIES = ("sft", "ppo", "dpo")
COMPARED = ("form_rate", "rhyme_rate", "prompt_rate", "all_rate", "degenerate_rate", "hacked_rate")


def plot_training(path: Path, sft: Any, dpo: Any, m: dict[str, float]) -> Path:
    """SFT loss and DPO loss over steps, and the SFT policy's judge rates."""
    with figure(path, 1, 3, figsize=(13, 3.8)) as (_fig, (a, b, c)):
        a.plot([r["step"] for r in sft.history], [r["train_loss"] for r in sft.history], "o-")
        a.set(title="SFT: −log π(poem | prompt)", xlabel="step", ylabel="nats per character")
        rows = [r for r in dpo.history if "loss" in r]
        b.plot([r.get("step", i) for i, r in enumerate(rows)], [r["loss"] for r in rows], "o-")
        b.set(title="DPO (TRL DPOTrainer) loss", xlabel="step", ylabel="loss")
        names = ("form_rate", "rhyme_rate", "prompt_rate", "all_rate", "tone_rate")
        values = [m[f"sft_{n}"] for n in names]
        c.bar([n.removesuffix("_rate") for n in names], values, color="tab:blue")
        c.axhline(m["real_all_rate"], ls="--", color="k", label="real poems, all checks")
        c.set(title="SFT samples on held-out prompts", ylim=(0, 1), ylabel="fraction passing")
        c.legend(fontsize=8)
    return path


def plot_reward_model(path: Path, held: dict[str, float], unseen: str) -> Path:
    """Held-out pair accuracy per pair type; the type never trained on in orange."""
    kinds = [k for k in held if k != "all"]
    with figure(path, figsize=(7, 4)) as (_fig, ax):
        colors = ["tab:orange" if k == unseen else "tab:blue" for k in kinds]
        ax.bar(kinds, [held[k] for k in kinds], color=colors)
        ax.axhline(0.85, ls="--", color="k", label="roadmap bar 0.85")
        ax.axhline(0.5, ls=":", color="grey", label="chance")
        ax.set(ylim=(0, 1.02), ylabel="held-out pair accuracy",
               title=f"Reward model (orange: '{unseen}', never trained on)")  # fmt: skip
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return path


def plot_ppo(path: Path, history: list[dict[str, float]]) -> Path:
    """Reward, KL to SFT and the judge's rates of each PPO rollout."""
    steps = [r["iteration"] for r in history]
    with figure(path, 1, 3, figsize=(13, 3.8)) as (_fig, (a, b, c)):
        a.plot(steps, [r["reward"] for r in history])
        a.set(title="PPO: reward-model score", xlabel="iteration", ylabel="mean score")
        b.plot(steps, [r["kl"] for r in history], color="tab:red")
        b.set(title="KL(π ‖ π_SFT) per sample", xlabel="iteration", ylabel="nats")
        for key in ("form_rate", "all_rate", "degenerate_rate"):
            c.plot(steps, [r[key] for r in history], label=key.removesuffix("_rate"))
        c.set(title="judge on the rollouts", xlabel="iteration", ylim=(0, 1))
        c.legend(fontsize=8)
    return path


def plot_compare(path: Path, m: dict[str, float]) -> Path:
    """SFT → PPO and SFT → DPO on the same held-out prompts."""
    import numpy as np

    x = np.arange(len(COMPARED))
    with figure(path, 1, 2, figsize=(13, 4)) as (_fig, (a, b)):
        for i, name in enumerate(POLICIES):
            a.bar(
                x + (i - 1) * 0.27, [m[f"{name}_{k}"] for k in COMPARED], 0.27, label=name.upper()
            )
        a.set_xticks(x, [k.removesuffix("_rate") for k in COMPARED])
        a.set(ylim=(0, 1), ylabel="fraction of samples", title="judge on held-out prompts")
        a.legend(fontsize=8)
        for name in POLICIES:
            b.scatter(m[f"{name}_kl"], m[f"{name}_reward"], s=60, label=name.upper())
        b.axhline(m["real_score_median"], ls="--", color="k", label="real poems (median)")
        b.set(xlabel="KL to SFT (nats per sample)", ylabel="mean reward-model score",
              title="reward vs KL")  # fmt: skip
        b.legend(fontsize=8)
    return path


def write_samples(path: Path, samples: dict[str, Any], m: dict[str, float], per: int = 8) -> Path:
    """The first samples of each policy, and each one's highest-scoring failures."""
    lines = ["# s4.rlhf samples (held-out prompts, temperature 1)", ""]
    for name, s in samples.items():
        lines += [f"## {name.upper()}: reward {m[f'{name}_reward']:.3f}, "
                  f"all checks {m[f'{name}_all_rate']:.2f}", ""]  # fmt: skip
        rows = list(zip(s.tasks, s.texts, s.scores.tolist(), strict=True))
        for task, text, score in rows[:per]:
            v = judge(task, text)
            mark = "✓" if v.all_ok else "✗" + ("" if not v.degenerate else " degenerate")
            lines.append(f"- {task.prompt} {text}  (score {score:.2f}, {mark})")
        failed = sorted((r for r in rows if not judge(r[0], r[1]).all_ok), key=lambda r: -r[2])
        lines += ["", "Highest-scoring samples that fail the judge:", ""]
        lines += [f"- {t.prompt} {x}  (score {sc:.2f})" for t, x, sc in failed[:5]] or ["- none"]
        lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
