"""Cardholder messages: templates per language checked at load, merchant names, amounts per
currency, wording that matches what happened, and the anti-phishing notice everywhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fraudwatch.actions.messages import Messages, MessagesError, format_amount

SUMMARY = {
    "amount": 17600,
    "currency": "JPY",
    "merchant": "m_ec_kaden_select",
    "card_last4": "4242",
    "time": "2026-11-21T13:00:00+09:00",
    "kind": "payment.attempt",
    "outcome": "block",
}
LINKS = {"yes_url": "https://fraud.example/v1/answers/y", "no_url": "https://fraud.example/v1/answers/n"}
LATEST = {"card": "your card ending 4242", "count": 3, "total": 4, "latest_amount": "¥1,000"}
TEMPLATES = Path(__file__).parents[2] / "src" / "fraudwatch" / "actions" / "templates"

# a message asking for a secret, in either language (the notice itself says we never ask)
ASKS = {
    "en": re.compile(
        r"(enter|type|confirm|verify|provide|send|reply with|update)\W+(\w+\W+){0,4}"
        r"(card number|pin|password|security code|cvc|cvv)",
        re.IGNORECASE,
    ),
    "ja": re.compile(
        r"(カード番号|暗証番号|パスワード|セキュリティコード)(を|の)(入力|ご入力|送|お知らせ|教え|確認|ご確認|更新)"
    ),
}


@pytest.fixture(scope="module")
def messages():
    return Messages.load(merchants={"m_ec_kaden_select": {"ja": "家電セレクト", "en": "Kaden Select"}})


def _everything(m: Messages, language: str):
    yield "risk_alert", m.render("risk_alert", language, summary=SUMMARY, reference="FW-1234-ABCD", **LINKS)
    yield "risk_update", m.render("risk_update", language, **LATEST, **LINKS)
    yield "usage_alert", m.render("usage_alert", language, summary=SUMMARY)
    yield "case_status", m.render("case_status", language, reference="FW-1", case_status="closed", card="x")
    for page in ("answered_yes", "answered_no"):
        yield page, {"html": m.page(page, language, reference="FW-1234-ABCD")}
    for page in ("invalid", "expired", "used"):
        yield page, {"html": m.page(page, language)}
    yield "confirm", {"html": m.confirm_page(SUMMARY, language, answer="no", action_url="/v1/answers/n")}


@pytest.mark.parametrize("language", ["en", "ja"])
def test_every_message_says_no_secret_is_ever_asked_and_asks_for_none(messages, language):
    notice = messages.notice(language)
    assert ("card number" in notice and "password" in notice) or ("カード番号" in notice and "パスワード" in notice)
    for name, message in _everything(messages, language):
        for part in ("text", "html"):
            if part not in message:
                continue
            body = message[part]
            assert notice in body.replace("&#x27;", "'"), f"{name}.{part} lacks the anti-phishing notice"
            assert not ASKS[language].search(body.replace(notice, "")), f"{name}.{part} asks for a secret"
        html = message["html"]
        assert f'<html lang="{language}"' in html
        assert not re.search(r"<\s*(input|textarea|select)\b", html), f"{name} has an input field"
        assert html.count("<form") == (1 if name == "confirm" else 0)


def test_amounts_per_currency_and_language():
    assert format_amount(17600, "JPY", "en") == "¥17,600"
    assert format_amount(17600, "JPY", "ja") == "17,600円"
    assert format_amount(1234, "USD", "en") == "$12.34"
    assert format_amount(1234, "USD", "ja") == "12.34 USD"
    assert format_amount(1234567, "KWD", "en") == "1,234.567 KWD"
    assert format_amount(500, "KRW", "en") == "₩500"


def test_merchant_names_from_the_directory_and_unknown_ids_said_as_such(messages):
    assert messages.merchant_name("m_ec_kaden_select", "ja") == "家電セレクト"
    assert messages.merchant_name("m_ec_kaden_select", "en") == "Kaden Select"
    assert messages.merchant_name("m_unknown", "en") == "a merchant (m_unknown)"
    assert messages.merchant_name("m_unknown", "ja") == "加盟店（m_unknown）"


@pytest.mark.parametrize(
    ("fields", "en", "ja"),
    [
        ({"outcome": "challenge"}, "on hold until it is confirmed with 3-D Secure", "3-Dセキュア"),
        ({"outcome": "block"}, "was blocked", "お取引を停止しました"),
        ({"outcome": "review"}, "on hold while we check it", "確認のため"),
        # a card test the issuer declined was declined, whatever fraudwatch decided about it
        ({"outcome": "challenge", "result": "declined"}, "was declined", "承認されませんでした"),
        ({"outcome": "block", "result": "approved"}, "went through", "承認されました"),
    ],
)
def test_the_wording_matches_what_happened(messages, fields, en, ja):
    s = {**SUMMARY, **fields}
    text_en = messages.render("risk_alert", "en", summary=s, **LINKS)["text"]
    assert en in text_en
    if "3-D Secure" not in en:
        assert "3-D Secure" not in text_en
    assert ja in messages.render("risk_alert", "ja", summary=s, **LINKS)["text"]


def test_the_cardholders_language_or_the_default(messages):
    assert messages.language_for("ja") == "ja" and messages.language_for("ja-JP") == "ja"
    assert messages.language_for("fr") == "en" and messages.language_for(None) == "en"
    assert Messages.load(default_language="ja").language_for(None) == "ja"


def _catalog(tmp_path, language="ja", **replace):
    text = (TEMPLATES / f"{language}.yaml").read_text(encoding="utf-8")
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    folder = tmp_path / "templates"
    folder.mkdir(exist_ok=True)
    (folder / f"{language}.yaml").write_text(text, encoding="utf-8")
    return folder


def test_an_issuers_file_replaces_a_language(tmp_path):
    folder = _catalog(tmp_path, **{"【ご利用確認】": "【○○カード ご利用確認】"})
    m = Messages.load(folder)
    assert m.render("risk_alert", "ja", summary=SUMMARY, **LINKS)["subject"].startswith("【○○カード ご利用確認】")
    assert m.languages == ["en", "ja"]


@pytest.mark.parametrize(
    ("replace", "problem"),
    [
        ({'{amount}のお支払い"\n': '{amout}のお支払い"\n'}, "messages.risk_alert.subject: unknown variable {amout}"),
        ({"いいえ、身に覚えがありません：{no_url}\n\n": "\n\n"}, "messages.risk_alert: must use {no_url}"),
        ({"  usage_alert:\n": "  usage_alert_x:\n"}, "messages.usage_alert.subject: missing"),
        ({'{count}件のお取引を停止しました"\n': '{count!r}件"\n'}, "only plain {name} placeholders"),
        ({"notice: ": "notice_x: "}, "notice: missing"),
        (
            {"ご本人によるものですか？": "ご本人ですか？<form><input name=pin></form>"},
            "a message never holds a form or input field",
        ),
    ],
)
def test_template_mistakes_fail_at_load_naming_the_file_and_field(tmp_path, replace, problem):
    folder = _catalog(tmp_path, **replace)
    with pytest.raises(MessagesError) as info:
        Messages.load(folder)
    assert problem in str(info.value)
    assert "ja.yaml" in str(info.value)


def test_a_bad_merchant_directory_fails_at_load(tmp_path):
    path = tmp_path / "merchants.yaml"
    path.write_text("m_1: [not, a, name]\n")
    with pytest.raises(MessagesError, match="m_1: a name or"):
        Messages.load(merchants=path)
