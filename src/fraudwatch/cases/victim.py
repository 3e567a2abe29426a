"""The victim's side: the case reference, a status page behind a signed link (the same
mechanism as the alert links, with a key of its own), and status-change notifications.

The page says what happened, what was stopped, what is being given back, and the next
step with its date. It never shows a card number, an IP address or another cardholder's
data: the link is the cardholder's own.
"""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
from datetime import UTC, datetime
from html import escape
from typing import Any

from fraudwatch.actions import format_amount, make_link, read_link
from fraudwatch.cases import store
from fraudwatch.cases.money import summary as money_summary
from fraudwatch.cases.service import get_case

#: the page and the notification details per language; a language not here reads English
TEXTS: dict[str, dict[str, Any]] = {
    "en": {
        "label": {
            "monitoring": "being watched",
            "open": "waiting for an analyst",
            "in_review": "in review",
            "recovering": "fraud confirmed, money being recovered",
            "closed": "closed",
        },
        "status": {
            "monitoring": "We noticed unusual activity and are watching it. Nothing is needed from you.",
            "open": "Your case is waiting for a fraud analyst.",
            "in_review": "A fraud analyst is reviewing your case.",
            "recovering": "Fraud is confirmed. Your money is being recovered.",
            "closed": "Your case is closed.",
        },
        "step": {
            "analyst": "A fraud analyst decides on your case.",
            "dispute": "The chargeback is at its '{stage}' stage.",
            "refund": "A refund of {amount} is on its way.",
            "finished": "Nothing more: this case is finished.",
            "nothing": "Nothing is needed from you.",
        },
        "stages": {},
        "date": "%Y-%m-%d",
        "by": " (by {date})",
        "title": "Case {reference}",
        "summary": "Since {since}: {payments} payment attempt(s); stopped: {stopped}; let through: {let_through};"
        " given back: {refunded} refunded or reversed, {charged_back} through a chargeback.",
        "next": "Next: {text}{by}",
        "late": "Some of these payments are older than the period your issuer compensates; your issuer will tell"
        " you what applies.",
        "quote": "Quote the reference {reference} when you contact us. We never ask for your card number or password.",
        "follow": "Follow your case: {link}",
    },
    "ja": {
        "label": {
            "monitoring": "見守り中",
            "open": "確認待ち",
            "in_review": "確認中",
            "recovering": "不正利用と確認、返還手続き中",
            "closed": "対応完了",
        },
        "status": {
            "monitoring": "不審なご利用を確認し、見守っています。お客様のお手続きは不要です。",
            "open": "担当者による確認をお待ちいただいています。",
            "in_review": "担当者がお客様の件を確認しています。",
            "recovering": "不正利用と確認しました。返金・返還の手続きを進めています。",
            "closed": "この件の対応は完了しました。",
        },
        "step": {
            "analyst": "担当者がお客様の件について判断します。",
            "dispute": "チャージバックの手続き中です（{stage}）。",
            "refund": "{amount}の返金手続き中です。",
            "finished": "これ以上のお手続きはありません。",
            "nothing": "お客様のお手続きは不要です。",
        },
        "stages": {
            "dispute": "異議申立て",
            "dispute_response": "加盟店の回答",
            "pre_arbitration": "仲裁前の協議",
            "pre_arbitration_declined": "仲裁前の協議の不成立",
            "arbitration": "仲裁",
            "first_chargeback": "第1次チャージバック",
            "second_presentment": "再提示",
            "representment": "再提示",
            "second_chargeback": "第2次チャージバック",
            "inquiry": "照会",
            "inquiry_response": "照会への回答",
            "chargeback": "チャージバック",
            "review": "審査",
            "response": "加盟店の回答",
        },
        "date": "%Y年%m月%d日",
        "by": "（{date}まで）",
        "title": "受付番号 {reference}",
        "summary": "{since}以降：お支払いの試行 {payments}件、停止 {stopped}、通過 {let_through}、"
        "返金・取消 {refunded}、チャージバックによる返還 {charged_back}。",
        "next": "次の手続き：{text}{by}",
        "late": "一部のお支払いは、カード会社の補償期間を過ぎています。適用される内容はカード会社からご案内します。",
        "quote": "お問い合わせの際は受付番号 {reference} をお伝えください。"
        "当社がカード番号やパスワードをお尋ねすることはありません。",
        "follow": "手続きの状況はこちら：{link}",
    },
}


def language_of(preferred: str | None) -> str:
    """The language of ``TEXTS`` for a language code or an Accept-Language header
    (``ja-JP,ja;q=0.9,en;q=0.8``); English when none fits.

    >>> language_of("ja-JP,ja;q=0.9,en;q=0.8"), language_of("fr, en;q=0.5"), language_of(None)
    ('ja', 'en', 'en')
    """
    tags = []
    for n, part in enumerate((preferred or "").split(",")):
        tag, _, params = part.strip().partition(";")
        try:
            q = float(params.strip()[2:]) if params.strip().startswith("q=") else 1.0
        except ValueError:
            q = 0.0
        tags.append((-q, n, tag.strip().lower().split("-")[0]))
    return next((tag for _, _, tag in sorted(tags) if tag in TEXTS), "en")


def status_key(token_key: bytes) -> bytes:
    """The status links' key, derived from the alert links' key (never the same bytes)."""
    return hmac.new(token_key, b"fraudwatch case status links", hashlib.sha256).digest()


def status_token(key: bytes, case_id: str, *, expires: float) -> str:
    return make_link(status_key(key), {"c": case_id, "t": "status"}, expires=expires)


def read_status_token(key: bytes, token: str, *, now: float | None = None) -> str:
    """The case id of a status link; raises ``TokenInvalid`` (403) or ``TokenExpired`` (410)."""
    from fraudwatch.actions import TokenInvalid

    claims = read_link(status_key(key), token, now=now)
    if claims.get("t") != "status" or not isinstance(claims.get("c"), str):
        raise TokenInvalid("not a case status link")
    return claims["c"]


def _date(ts: float | None, language: str = "en") -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).strftime(TEXTS[language]["date"])


def status_view(conn: sqlite3.Connection, case_id: str, language: str = "en") -> dict[str, Any]:
    """What the cardholder (or the support desk reading it to them) sees, in ``language``
    (a key of ``TEXTS``); ``facts`` holds the same in figures, for ``localized``."""
    case = get_case(conn, case_id)
    stopped, let_through, currency = 0, 0, case.currency
    attempts = 0
    for r in store.events_of(conn, case.id):
        if r["kind"] != "payment.attempt":
            continue
        attempts += 1
        currency = currency or r["currency"]
        if r["outcome"] in ("block", "challenge"):
            stopped += r["amount"] or 0
        else:
            let_through += r["amount"] or 0
    money = money_summary(conn, case.id)
    disputes = store.disputes_of_case(conn, case.id)
    open_dispute = next((d for d in disputes if d["outcome"] is None), None)
    step: dict[str, Any]
    if case.status.value in ("open", "in_review"):
        step = {"step": "analyst", "by": case.due_at}
    elif open_dispute is not None:
        step = {"step": "dispute", "stage": open_dispute["stage"], "by": open_dispute["deadline"]}
    elif money["requested"]:
        step = {"step": "refund", "amount": money["requested"], "currency": money["currency"], "by": None}
    elif case.status.value == "closed":
        step = {"step": "finished", "by": None}
    else:
        step = {"step": "nothing", "by": None}
    facts = {
        "reference": case.reference,
        "status": case.status.value,
        "verdict": case.verdict,
        "since": case.started,
        "payments": attempts,
        "currency": currency,
        "stopped": stopped,
        "let_through": let_through,
        "refunded": money["refunded"] + money["reversed"],
        "charged_back": money["charged_back"],
        "money_currency": money["currency"] or currency,
        "next_step": step,
        "outside_compensation": [e["data"] for e in store.log_of(conn, case.id) if e["type"] == "compensation"],
    }
    return localized(facts, language)


def localized(facts: dict[str, Any], language: str = "en") -> dict[str, Any]:
    """The status view of ``facts`` (``status_view(...)["facts"]``) in ``language``."""
    language = language_of(language)
    t = TEXTS[language]
    step = facts["next_step"]
    stage = step.get("stage") or ""
    text = t["step"][step["step"]].format(
        stage=t["stages"].get(stage, stage.replace("_", " ")),
        amount=format_amount(step.get("amount"), step.get("currency"), language),
    )
    return {
        "reference": facts["reference"],
        "language": language,
        "status": facts["status"],
        "status_label": t["label"][facts["status"]],
        "status_text": t["status"][facts["status"]],
        "verdict": facts["verdict"],
        "since": _date(facts["since"], language),
        "payments": facts["payments"],
        "stopped": format_amount(facts["stopped"], facts["currency"], language),
        "let_through": format_amount(facts["let_through"], facts["currency"], language),
        "refunded": format_amount(facts["refunded"], facts["money_currency"], language),
        "charged_back": format_amount(facts["charged_back"], facts["money_currency"], language),
        "next_step": {"text": text, "by": _date(step["by"], language)},
        "outside_compensation": facts["outside_compensation"],
        "facts": facts,
    }


def status_page(view: dict[str, Any]) -> str:
    """The status page in the view's language."""
    e = escape
    t = TEXTS[view["language"]]
    step = view["next_step"]
    by = t["by"].format(date=step["by"]) if step.get("by") else ""
    late = f"<p>{e(t['late'])}</p>" if view["outside_compensation"] else ""
    summary = t["summary"].format(
        since=view["since"] or "",
        payments=view["payments"],
        stopped=view["stopped"],
        let_through=view["let_through"],
        refunded=view["refunded"],
        charged_back=view["charged_back"],
    )
    title = t["title"].format(reference=view["reference"])
    return f"""<!doctype html>
<html lang="{e(view["language"])}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{e(title)}</title></head>
<body style="font-family:sans-serif;max-width:36em;margin:2em auto">
<h1>{e(title)}</h1>
<p><strong>{e(view["status_text"])}</strong></p>
<p>{e(summary)}</p>
<p>{e(t["next"].format(text=step["text"], by=by))}</p>{late}
<p>{e(t["quote"].format(reference=view["reference"]))}</p></body></html>
"""


def case_details(view: dict[str, Any], link: str | None, language: str = "en") -> str:
    """The ``details`` of the ``case_status`` message in ``language``: where the case
    stands, the next step with its date, and the status page link."""
    view = localized(view["facts"], language)
    t = TEXTS[view["language"]]
    step = view["next_step"]
    by = t["by"].format(date=step["by"]) if step.get("by") else ""
    text = f"{view['status_text']}\n" + t["next"].format(text=step["text"], by=by)
    if view["outside_compensation"]:
        text += "\n" + t["late"]
    if link:
        text += "\n" + t["follow"].format(link=link)
    return text


def case_status_label(view: dict[str, Any], language: str = "en") -> str:
    """The case's status in a few words, in ``language`` (the ``case_status`` message's subject)."""
    return TEXTS[language_of(language)]["label"][view["status"]]
