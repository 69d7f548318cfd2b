"""A two-tower retriever trained with in-batch softmax (YouTube/Google-style recall).

Item tower: v_i = normalise(MLP([e_i, genres_i, year_i])), e_i a learned id embedding,
so a movie never seen in training still gets a vector from its genres and year.
User tower: u = normalise(MLP([mean_{j∈H} h_j, mean_{j∈H} genres_j])), the mean of
history embeddings h_j and the user's genre profile; a user is their history, so a
new rating changes the vector without retraining (and a user with no history gets
the vector of the empty profile).

Training pairs (u, t) are history interactions with t left out of u's history. For
a batch of B pairs the logits are s_bc = u_b · v_c / τ over the B items of the
batch; the loss is cross-entropy with the diagonal as the label. In-batch
negatives are sampled in proportion to popularity, which biases toward punishing
popular items; the logQ correction (Yi et al. 2019) subtracts log p_c from s_bc.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from scipy import sparse
from torch import nn
from torch.nn import functional as F

Bag = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


@dataclass(frozen=True)
class TowerConfig:
    dim: int = 32
    hidden: int = 128
    temperature: float = 0.05
    epochs: int = 10
    batch_size: int = 512
    lr: float = 3e-3
    weight_decay: float = 1e-6
    log_q: bool = True
    max_history: int = 64  # history items pooled per training pair (all at inference)
    seed: int = 0
    threads: int = 1  # torch CPU threads: more than the free cores makes every op spin


class TwoTower(nn.Module):
    def __init__(self, genres: np.ndarray, year: np.ndarray, c: TowerConfig) -> None:
        super().__init__()
        n_items, n_genres = genres.shape
        self.genres: torch.Tensor
        self.year: torch.Tensor
        self.register_buffer("genres", torch.as_tensor(genres))
        self.register_buffer("year", torch.as_tensor(year))
        self.item_id = nn.Embedding(n_items, c.dim)
        self.history_id = nn.Embedding(n_items, c.dim)
        nn.init.normal_(self.item_id.weight, std=0.05)
        nn.init.normal_(self.history_id.weight, std=0.05)
        self.item_mlp = _mlp(c.dim + n_genres + year.shape[1], c.hidden, c.dim)
        self.user_mlp = _mlp(c.dim + n_genres, c.hidden, c.dim)

    def items(self, index: torch.Tensor | None = None) -> torch.Tensor:
        """Unit item vectors (all items when ``index`` is None)."""
        if index is None:
            index = torch.arange(self.genres.shape[0], device=self.genres.device)
        x = torch.cat([self.item_id(index), self.genres[index], self.year[index]], dim=1)
        return F.normalize(self.item_mlp(x), dim=1)

    def users(self, bag: Bag) -> torch.Tensor:
        """Unit user vectors from history bags (each bag's weights sum to 1)."""
        items, offsets, weights = bag
        pooled = F.embedding_bag(
            items, self.history_id.weight, offsets, mode="sum", per_sample_weights=weights
        )
        profile = F.embedding_bag(
            items, self.genres, offsets, mode="sum", per_sample_weights=weights
        )
        return F.normalize(self.user_mlp(torch.cat([pooled, profile], dim=1)), dim=1)


def _mlp(n_in: int, hidden: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, n_out))


def history_bags(
    history: sparse.csr_matrix,
    users: np.ndarray,
    leave_out: np.ndarray | None,
    max_items: int = 0,
    rng: np.random.Generator | None = None,
) -> Bag:
    """(items, offsets, weights) of each user's history, ``leave_out[b]`` removed from row b;
    weights 1/n per row, so a bag sums to the mean (an empty history pools to zeros).

    With ``max_items`` > 0 each row is replaced by ``max_items`` draws with replacement
    from it: an unbiased estimate of the mean whose cost per pair stays bounded (exact
    pooling costs Σ_u n_u² per epoch, dominated by the heaviest users)."""
    if max_items > 0 and rng is not None:
        start, count = history.indptr[users], np.diff(history.indptr)[users]
        pos = start[:, None] + (rng.random((len(users), max_items)) * count[:, None]).astype(int)
        items = history.indices[np.minimum(pos, max(history.nnz - 1, 0))]
        keep = count[:, None] > 0
        if leave_out is not None:
            keep = keep & (items != leave_out[:, None])
        owner = np.broadcast_to(np.arange(len(users))[:, None], items.shape)[keep]
        items = items[keep]
    else:
        rows = history[users]
        counts = np.diff(rows.indptr)
        owner = np.repeat(np.arange(len(users)), counts)
        keep_flat = np.ones(rows.indices.size, dtype=bool)
        if leave_out is not None:
            keep_flat = rows.indices != np.repeat(leave_out, counts)
        items, owner = rows.indices[keep_flat], owner[keep_flat]
    n = np.bincount(owner, minlength=len(users))
    offsets = np.concatenate([[0], np.cumsum(n)[:-1]])
    weights = 1.0 / np.maximum(n, 1)[owner]
    return (
        torch.as_tensor(items, dtype=torch.int64),
        torch.as_tensor(offsets, dtype=torch.int64),
        torch.as_tensor(weights, dtype=torch.float32),
    )


@dataclass
class TowerReport:
    model: TwoTower
    losses: list[float]
    seconds: float


def train_two_tower(
    history: sparse.csr_matrix, genres: np.ndarray, year: np.ndarray, c: TowerConfig
) -> TowerReport:
    """Fit on every (user, item) of ``history``, each item left out of its own user row."""
    torch.manual_seed(c.seed)
    torch.set_num_threads(c.threads)
    rng = np.random.default_rng(c.seed)
    model = TwoTower(genres, year, c)
    opt = torch.optim.Adam(model.parameters(), lr=c.lr, weight_decay=c.weight_decay)
    coo = history.tocoo()
    pairs_u, pairs_i = coo.row.astype(np.int64), coo.col.astype(np.int64)
    counts = np.asarray(history.sum(0)).ravel()
    log_p = torch.as_tensor(np.log(np.maximum(counts, 1) / counts.sum()), dtype=torch.float32)
    losses, start = [], time.perf_counter()
    for _ in range(c.epochs):
        order = rng.permutation(len(pairs_u))
        total = 0.0
        for b in range(0, len(order), c.batch_size):
            idx = order[b : b + c.batch_size]
            users, items = pairs_u[idx], pairs_i[idx]
            u = model.users(history_bags(history, users, items, c.max_history, rng))
            item_index = torch.as_tensor(items)
            logits = u @ model.items(item_index).T / c.temperature
            if c.log_q:
                logits = logits - log_p[item_index][None, :]
            same = item_index[None, :] == item_index[:, None]  # duplicates are not negatives
            logits = logits.masked_fill(same & ~torch.eye(len(idx), dtype=torch.bool), -1e9)
            loss = F.cross_entropy(logits, torch.arange(len(idx)))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        losses.append(total / len(order))
    return TowerReport(model.eval(), losses, time.perf_counter() - start)


@torch.no_grad()
def embed(model: TwoTower, history: sparse.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """(user vectors from every row of ``history``, item vectors), float32 numpy."""
    users = model.users(history_bags(history, np.arange(history.shape[0]), None))
    return users.numpy(), model.items().numpy()
