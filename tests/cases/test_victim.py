"""The cardholder's side in their language: the status page and the status messages'
details say where the case stands in Japanese for a Japanese cardholder, and in English
otherwise, with the same figures."""

from __future__ import annotations

from datetime import UTC, datetime

from fraudwatch.actions.db import Database
from fraudwatch.cases import CasesSettings, case_details, case_status_label
from fraudwatch.cases.flows import CaseFlow
from fraudwatch.cases.service import queue
from fraudwatch.cases.victim import language_of, localized, status_page, status_view
from fraudwatch.decisions import Decision, Outcome, RuleHit
from fraudwatch.events import parse_event

T0 = 1795233600.0  # 2026-11-21T13:00:00+09:00


def _case(tmp_path):
    db = Database(str(tmp_path / "cases.db"))
    flow = CaseFlow(CasesSettings())
    with db.unit_of_work() as conn:
        for n, outcome in enumerate(("allow", "block", "block")):
            e = parse_event(
                {
                    "id": f"p-{n}",
                    "kind": "payment.attempt",
                    "time": datetime.fromtimestamp(T0 + n * 60, UTC).isoformat(),  # ISO 8601, never a number
                    "card": "tok_v",
                    "amount": 17_600,
                    "currency": "JPY",
                }
            )
            o = Outcome(outcome)
            episode = flow.on_decision(conn, e, Decision(e.id, e.kind, e.time, o, rules=[RuleHit("r", o, {})]), now=T0)
        queue(conn, episode.id, trigger="cardholder_no", settings=CasesSettings(), now=T0)
    return db, episode.id


def test_the_status_page_and_details_in_japanese_and_in_english(tmp_path):
    db, case_id = _case(tmp_path)
    conn = db.connection()
    en = status_view(conn, case_id)
    ja = status_view(conn, case_id, "ja")
    assert (en["language"], ja["language"]) == ("en", "ja")
    assert en["status_text"] == "Your case is waiting for a fraud analyst."
    assert ja["status_text"] == "担当者による確認をお待ちいただいています。"
    assert (en["stopped"], ja["stopped"]) == ("¥35,200", "35,200円")
    assert localized(ja["facts"], "en") == {**en, "facts": en["facts"]}

    details = case_details(en, "https://fw.example/v1/case-status/t", "ja")
    assert details.startswith(
        "担当者による確認をお待ちいただいています。\n次の手続き：担当者がお客様の件について判断します。"
    )
    assert details.endswith("手続きの状況はこちら：https://fw.example/v1/case-status/t")
    assert not any(word in details for word in ("Your", "Next", "analyst"))
    assert "Follow your case: https://fw.example/v1/case-status/t" in case_details(
        ja, "https://fw.example/v1/case-status/t"
    )
    assert (case_status_label(en, "ja"), case_status_label(en, "en"), case_status_label(en, "ko")) == (
        "確認待ち",
        "waiting for an analyst",
        "waiting for an analyst",
    )

    page = status_page(ja)
    assert '<html lang="ja">' in page and "受付番号 " + en["reference"] in page and "35,200円" in page
    assert "tok_v" not in page and "Your case" not in page


def test_the_language_from_an_accept_language_header():
    assert language_of("ja-JP,ja;q=0.9,en-US;q=0.8,en;q=0.7") == "ja"
    assert language_of("en-GB, ja;q=0.5") == "en"
    assert language_of("fr-FR, ja;q=0.3") == "ja"
    assert language_of("ja;q=oops, en") == "en"
    assert language_of("") == language_of(None) == "en"
