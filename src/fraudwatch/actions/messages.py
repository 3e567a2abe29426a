"""Cardholder messages and pages from templates, per language, checked when they load.

The templates are YAML files, one per language (``templates/en.yaml`` and
``templates/ja.yaml`` ship; ``actions.messages`` names a folder whose files replace or add
languages). Placeholders are ``{name}``; each message may use only its own variables
(``VARIABLES``), so a misspelt or unknown one is an error when the files load, never when a
message is sent, and every variable is always given a value. Every message and page ends
with the catalog's ``notice``: the issuer never asks for a card number, PIN or password
(Japanese guidance on phishing), and a template that asks for one through a form is refused.

Merchants are shown by their display name from a merchant directory (``actions.merchants``:
``{merchant id: name}`` or ``{merchant id: {language: name}}``); amounts are formatted per
currency and language (no decimals for yen); the status says what happened (declined,
on hold for 3-D Secure, blocked).

>>> m = Messages.load(merchants={"m_ec_kaden_select": {"ja": "家電セレクト", "en": "Kaden Select"}})
>>> s = {"amount": 17600, "currency": "JPY", "merchant": "m_ec_kaden_select", "card_last4": "4242",
...      "time": "2026-11-21T13:00:00+09:00", "kind": "payment.attempt", "outcome": "block"}
>>> en = m.render("risk_alert", "en", summary=s, yes_url="https://x/y", no_url="https://x/n")
>>> en["subject"]
'Was this you? ¥17,600 at Kaden Select'
>>> en["text"].splitlines()[0]
'A payment of ¥17,600 at Kaden Select with your card ending 4242 on 21 Nov 2026 13:00 was blocked.'
>>> ja = m.render("risk_alert", "ja", summary=s, yes_url="https://x/y", no_url="https://x/n")
>>> ja["subject"]
'【ご利用確認】家電セレクトでの17,600円のお支払い'
>>> m.notice("ja") in ja["text"] and m.notice("en") in en["text"] and m.notice("en") in en["html"]
True
>>> format_amount(1234, "EUR", "en"), format_amount(17600, "JPY", "ja"), format_amount(5, "KWD", "en")
('€12.34', '17,600円', '0.005 KWD')
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from datetime import datetime
from html import escape
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from fraudwatch.errors import ValidationFailed

__all__ = ["Messages", "MessagesError", "VARIABLES", "format_amount", "what_happened"]

_SUMMARY = ("amount", "merchant", "card", "time", "status", "status_short")
_LATEST = ("card", "count", "total", "latest_amount", "latest_merchant", "latest_time", "reference")

#: the variables each message and page may use (all are always given)
VARIABLES: dict[str, frozenset[str]] = {
    "messages.risk_alert": frozenset({*_SUMMARY, "yes_url", "no_url", "reference"}),
    "messages.risk_update": frozenset({*_LATEST, "yes_url", "no_url"}),
    "messages.usage_alert": frozenset(_SUMMARY),
    "messages.case_status": frozenset({"reference", "case_status", "card", "details"}),
    "pages.confirm": frozenset(_SUMMARY),
    "pages.answered_yes": frozenset({"reference"}),
    "pages.answered_no": frozenset({"reference"}),
    "pages.invalid": frozenset(),
    "pages.expired": frozenset(),
    "pages.used": frozenset(),
    "card.last4": frozenset({"card_last4"}),
    "card.unknown": frozenset(),
    "merchant_unknown": frozenset({"merchant_id"}),
}
#: variables a message must use: "was this you?" without its links answers nothing
REQUIRED: dict[str, frozenset[str]] = {
    "messages.risk_alert": frozenset({"yes_url", "no_url"}),
    "messages.risk_update": frozenset({"count"}),
    "pages.answered_no": frozenset({"reference"}),
}
STATUSES = ("declined", "approved", "challenged", "blocked", "held", "stopped")
_FIELDS = {"messages": ("subject", "text"), "pages": ("title", "text")}
_EXTRA_FIELDS = {"pages.confirm": ("button_yes", "button_no")}
_URLS = frozenset({"yes_url", "no_url"})
# a message never asks for secrets through a form of its own (the answer pages post one button)
_FORBIDDEN = re.compile(r"<\s*(form|input|textarea|select)\b", re.IGNORECASE)

# ISO 4217 minor units other than 2
_EXPONENT = {
    **dict.fromkeys(("JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF", "PYG", "BIF", "DJF", "GNF"), 0),
    **dict.fromkeys(("KMF", "RWF", "VUV", "XPF"), 0),
    **dict.fromkeys(("BHD", "KWD", "OMR", "JOD", "TND", "IQD", "LYD"), 3),
}
_SYMBOL = {"JPY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "KRW": "₩", "CNY": "CN¥", "INR": "₹"}


class MessagesError(ValidationFailed):
    """Template files that do not load; ``errors`` lists file, field and problem."""


def format_amount(amount: int | None, currency: str | None, language: str = "en") -> str:
    """Minor units as the cardholder reads them: ``17,600円`` in Japanese, ``¥17,600``
    in English, ``12.34 CHF`` for a currency without a symbol here."""
    if amount is None:
        return ""
    currency = currency or ""
    digits = _EXPONENT.get(currency, 2)
    number = f"{amount / 10**digits:,.{digits}f}"
    if language == "ja" and currency == "JPY":
        return f"{number}円"
    symbol = _SYMBOL.get(currency)
    return f"{symbol}{number}" if symbol and language != "ja" else f"{number} {currency}".strip()


def what_happened(summary: Mapping[str, Any]) -> str:
    """The status key of a flagged event: what the payment's own result says when it has
    one (a card test the issuer declined was *declined*, not held), else what the
    decision does to it."""
    result = summary.get("result")
    if result == "declined":
        return "declined"
    if result == "approved":
        return "approved"
    return {"challenge": "challenged", "block": "blocked", "review": "held"}.get(summary.get("outcome", ""), "stopped")


class _Catalog:
    def __init__(self, language: str, data: dict[str, Any], source: str):
        self.language = language
        self.data = data
        self.source = source

    def get(self, key: str) -> Any:
        node: Any = self.data
        for part in key.split("."):
            node = node[part]
        return node


class Messages:
    """The loaded, checked catalogs and the merchant directory. Build with :meth:`load`."""

    def __init__(self, catalogs: dict[str, _Catalog], merchants: Mapping[str, Any], default_language: str):
        self._catalogs = catalogs
        self._merchants = dict(merchants)
        self.default_language = default_language

    # ------------------------------------------------------------ loading
    @classmethod
    def load(
        cls,
        folder: str | Path | None = None,
        *,
        merchants: str | Path | Mapping[str, Any] | None = None,
        default_language: str = "en",
    ) -> Messages:
        """The packaged catalogs, with those of ``folder`` (``<language>.yaml``) replacing
        or adding languages; raises ``MessagesError`` naming each problem."""
        errors: list[dict[str, str]] = []
        catalogs: dict[str, _Catalog] = {}
        packaged = resources.files("fraudwatch.actions").joinpath("templates")
        sources = [(f"templates/{p.name}", p.read_text(encoding="utf-8")) for p in packaged.iterdir()]
        if folder is not None:
            found = sorted(Path(folder).glob("*.yaml"))
            if not found:
                errors.append({"field": str(folder), "message": "no <language>.yaml template files in this folder"})
            sources += [(str(p), p.read_text(encoding="utf-8")) for p in found]
        for source, text in sources:
            if not source.endswith(".yaml"):
                continue
            catalog = _parse(source, text, errors)
            if catalog is not None:
                catalogs[catalog.language] = catalog  # a later file replaces the language
        if default_language not in catalogs and not errors:
            errors.append(
                {
                    "field": "default_language",
                    "message": f"no templates for {default_language!r}; have {sorted(catalogs)}",
                }
            )
        directory = _merchants(merchants, errors)
        if errors:
            lines = "\n".join(f"  {e['field']}: {e['message']}" for e in errors)
            raise MessagesError(f"invalid message templates:\n{lines}", errors)
        return cls(catalogs, directory, default_language)

    # ------------------------------------------------------------ reading
    @property
    def languages(self) -> list[str]:
        return sorted(self._catalogs)

    def language_for(self, preferred: str | None) -> str:
        """``preferred`` if there are templates for it (``ja``, ``ja-JP``), else the default."""
        if preferred:
            for candidate in (preferred, preferred.split("-")[0].split("_")[0]):
                if candidate.lower() in self._catalogs:
                    return candidate.lower()
        return self.default_language

    def notice(self, language: str) -> str:
        return self._catalog(language).data["notice"]

    def merchant_name(self, merchant: str | None, language: str) -> str:
        if not merchant:
            return ""
        name = self._merchants.get(merchant)
        if isinstance(name, dict):
            name = name.get(language) or name.get(self.default_language) or next(iter(name.values()), None)
        if name:
            return name
        return self._fill(self._catalog(language), "merchant_unknown", {"merchant_id": merchant})

    def describe(self, summary: Mapping[str, Any], language: str) -> dict[str, str]:
        """The summary variables (amount, merchant, card, time, status) of an event summary."""
        catalog = self._catalog(language)
        status = what_happened(summary)
        return {
            "amount": format_amount(summary.get("amount"), summary.get("currency"), language),
            "merchant": self.merchant_name(summary.get("merchant"), language),
            "card": self.card(summary.get("card_last4"), language),
            "time": self.time(summary.get("time"), language),
            "status": catalog.get(f"status.{status}"),
            "status_short": catalog.get(f"status_short.{status}"),
        }

    def card(self, last4: str | None, language: str) -> str:
        catalog = self._catalog(language)
        if last4:
            return self._fill(catalog, "card.last4", {"card_last4": last4})
        return self._fill(catalog, "card.unknown", {})

    def time(self, iso: str | None, language: str) -> str:
        if not iso:
            return ""
        return datetime.fromisoformat(iso).strftime(self._catalog(language).data["date_format"])

    # ------------------------------------------------------------ rendering
    def render(self, name: str, language: str, *, summary: Mapping[str, Any] | None = None, **values: Any) -> dict:
        """A message (``risk_alert``, ``risk_update``, ``usage_alert``, ``case_status``):
        ``{"subject", "text", "html", "language"}``. ``summary``: an event summary giving
        the summary variables; ``values`` the rest."""
        language = self.language_for(language)
        catalog = self._catalog(language)
        key = f"messages.{name}"
        given = self._values(key, language, summary, values)
        subject = self._fill(catalog, f"{key}.subject", given).strip()
        text = self._fill(catalog, f"{key}.text", given).strip()
        notice = catalog.data["notice"]
        body = _html(catalog.get(f"{key}.text"), given)
        html = _page(subject, body + f'<p class="notice"><strong>{escape(notice)}</strong></p>', language)
        return {"subject": subject, "text": f"{text}\n\n{notice}\n", "html": html, "language": language}

    def page(self, name: str, language: str | None, *, summary: Mapping[str, Any] | None = None, **values: Any) -> str:
        """An answer page (``answered_yes``, ``answered_no``, ``invalid``, ``expired``,
        ``used``) as HTML, with the notice."""
        language = self.language_for(language)
        catalog = self._catalog(language)
        key = f"pages.{name}"
        given = self._values(key, language, summary, values)
        title = self._fill(catalog, f"{key}.title", given)
        body = _html(catalog.get(f"{key}.text"), given)
        return _page(title, body + self._notice_html(language), language)

    def confirm_page(self, summary: Mapping[str, Any], language: str | None, *, answer: str, action_url: str) -> str:
        """The page behind a link: nothing changes until its one button is posted (link
        previews and mail scanners fetch GET)."""
        language = self.language_for(language)
        catalog = self._catalog(language)
        given = self._values("pages.confirm", language, summary, {})
        label = catalog.get("pages.confirm.button_yes" if answer == "yes" else "pages.confirm.button_no")
        body = _html(catalog.get("pages.confirm.text"), given) + (
            f'<form method="post" action="{escape(action_url)}">'
            f'<button type="submit" name="confirm" value="1">{escape(label)}</button></form>'
        )
        return _page(self._fill(catalog, "pages.confirm.title", given), body + self._notice_html(language), language)

    # ------------------------------------------------------------ helpers
    def _catalog(self, language: str) -> _Catalog:
        return self._catalogs.get(language) or self._catalogs[self.default_language]

    def _notice_html(self, language: str) -> str:
        return f'<p class="notice"><strong>{escape(self.notice(language))}</strong></p>'

    def _values(self, key: str, language: str, summary, values: Mapping[str, Any]) -> dict[str, str]:
        allowed = VARIABLES[key]
        given = dict.fromkeys(allowed, "")
        if summary is not None:
            given.update({k: v for k, v in self.describe(summary, language).items() if k in allowed})
        unknown = set(values) - allowed
        if unknown:
            raise ValueError(f"{key}: no variable(s) {sorted(unknown)}; known: {sorted(allowed)}")
        given.update({k: "" if v is None else str(v) for k, v in values.items()})
        return given

    @staticmethod
    def _fill(catalog: _Catalog, key: str, values: Mapping[str, str]) -> str:
        return catalog.get(key).format_map(values)


# ------------------------------------------------------------------ loading and checking
def _parse(source: str, text: str, errors: list[dict[str, str]]) -> _Catalog | None:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        errors.append({"field": source, "message": f"not YAML: {exc}"})
        return None
    if not isinstance(data, dict) or not isinstance(data.get("language"), str):
        errors.append({"field": source, "message": "expected a mapping with language: <code>"})
        return None
    problems: list[tuple[str, str]] = []
    if not isinstance(data.get("notice"), str) or not data["notice"].strip():
        problems.append(("notice", "missing: every message says that no card number, PIN or password is ever asked"))
    if not isinstance(data.get("date_format"), str):
        problems.append(("date_format", "missing (strftime, e.g. %d %b %Y %H:%M)"))
    for group in ("status", "status_short"):
        for status in STATUSES:
            if not isinstance(_get(data, f"{group}.{status}"), str):
                problems.append((f"{group}.{status}", "missing"))
    for key, allowed in VARIABLES.items():
        fields = (
            [f"{key}.{f}" for f in (*_FIELDS[key.split(".")[0]], *_EXTRA_FIELDS.get(key, ()))]
            if key.split(".")[0] in _FIELDS
            else [key]
        )
        used: set[str] = set()
        for field in fields:
            template = _get(data, field)
            if not isinstance(template, str):
                problems.append((field, "missing"))
                continue
            if _FORBIDDEN.search(template):
                problems.append((field, "a message never holds a form or input field (no message asks for secrets)"))
            try:
                names = _placeholders(template)
            except ValueError as exc:
                problems.append((field, f"not a template: {exc}"))
                continue
            for name in sorted(names - allowed):
                known = ", ".join(sorted(allowed)) or "none"
                problems.append((field, f"unknown variable {{{name}}}; known: {known}"))
            used |= names
        for name in sorted(REQUIRED.get(key, frozenset()) - used):
            problems.append((key, f"must use {{{name}}}"))
    errors.extend({"field": f"{source}: {f}", "message": m} for f, m in problems)
    return None if problems else _Catalog(data["language"], data, source)


def _placeholders(template: str) -> set[str]:
    names = set()
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValueError(f"{{{name}}}: only plain {{name}} placeholders")
        names.add(name)
    return names


def _get(data: Any, key: str) -> Any:
    for part in key.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def _merchants(merchants, errors: list[dict[str, str]]) -> dict[str, Any]:
    if merchants is None:
        return {}
    source = "merchants"
    if not isinstance(merchants, Mapping):
        source = str(merchants)
        try:
            merchants = yaml.safe_load(Path(merchants).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            errors.append({"field": source, "message": f"cannot read the merchant directory: {exc}"})
            return {}
    if not isinstance(merchants, Mapping):
        errors.append({"field": source, "message": "expected {merchant id: name or {language: name}}"})
        return {}
    for key, name in merchants.items():
        ok = isinstance(name, str) or (
            isinstance(name, Mapping) and name and all(isinstance(v, str) for v in name.values())
        )
        if not ok:
            errors.append({"field": f"{source}: {key}", "message": "a name or {language: name}"})
    return dict(merchants)


# ------------------------------------------------------------------ HTML
def _html(template: str, values: Mapping[str, str]) -> str:
    """The template as HTML paragraphs: literal text and values escaped, links clickable."""
    out = []
    for literal, name, _, _ in string.Formatter().parse(template):
        out.append(escape(literal))
        if name is not None:
            value = values.get(name, "")
            out.append(f'<a href="{escape(value)}">{escape(value)}</a>' if name in _URLS and value else escape(value))
    paragraphs = [p.strip() for p in "".join(out).split("\n\n") if p.strip()]
    return "".join(f"<p>{p.replace(chr(10), '<br>')}</p>" for p in paragraphs)


def _page(title: str, body: str, language: str) -> str:
    return (
        f'<!doctype html><html lang="{escape(language)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title></head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )
