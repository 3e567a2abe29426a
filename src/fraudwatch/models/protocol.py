"""The Fraud Detection Handbook's prequential protocol and metrics (chapters 3, 5, 6), on
the handbook's data set or on any labeled history.

Days are whole days since the data set's first midnight (the handbook's ``TX_TIME_DAYS``).
A fold trains on 7 days, skips a 7-day gap (labels arrive 7 days late) and tests on the
next 7 days. From the test days it removes the cards known to be compromised: those with
a fraud in the training week, and, cumulatively for test day ``d``, those with a fraud on
day ``train_start + 7 + d - 1`` (the handbook's ``get_train_test_set``). On a history with
its own label events, "known" is read from when each fraud's label arrived instead
(``known_day``); with labels exactly 7 days after their payments both give the same sets.
:func:`prequential_folds` places the folds on any history: test folds at its end,
validation folds just before them, as the handbook's dates are placed.

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
    "prequential_folds",
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


def prequential_folds(
    first_day: int,
    last_day: int,
    *,
    origin: date,
    delta_train: int = 7,
    delta_delay: int = 7,
    delta_test: int = 7,
    n_test: int = 4,
    n_valid: int = 4,
) -> list[Fold]:
    """Folds on a history whose payments span days ``first_day..last_day``: the last test
    week ends ``delta_delay`` days before the last day (its frauds have had the delay to be
    labeled), test folds step back ``delta_test`` days each, and the latest validation fold
    tests on the earliest test fold's training days (the handbook's placement: validation
    training weeks start 35 days before the test ones). Raises ``ValueError`` when the
    history is too short, saying how many days it needs."""
    latest = last_day - delta_delay - (delta_train + delta_delay + delta_test) + 1
    earliest_test = latest - (n_test - 1) * delta_test
    latest_valid = earliest_test - (delta_delay + delta_test)
    earliest_valid = latest_valid - (n_valid - 1) * delta_test
    if earliest_valid < first_day:
        need = latest - earliest_valid + 2 * delta_delay + delta_train + delta_test
        raise ValueError(
            f"{n_valid} validation and {n_test} test folds of {delta_train} training, {delta_delay} gap and "
            f"{delta_test} test days need {need} days of payments; the history has {last_day - first_day + 1}"
        )

    def fold(name: str, kind: str, day: int) -> Fold:
        return Fold(name, kind, origin + timedelta(days=day), delta_train, delta_delay, delta_test, origin)

    folds = [fold(f"valid{i}", "valid", latest_valid - i * delta_test) for i in range(n_valid)]
    return folds + [fold(f"test{i}", "test", latest - i * delta_test) for i in range(n_test)]


def fold_indices(
    fold: Fold, day: np.ndarray, card: np.ndarray, fraud: np.ndarray, known_day: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the training and test sets of ``fold`` (the handbook's
    ``get_train_test_set``). ``known_day``: per row, the day (fractional, from the same
    origin) its fraud label arrived, ``inf`` if none; without it, a fraud is known
    ``delta_delay`` days after its day ends, as in the handbook."""
    s = fold.train_start_day
    if known_day is None:
        known_day = np.where(fraud == 1, day + fold.delta_delay + 0.5, np.inf)
    train = np.flatnonzero((day >= s) & (day < s + fold.delta_train))
    test_parts = []
    since = day >= s
    for d in range(fold.delta_test):
        test_day = s + fold.delta_train + fold.delta_delay + d
        # cards with a fraud since the training start whose label arrived before the test day
        known = np.unique(card[since & (known_day < test_day)])
        rows = np.flatnonzero(day == test_day)
        test_parts.append(rows[~np.isin(card[rows], known)])
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


ALERT_RATES = (0.001, 0.005, 0.01, 0.05)  # genuine payments alerted: the false-positive rates reported


def fold_metrics(y, score, day, card, amount, k: int = 100) -> dict[str, float]:
    """All metrics of one fold's test set (amount in currency units): AUC ROC, AP, Card
    Precision@k, and at each genuine alert rate of ``ALERT_RATES`` the recall and the share
    of the fraud amount caught (``recall_at_1pct_fpr``, ``fraud_amount_caught_share_at_1pct_fpr``, ...;
    the 1 % ones also without the suffix)."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    y = np.asarray(y).astype(np.int64)
    amount = np.nan_to_num(np.asarray(amount, dtype=np.float64))
    fraud_amount = float(amount[y == 1].sum())
    both = 0 < y.sum() < len(y)
    out = {
        "auc_roc": float(roc_auc_score(y, score)) if both else float("nan"),
        "average_precision": float(average_precision_score(y, score)) if both else float("nan"),
        f"card_precision_at_{k}": card_precision_at_k(day, card, y, score, k),
        "fraud_amount": fraud_amount,
        "n_test": int(len(y)),
        "n_fraud": int(y.sum()),
    }
    for rate in ALERT_RATES:
        recall, threshold = recall_at_fpr(y, score, rate)
        caught = float(amount[(score > threshold) & (y == 1)].sum())
        suffix = f"{rate * 100:g}pct_fpr"
        out[f"recall_at_{suffix}"] = recall
        out[f"fraud_amount_caught_at_{suffix}"] = caught
        out[f"fraud_amount_caught_share_at_{suffix}"] = caught / fraud_amount if fraud_amount else float("nan")
    out["fraud_amount_caught"] = out["fraud_amount_caught_at_1pct_fpr"]
    out["fraud_amount_caught_share"] = out["fraud_amount_caught_share_at_1pct_fpr"]
    return out
