"""The dashboards' figures, read from the console's index for a range of event time: each
query reads pre-counted buckets (minutes, hours or days, by the range's length), never the
log, so a month costs about as much as an hour.

>>> pick_range("7d", None, None, latest=10 * 86400.0)
(259200.0, 864000.0, '7d')
>>> bucket_for(3600.0), bucket_for(5 * 86400.0), bucket_for(90 * 86400.0)
(60, 3600, 86400)
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fraudwatch.console import plots
from fraudwatch.console.i18n import format_time, zone
from fraudwatch.console.store import DAY, HOUR, LATENCY_BOUNDS, MINUTE, SCORE_BINS

RANGES = {"1h": HOUR, "6h": 6 * HOUR, "24h": DAY, "7d": 7 * DAY, "30d": 30 * DAY, "90d": 90 * DAY}
OUTCOMES = ("allow", "review", "challenge", "block")
TOP_RULES = 6


def pick_range(name: str | None, since: float | None, until: float | None, latest: float | None) -> tuple:
    """``(start, end, name)``: a named range ending at the latest event seen, or ``since``
    to ``until`` (``name`` 'custom')."""
    if since is not None and until is not None and until > since:
        return since, until, "custom"
    end = latest if latest is not None else time.time()
    name = name if name in RANGES else "24h"
    return end - RANGES[name], end, name


def bucket_for(span: float) -> int:
    if span <= 2 * DAY:
        return MINUTE
    if span <= 31 * DAY:
        return HOUR
    return DAY


def _buckets(start: float, end: float, size: int) -> list[int]:
    first = int(start // size) * size
    return list(range(first, int(end) + 1, size))


def decisions_per_minute(conn, start: float, end: float) -> dict[str, list[tuple[float, float]]]:
    size = bucket_for(end - start)
    table = "outcomes_minute" if size == MINUTE else "outcomes_hour"
    step = MINUTE if size == MINUTE else HOUR
    counts: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for t, outcome, n in conn.execute(
        f"SELECT t, outcome, n FROM {table} WHERE t >= ? AND t < ?", (int(start // step) * step, end)
    ):
        counts[outcome][int(t // size) * size] += n
    per = size / MINUTE
    grid = _buckets(start, end, size)
    return {o: [(t, counts[o].get(t, 0) / per) for t in grid] for o in OUTCOMES if o in counts}


def rule_hit_rates(conn, start: float, end: float) -> dict[str, list[tuple[float, float]]]:
    """Hits per 1,000 decisions of the rules that fired most in the range (shadow hits
    under the rule's name with ' (shadow)')."""
    size = HOUR if end - start <= 14 * DAY else DAY
    lo = int(start // HOUR) * HOUR
    totals: dict[int, int] = defaultdict(int)
    for t, n in conn.execute("SELECT t, sum(n) FROM outcomes_hour WHERE t >= ? AND t < ? GROUP BY t", (lo, end)):
        totals[int(t // size) * size] += n
    top = conn.execute(
        "SELECT rule, shadow, sum(n) AS hits FROM rule_hits_hour WHERE t >= ? AND t < ?"
        " GROUP BY rule, shadow ORDER BY hits DESC LIMIT ?",
        (lo, end, TOP_RULES),
    ).fetchall()
    out = {}
    grid = _buckets(start, end, size)
    for rule, shadow, _ in top:
        hits: dict[int, int] = defaultdict(int)
        for t, n in conn.execute(
            "SELECT t, n FROM rule_hits_hour WHERE rule = ? AND shadow = ? AND t >= ? AND t < ?",
            (rule, shadow, lo, end),
        ):
            hits[int(t // size) * size] += n
        name = f"{rule} (shadow)" if shadow else rule
        out[name] = [(t, 1000 * hits.get(t, 0) / totals[t]) for t in grid if totals.get(t)]
    return out


def score_histograms(conn, start: float, end: float) -> dict[tuple[str, int], dict[int, list[int]]]:
    """``{(model, champion): {fraud: counts per bin}}`` for the days the range touches."""
    out: dict[tuple[str, int], dict[int, list[int]]] = {}
    for model, champion, b, fraud, n in conn.execute(
        "SELECT model, champion, bin, fraud, sum(n) FROM scores_day WHERE t >= ? AND t < ?"
        " GROUP BY model, champion, bin, fraud",
        (int(start // DAY) * DAY, end),
    ):
        per = out.setdefault((model, champion), {0: [0] * SCORE_BINS, 1: [0] * SCORE_BINS})
        per[fraud][b] += n
    return out


def fraud_by_day(conn, start: float, end: float) -> tuple[list[int], dict[int, dict[int, int]], dict]:
    days = _buckets(start, end, DAY)
    counts: dict[int, dict[int, int]] = {0: defaultdict(int), 1: defaultdict(int)}
    amounts: dict[str, dict[int, int]] = defaultdict(lambda: {0: 0, 1: 0})
    for t, currency, caught, n, amount in conn.execute(
        "SELECT t, currency, caught, n, amount FROM fraud_day WHERE t >= ? AND t < ?", (days[0], end)
    ):
        counts[caught][t] += n
        amounts[currency][caught] += amount
    return days, counts, dict(amounts)


def answers(conn, start: float, end: float) -> tuple[list[int], dict[str, dict[int, int]], list[int]]:
    days = _buckets(start, end, DAY)
    by_day: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    latency = [0] * (len(LATENCY_BOUNDS) + 1)
    for t, answer, bucket, n in conn.execute(
        "SELECT t, answer, latency, n FROM answers_day WHERE t >= ? AND t < ?", (days[0], end)
    ):
        by_day[answer][t] += n
        latency[bucket] += n
    return days, by_day, latency


def _day_labels(days: list[int], timezone: str) -> list[str]:
    return [datetime.fromtimestamp(d, zone(timezone)).strftime("%m-%d") for d in days]


def notable(conn, limit: int = 6) -> dict[str, list[tuple]]:
    """Entities worth a look, over all the log: cards on several accounts with fraud labels
    (leaked cards), devices and IPs seen with many cards, IPs with many failed logins."""

    def split(rows):
        return [(*row[0].split(":", 1), *row[1:]) for row in rows]

    return {
        "leaked_cards": split(
            conn.execute(
                "SELECT id, accounts, fraud FROM nodes WHERE fraud > 0 AND id LIKE 'card:%' AND accounts >= 2"
                " ORDER BY fraud DESC, id LIMIT ?",
                (limit,),
            ).fetchall()
        ),
        "many_cards": split(
            conn.execute(
                "SELECT id, cards, fraud FROM nodes WHERE cards >= 5 AND (id LIKE 'device:%' OR id LIKE 'ip:%')"
                " ORDER BY cards DESC, id LIMIT ?",
                (limit,),
            ).fetchall()
        ),
        "failed_logins": split(
            conn.execute(
                "SELECT id, failed_logins, accounts FROM nodes WHERE failed_logins >= 20 AND id LIKE 'ip:%'"
                " ORDER BY failed_logins DESC, id LIMIT ?",
                (limit,),
            ).fetchall()
        ),
    }


def build(conn, start: float, end: float, timezone: str, t: Callable[..., str]) -> dict[str, Any]:
    """Every plot of the dashboards page as SVG, with the figures shown beside them."""
    empty = t("no_data")
    outcome_names = {o: t(f"outcome_{o}") for o in OUTCOMES}
    outcome_classes = {o: f"o-{o}" for o in OUTCOMES}
    out: dict[str, Any] = {}
    per_minute = decisions_per_minute(conn, start, end)
    out["decisions"] = plots.time_lines(
        per_minute,
        start,
        end,
        timezone,
        title=t("plot_decisions"),
        unit=t("per_minute"),
        names=outcome_names,
        classes=outcome_classes,
        empty_text=empty,
    )
    out["rules"] = plots.time_lines(
        rule_hit_rates(conn, start, end),
        start,
        end,
        timezone,
        title=t("plot_rules"),
        unit=t("per_1000"),
        empty_text=empty,
    )
    edges = [i / SCORE_BINS for i in range(SCORE_BINS + 1)]
    histograms = score_histograms(conn, start, end)
    champion = next((k for k in histograms if k[1] == 1), None)
    series = {}
    if champion:
        series = {"fraud": histograms[champion][1], "other": histograms[champion][0]}
    out["scores"] = plots.histogram(
        edges,
        series,
        title=t("plot_scores") + (f" · {champion[0]}" if champion else ""),
        unit=t("share"),
        names={"fraud": t("labelled_fraud"), "other": t("not_labelled_fraud")},
        classes={"fraud": "o-block", "other": "o-allow"},
        empty_text=t("no_scores"),
    )
    models = sorted(histograms, key=lambda k: (-k[1], k[0]))
    comparison = {}
    rows = []
    for _i, key in enumerate(models):
        role = t("champion") if key[1] else t("challenger")
        comparison[f"{key[0]} · {role} · {t('labelled_fraud')}"] = histograms[key][1]
        comparison[f"{key[0]} · {role} · {t('not_labelled_fraud')}"] = histograms[key][0]
        fraud, other = histograms[key][1], histograms[key][0]
        half = SCORE_BINS // 2
        rows.append(
            {
                "model": key[0],
                "role": role,
                "fraud": sum(fraud),
                "fraud_high": sum(fraud[half:]) / sum(fraud) if sum(fraud) else None,
                "other_high": sum(other[half:]) / sum(other) if sum(other) else None,
            }
        )
    out["models"] = plots.histogram(
        edges, comparison, title=t("plot_models"), unit=t("share"), empty_text=t("no_scores")
    )
    out["model_rows"] = rows
    days, counts, amounts = fraud_by_day(conn, start, end)
    labels = _day_labels(days, timezone)
    out["fraud"] = plots.bars(
        labels,
        {"caught": [counts[1].get(d, 0) for d in days], "missed": [counts[0].get(d, 0) for d in days]},
        title=t("plot_fraud"),
        unit=t("payments"),
        names={"caught": t("caught"), "missed": t("missed")},
        classes={"caught": "o-allow-good", "missed": "o-block"},
        empty_text=t("no_fraud_labels"),
    )
    out["fraud_amounts"] = sorted(amounts.items())
    out["fraud_counts"] = (sum(counts[1].values()), sum(counts[0].values()))
    days, by_day, latency = answers(conn, start, end)
    out["answers"] = plots.bars(
        _day_labels(days, timezone),
        {a: [by_day[a].get(d, 0) for d in days] for a in ("yes", "no") if a in by_day},
        title=t("plot_answers"),
        unit=t("answers"),
        names={"yes": t("answer_yes"), "no": t("answer_no")},
        classes={"yes": "o-allow-good", "no": "o-block"},
        empty_text=t("no_answers"),
    )
    bounds = [f"<{b}m" for b in LATENCY_BOUNDS] + [f"≥{LATENCY_BOUNDS[-1]}m"]
    out["latency"] = plots.bars(
        bounds,
        {"n": latency},
        title=t("plot_latency"),
        unit=t("answers"),
        names={"n": t("answers")},
        empty_text=t("no_answers"),
    )
    out["answer_counts"] = {a: sum(v.values()) for a, v in by_day.items()}
    out["notable"] = notable(conn)
    out["range_text"] = f"{format_time(start, timezone)} – {format_time(end, timezone)}"
    return out
