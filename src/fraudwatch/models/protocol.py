"""The Fraud Detection Handbook's prequential protocol and metrics (chapters 3, 5, 6).

Days are whole days since the data set's first midnight (the handbook's ``TX_TIME_DAYS``).
A fold trains on 7 days, skips a 7-day gap (labels arrive 7 days late) and tests on the
next 7 days. From the test days it removes the cards known to be compromised: those with
a fraud in the training week, and, cumulatively for test day ``d``, those with a fraud on
day ``train_start + 7 + d - 1`` (the handbook's ``get_train_test_set``).

>>> import numpy as np
>>> day = np.array([0, 0, 0, 1, 1]); card = np.array([1, 2, 3, 1, 2])
>>> fraud = np.array([0, 1, 0, 1, 0]); score = np.array([0.1, 0.9, 0.3, 0.8, 0.2])
>>> card_precision_at_k(day, card, fraud, score, k=2)
0.5
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

__all__ = [
    "Fold",
    "HANDBOOK_ORIGIN",
    "TEST_STARTS",
    "VALID_STARTS",
    "handbook_folds",
    "fold_indices",
    "card_precision_at_k",
    "recall_at_fpr",
    "fold_metrics",
]

HANDBOOK_ORIGIN = date(2018, 4, 1)  # day 0 of the data set
TEST_STARTS = (date(2018, 8, 15), date(2018, 8, 8), date(2018, 8, 1), date(2018, 7, 25))
VALID_STARTS = (date(2018, 7, 11), date(2018, 7, 4), date(2018, 6, 27), date(2018, 6, 20))


@dataclass(frozen=True)
class Fold:
    """One prequential fold: ``kind`` is ``valid`` or ``test``; days count from ``origin``."""

    name: str
    kind: str
    train_start: date
    delta_train: int = 7
    delta_delay: int = 7
    delta_test: int = 7
    origin: date = HANDBOOK_ORIGIN

    @property
    def train_start_day(self) -> int:
        return (self.train_start - self.origin).days

    @property
    def test_start(self) -> date:
        return self.train_start + timedelta(days=self.delta_train + self.delta_delay)

    @property
    def test_end(self) -> date:
        """Last test day (inclusive)."""
        return self.test_start + timedelta(days=self.delta_test - 1)


def handbook_folds() -> list[Fold]:
    """The 4 validation and 4 test folds of the handbook's model selection (chapter 5.3)."""
    folds = [Fold(f"valid{i}", "valid", s) for i, s in enumerate(VALID_STARTS)]
    folds += [Fold(f"test{i}", "test", s) for i, s in enumerate(TEST_STARTS)]
    return folds


def fold_indices(fold: Fold, day: np.ndarray, card: np.ndarray, fraud: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the training and test sets of ``fold`` (the handbook's ``get_train_test_set``)."""
    s = fold.train_start_day
    train = np.flatnonzero((day >= s) & (day < s + fold.delta_train))
    known = set(np.unique(card[train][fraud[train] == 1]).tolist())
    test_parts = []
    for d in range(fold.delta_test):
        # frauds of the day before the test day, shifted back by the delay, become known
        before = (day == s + fold.delta_train + d - 1) & (fraud == 1)
        known.update(np.unique(card[before]).tolist())
        rows = np.flatnonzero(day == s + fold.delta_train + fold.delta_delay + d)
        keep = ~np.isin(card[rows], np.fromiter(known, dtype=card.dtype, count=len(known)))
        test_parts.append(rows[keep])
    return train, np.concatenate(test_parts) if test_parts else np.empty(0, dtype=np.int64)


def card_precision_at_k(day: np.ndarray, card: np.ndarray, fraud: np.ndarray, score: np.ndarray, k: int = 100) -> float:
    """Card Precision@k, the handbook's ``card_precision_top_k``: for each day (in order), each
    card's highest score and label (fraud if any of its payments that day is), cards detected as
    compromised on earlier days dropped, share of compromised cards among the top ``k``; mean over days."""
    detected: set = set()
    per_day = []
    for d in np.unique(day):
        m = day == d
        c, f, s = card[m], fraud[m], score[m]
        if detected:
            keep = ~np.isin(c, np.fromiter(detected, dtype=c.dtype, count=len(detected)))
            c, f, s = c[keep], f[keep], s[keep]
        cards, inv = np.unique(c, return_inverse=True)
        best = np.full(len(cards), -np.inf)
        np.maximum.at(best, inv, s)
        bad = np.zeros(len(cards), dtype=np.int64)
        np.maximum.at(bad, inv, f.astype(np.int64))
        top = np.argsort(-best, kind="stable")[:k]
        hits = cards[top][bad[top] == 1]
        per_day.append(len(hits) / k)
        detected.update(hits.tolist())
    return float(np.mean(per_day)) if per_day else float("nan")


def recall_at_fpr(y: np.ndarray, score: np.ndarray, fpr: float = 0.01) -> tuple[float, float]:
    """(recall, threshold) at the highest threshold whose false-positive rate is <= ``fpr``:
    frauds scoring strictly above the ``1 - fpr`` quantile of genuine scores."""
    genuine = np.sort(score[y == 0])
    if len(genuine) == 0 or not np.any(y == 1):
        return float("nan"), float("nan")
    # number of genuine payments allowed above the threshold
    allowed = int(np.floor(fpr * len(genuine)))
    threshold = genuine[len(genuine) - allowed - 1]
    return float(np.mean(score[y == 1] > threshold)), float(threshold)


def fold_metrics(y, score, day, card, amount) -> dict[str, float]:
    """All metrics of one fold's test set (amount in currency units)."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    y = np.asarray(y).astype(np.int64)
    recall, threshold = recall_at_fpr(y, score, 0.01)
    caught = (score > threshold) & (y == 1)
    fraud_amount = float(amount[y == 1].sum())
    return {
        "auc_roc": float(roc_auc_score(y, score)),
        "average_precision": float(average_precision_score(y, score)),
        "card_precision_at_100": card_precision_at_k(day, card, y, score, 100),
        "recall_at_1pct_fpr": recall,
        "fraud_amount": fraud_amount,
        "fraud_amount_caught": float(amount[caught].sum()),
        "fraud_amount_caught_share": float(amount[caught].sum() / fraud_amount) if fraud_amount else float("nan"),
        "n_test": int(len(y)),
        "n_fraud": int(y.sum()),
    }
