"""A linear-chain CRF written out: forward algorithm, gold-path score, Viterbi, BIO constraints.

For emissions ``E[t, y]`` (one sequence, length T, K tags) and parameters ``s`` (start),
``A`` (``A[i, j]``: tag i followed by tag j) and ``e`` (end), a tag path y has the score

    score(y) = s[y_1] + Σ_t E[t, y_t] + Σ_{t>1} A[y_{t-1}, y_t] + e[y_T]

and probability ``p(y | x) = exp(score(y)) / Z`` with the log-partition

    log Z = logsumexp over all K^T paths of score(y)

computed in O(T K²) by the forward algorithm in log space:

    α_1(j) = s[j] + E[1, j];   α_t(j) = logsumexp_i (α_{t-1}(i) + A[i, j]) + E[t, j];
    log Z = logsumexp_j (α_T(j) + e[j]).

Viterbi is the same recursion with max in place of logsumexp, keeping the argmax to
backtrack the best path. Training maximises ``score(gold) − log Z``.

Batches are padded: ``mask[b, t]`` is True for real positions and must be a prefix
(the first position always real), the convention of PyPI ``pytorch-crf`` (whose
parameter names and layout this module shares, so tests can copy weights across).

**BIO constraints** (:func:`bio_constraints`): I-X may follow only B-X or I-X, and a
sequence may not start with I-X. :meth:`CRF.decode` applies them by giving forbidden
moves a score of −10⁴, so the decoded path is always valid IOB2 whatever the learned
transitions say; training is left unconstrained.
"""

from __future__ import annotations

import torch
from torch import nn

FORBIDDEN = -1.0e4  # a move's score when a constraint forbids it (exp(−10⁴) = 0 in float32)


def bio_constraints(tags: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """(allowed[i, j]: tag j may follow tag i, allowed_start[j]) for IOB2 tag names."""
    k = len(tags)
    allowed = torch.ones(k, k, dtype=torch.bool)
    start = torch.ones(k, dtype=torch.bool)
    for j, tag in enumerate(tags):
        if not tag.startswith("I-"):
            continue
        start[j] = False
        for i, prev in enumerate(tags):
            allowed[i, j] = prev[2:] == tag[2:] and prev[:2] in ("B-", "I-")
    return allowed, start


class CRF(nn.Module):
    """Linear-chain CRF over ``num_tags`` tags (batch first: emissions are (B, T, K))."""

    allowed: torch.Tensor
    allowed_start: torch.Tensor

    def __init__(self, num_tags: int, tags: list[str] | None = None) -> None:
        super().__init__()
        self.num_tags = num_tags
        self.start_transitions = nn.Parameter(torch.empty(num_tags).uniform_(-0.1, 0.1))
        self.end_transitions = nn.Parameter(torch.empty(num_tags).uniform_(-0.1, 0.1))
        self.transitions = nn.Parameter(torch.empty(num_tags, num_tags).uniform_(-0.1, 0.1))
        allowed, start = (
            bio_constraints(tags)
            if tags
            else (
                torch.ones(num_tags, num_tags, dtype=torch.bool),
                torch.ones(num_tags, dtype=torch.bool),
            )
        )
        self.register_buffer("allowed", allowed, persistent=False)
        self.register_buffer("allowed_start", start, persistent=False)

    # ── training ─────────────────────────────────────────────────────────────────────

    def forward(
        self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Per-sequence log-likelihood ``score(gold) − log Z``, shape (B,)."""
        mask = _full_mask(emissions) if mask is None else mask.bool()
        return self.gold_score(emissions, tags, mask) - self.log_partition(emissions, mask)

    def gold_score(
        self, emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        """score(y) of the given paths, padded positions excluded; (B,)."""
        m = mask.to(emissions.dtype)
        emit = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)  # (B, T)
        score = self.start_transitions[tags[:, 0]] + (emit * m).sum(1)
        moves = self.transitions[tags[:, :-1], tags[:, 1:]]  # (B, T-1)
        score = score + (moves * m[:, 1:]).sum(1)
        last = mask.long().sum(1) - 1  # index of each sequence's last real position
        last_tags = tags.gather(1, last.unsqueeze(1)).squeeze(1)
        return score + self.end_transitions[last_tags]

    def log_partition(self, emissions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """log Z by the forward algorithm in log space; (B,)."""
        alpha = self.start_transitions + emissions[:, 0]  # (B, K)
        for t in range(1, emissions.shape[1]):
            # (B, K, 1) + (K, K) + (B, 1, K) -> (B, K, K), reduced over the previous tag i
            step = torch.logsumexp(
                alpha.unsqueeze(2) + self.transitions + emissions[:, t].unsqueeze(1), dim=1
            )
            alpha = torch.where(mask[:, t].unsqueeze(1), step, alpha)
        return torch.logsumexp(alpha + self.end_transitions, dim=1)

    # ── decoding ─────────────────────────────────────────────────────────────────────

    def decode(
        self, emissions: torch.Tensor, mask: torch.Tensor | None = None, constrained: bool = True
    ) -> list[list[int]]:
        """The highest-scoring tag path of each sequence (Viterbi), padding cut off."""
        mask = _full_mask(emissions) if mask is None else mask.bool()
        start, moves = self._decoding_scores(constrained)
        score = start + emissions[:, 0]  # (B, K)
        history = []
        for t in range(1, emissions.shape[1]):
            total = score.unsqueeze(2) + moves + emissions[:, t].unsqueeze(1)  # (B, K, K)
            best, argbest = total.max(dim=1)
            history.append(argbest)
            score = torch.where(mask[:, t].unsqueeze(1), best, score)
        last = (score + self.end_transitions).argmax(1).tolist()
        lengths = mask.long().sum(1).tolist()
        # backtrack on the CPU: one copy instead of a device sync per position
        back = torch.stack(history, 0).cpu().tolist() if history else []  # (T-1, B, K)
        paths = []
        for b, length in enumerate(lengths):
            tag = last[b]
            path = [tag]
            for t in range(length - 1, 0, -1):
                tag = back[t - 1][b][tag]
                path.append(tag)
            paths.append(path[::-1])
        return paths

    def _decoding_scores(self, constrained: bool) -> tuple[torch.Tensor, torch.Tensor]:
        if not constrained:
            return self.start_transitions, self.transitions
        forbid = torch.tensor(
            FORBIDDEN, dtype=self.transitions.dtype, device=self.transitions.device
        )
        start = torch.where(self.allowed_start, self.start_transitions, forbid)
        return start, torch.where(self.allowed, self.transitions, forbid)

    def path_score(self, emissions: torch.Tensor, path: list[int]) -> torch.Tensor:
        """score(y) of one path over one sequence's emissions (T, K): the formula, directly."""
        total = self.start_transitions[path[0]] + self.end_transitions[path[-1]]
        for t, tag in enumerate(path):
            total = total + emissions[t, tag]
            if t:
                total = total + self.transitions[path[t - 1], tag]
        return total


def _full_mask(emissions: torch.Tensor) -> torch.Tensor:
    return torch.ones(emissions.shape[:2], dtype=torch.bool, device=emissions.device)
