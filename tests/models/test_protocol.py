"""The handbook protocol: fold dates, known-compromised-card removal, Card Precision@k."""

from datetime import date, timedelta

import numpy as np
import pytest

from fraudwatch.models.protocol import (
    HANDBOOK_ORIGIN,
    Fold,
    card_precision_at_k,
    fold_indices,
    handbook_folds,
    recall_at_fpr,
)


def test_handbook_fold_dates():
    folds = handbook_folds()
    test = [f for f in folds if f.kind == "test"]
    valid = [f for f in folds if f.kind == "valid"]
    assert [f.train_start for f in test] == [date(2018, 8, 15), date(2018, 8, 8), date(2018, 8, 1), date(2018, 7, 25)]
    assert [f.train_start for f in valid] == [date(2018, 7, 11), date(2018, 7, 4), date(2018, 6, 27), date(2018, 6, 20)]
    # test weeks together cover 2018-08-08 .. 2018-09-04
    assert min(f.test_start for f in test) == date(2018, 8, 8)
    assert max(f.test_end for f in test) == date(2018, 9, 4)
    assert test[0].train_start_day == 136  # days since 2018-04-01, the handbook's TX_TIME_DAYS
    # validation folds assess 2018-07-04 .. 2018-07-31, before any test week
    assert (min(f.test_start for f in valid), max(f.test_end for f in valid)) == (date(2018, 7, 4), date(2018, 7, 31))


def _frame():
    """Cards 1..5 paying every day 0..30; frauds placed to exercise each removal rule."""
    days = np.repeat(np.arange(31), 5)
    cards = np.tile(np.arange(1, 6), 31)
    fraud = np.zeros(len(days), dtype=int)
    for card, day in ((1, 3), (2, 9), (3, 14), (4, 15), (5, 0)):
        fraud[(cards == card) & (days == day)] = 1
    return days, cards, fraud


def test_fold_indices_train_week_and_known_compromised_cards():
    days, cards, fraud = _frame()
    fold = Fold("f", "test", date(2018, 4, 2))  # train days 1..7, gap 8..14, test days 15..21
    train, test = fold_indices(fold, days, cards, fraud)
    assert sorted(set(days[train])) == list(range(1, 8))
    assert sorted(set(days[test])) == list(range(15, 22))
    present = {d: set(cards[test][days[test] == d]) for d in range(15, 22)}
    for d in range(15, 22):
        assert 1 not in present[d]  # fraud in the training week: known before the test starts
        assert 3 in present[d]  # fraud on day 14 = train_start + 7 + 7 - 1: never known in the test week
        assert 4 in present[d]  # fraud on a test day itself: that is what we try to catch
        assert 5 in present[d]  # fraud before the training week: not known to this fold
    # fraud on day 9 = train_start + 7 + d - 1 for test day d = 2: removed from day 17 on
    assert 2 in present[15] and 2 in present[16]
    assert all(2 not in present[d] for d in range(17, 22))


def test_card_precision_hand_made():
    rows = [  # day, card, fraud, score
        (0, "A", 1, 0.90),
        (0, "B", 0, 0.80),
        (0, "C", 1, 0.10),
        (0, "E", 0, 0.99),
        (0, "E", 1, 0.05),  # E: highest score from a genuine payment, fraud that day
        (1, "A", 1, 0.95),
        (1, "E", 1, 0.97),  # detected on day 0: dropped on day 1
        (1, "C", 1, 0.70),
        (1, "D", 0, 0.60),
        (1, "B", 0, 0.20),
    ]
    day, card, fraud, score = (np.array(c) for c in zip(*rows, strict=False))
    # day 0: top 2 cards E (0.99, fraud) and A (0.90, fraud) -> 1.0; day 1: C, D -> 0.5
    assert card_precision_at_k(day, card, fraud, score, k=2) == pytest.approx(0.75)
    # k larger than the cards of the day: the denominator stays k
    assert (
        card_precision_at_k(np.zeros(3), np.array([1, 2, 3]), np.array([1, 0, 0]), np.array([0.3, 0.2, 0.1]), k=100)
        == 0.01
    )


def test_recall_at_fpr():
    y = np.array([0] * 100 + [1] * 4)
    s = np.r_[np.arange(100) / 100.0, [0.995, 0.985, 0.5, 0.2]]
    recall, threshold = recall_at_fpr(y, s, 0.01)
    assert threshold == pytest.approx(0.98)  # one genuine (0.99) above it: FPR 1 %
    assert recall == 0.5


def test_folds_on_any_history_are_placed_as_the_handbooks():
    from datetime import date

    from fraudwatch.models.protocol import prequential_folds

    folds = prequential_folds(0, 99, origin=date(2026, 1, 1))
    tests = [f for f in folds if f.kind == "test"]
    valids = [f for f in folds if f.kind == "valid"]
    # the last test week ends a label delay before the last day; weekly steps back
    assert tests[0].test_end == date(2026, 1, 1) + timedelta(days=99 - 7)
    assert [(t.train_start - v.train_start).days for t, v in zip(tests, valids, strict=True)] == [35] * 4
    assert valids[0].test_start == tests[-1].train_start  # validation tests on the earliest test fold's training days
    with pytest.raises(ValueError, match="need 84 days of payments; the history has 60"):
        prequential_folds(0, 59, origin=date(2026, 1, 1))


def test_known_cards_from_label_arrival_equal_the_handbook_rule():
    rng = np.random.default_rng(1)
    n = 4000
    day = np.sort(rng.integers(0, 40, n))
    card = rng.integers(0, 200, n)
    fraud = (rng.random(n) < 0.05).astype(np.int64)
    fold = Fold("f", "test", HANDBOOK_ORIGIN + timedelta(days=10))
    # labels arriving exactly 7 days after the payment, at some time of day
    known_day = np.where(fraud == 1, day + rng.random(n) + 7, np.inf)
    a = fold_indices(fold, day, card, fraud)
    b = fold_indices(fold, day, card, fraud, known_day)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True)) and len(a[1]) < np.sum((day >= 24) & (day < 31))
