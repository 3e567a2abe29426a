"""Event builders, one per kind, generated from the event models by
``fraudwatch.client.events.builder_source()`` (do not edit: ``python -m fraudwatch.client.events``
writes this file; ``ruff format`` then formats it). Each checks its event as the service would and raises
``EventInvalid`` with the service's messages; ``id`` defaults to a new random id and
``time`` to now. A card number may be given as ``pan``: the service tokenizes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from fraudwatch.client.events import Event, build

__all__ = [
    "payment_attempt",
    "payment_capture",
    "payment_refund",
    "payment_reversal",
    "created",
    "login",
    "logout",
    "password_changed",
    "password_reset",
    "auth_challenge",
    "two_factor_enrolled",
    "two_factor_removed",
    "profile_changed",
    "payment_method_added",
    "payment_method_removed",
    "cart_item_added",
    "cart_item_removed",
    "order_placed",
    "order_cancelled",
    "order_hidden",
    "order_shipped",
    "label",
    "chargeback",
    "cardholder_answer",
    "fraud_report",
    "early_fraud_warning",
]


def payment_attempt(
    *,
    amount: int,
    currency: str,
    id: str | None = None,
    time: datetime | str | None = None,
    cvc_check: Literal["pass", "fail", "unavailable", "unchecked", "unknown"] | None = None,
    address_line1_check: Literal["pass", "fail", "unavailable", "unchecked", "unknown"] | None = None,
    address_postal_code_check: Literal["pass", "fail", "unavailable", "unchecked", "unknown"] | None = None,
    wallet: Literal["apple_pay", "google_pay", "samsung_pay", "link", "other", "none", "unknown"] | None = None,
    off_session: bool | None = None,
    recurring: bool | None = None,
    network_token: bool | None = None,
    cryptogram: bool | None = None,
    three_ds_support: Literal["required", "recommended", "optional", "not_supported", "unknown"] | None = None,
    cardholder_name_hash: str | None = None,
    billing_country: str | None = None,
    billing_postal_code: str | None = None,
    billing_line_hash: str | None = None,
    shipping_country: str | None = None,
    shipping_postal_code: str | None = None,
    shipping_line_hash: str | None = None,
    email_domain: str | None = None,
    card_bin: str | None = None,
    card_last4: str | None = None,
    card_type: Literal["credit", "debit", "prepaid", "unknown"] | None = None,
    card_country: str | None = None,
    card_brand: Literal["visa", "mastercard", "jcb", "amex", "diners", "discover", "unionpay", "other", "unknown"]
    | None = None,
    card: str | None = None,
    account: str | None = None,
    device: str | None = None,
    ip: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    merchant: str | None = None,
    terminal: str | None = None,
    session: str | None = None,
    user_agent: str | None = None,
    country: str | None = None,
    language: str | None = None,
    channel: Literal["ecommerce", "pos", "atm", "moto", "app", "wallet"] | None = None,
    scenario: str | None = None,
    metadata: Mapping[str, bool | int | float | str] | None = None,
    result: Literal["approved", "declined", "pending"] | None = None,
    decline_reason: Literal[
        "insufficient_funds",
        "do_not_honor",
        "invalid_card",
        "expired_card",
        "incorrect_cvc",
        "suspected_fraud",
        "stolen_card",
        "lost_card",
        "limit_exceeded",
        "authentication_failed",
        "other",
    ]
    | None = None,
    mcc: str | None = None,
    order: str | None = None,
    three_ds: Literal["not_attempted", "frictionless", "challenged", "failed"] | None = None,
    three_ds_trans_status: Literal["Y", "A", "N", "U", "R", "C", "D", "I"] | None = None,
    eci: str | None = None,
    items_category: str | None = None,
    pan: str | None = None,
) -> Event:
    """``payment.attempt``: An authorization attempt and, when known, its result."""
    return build("payment.attempt", locals())


def payment_capture(
    *,
    payment: str,
    amount: int,
    currency: str,
    id: str | None = None,
    time: datetime | str | None = None,
    card: str | None = None,
    account: str | None = None,
    device: str | None = None,
    ip: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    merchant: str | None = None,
    terminal: str | None = None,
    session: str | None = None,
    user_agent: str | None = None,
    country: str | None = None,
    language: str | None = None,
    channel: Literal["ecommerce", "pos", "atm", "moto", "app", "wallet"] | None = None,
    scenario: str | None = None,
    metadata: Mapping[str, bool | int | float | str] | None = None,
    pan: str | None = None,
) -> Event:
    """``payment.capture``"""
    return build("payment.capture", locals())


def payment_refund(
    *,
    payment: str,
    amount: int,
    currency: str,
    id: str | None = None,
    time: datetime | str | None = None,
    card: str | None = None,
    account: str | None = None,
    device: str | None = None,
    ip: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    merchant: str | None = None,
    terminal: str | None = None,
    session: str | None = None,
    user_agent: str | None = None,
    country: str | None = None,
    language: str | None = None,
    channel: Literal["ecommerce", "pos", "atm", "moto", "app", "wallet"] | None = None,
    scenario: str | None = None,
    metadata: Mapping[str, bool | int | float | str] | None = None,
    reason: str | None = None,
    pan: str | None = None,
) -> Event:
    """``payment.refund``"""
    return build("payment.refund", locals())


def payment_reversal(
    *,
    payment: str,
    amount: int,
    currency: str,
    id: str | None = None,
    time: datetime | str | None = None,
    card: str | None = None,
    account: str | None = None,
    device: str | None = None,
    ip: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    merchant: str | None = None,
    terminal: str | None = None,
    session: str | None = None,
    user_agent: str | None = None,
    country: str | None = None,
    language: str | None = None,
    channel: Literal["ecommerce", "pos", "atm", "moto", "app", "wallet"] | None = None,
    scenario: str | None = None,
    metadata: Mapping[str, bool | int | float | str] | None = None,
    pan: str | None = None,
) -> Event:
    """``payment.reversal``"""
    return build("payment.reversal", locals())


def created(
    *,
    id: str | None = None,
    time: datetime | str | None = None,
    card: str | None = None,
    account: str | None = None,
    device: str | None = None,
    ip: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    merchant: str | None = None,
    terminal: str | None = None,
    session: str | None = None,
    user_agent: str | None = None,
    country: str | None = None,
    language: str | None = None,
    channel: Literal["ecommerce", "pos", "atm", "moto", "app", "wallet"] | None = None,
    scenario: str | None = None,
    metadata: Mapping[str, bool | int | float | str] | None = None,
    email_domain: str | None = None,
    phone_present: bool | None = None,
    phone_verified: bool | None = None,
    signup_channel: Literal["web", "app", "api", "store", "call_center", "partner", "other"] | None = None,
    pan: str | None = None,
) -> Event:
    """``account.created``: A signup."""
    return build("account.created", locals())


def login(
    *,
    success: bool,
    id: str | None = None,
    time: datetime | str | None = None,
    password_compromised: bool | None = None,
    password_breach_count: int | None = None,
    card: str | None = None,
    account: str | None = None,
    device: str | None = None,
    ip: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    merchant: str | None = None,
    terminal: str | None = None,
    session: str | None = None,
    user_agent: str | None = None,
    country: str | None = None,
    language: str | None = None,
    channel: Literal["ecommerce", "pos", "atm", "moto", "app", "wallet"] | None = None,
    scenario: str | None = None,
    metadata: Mapping[str, bool | int | float | str] | None = None,
    failure_reason: Literal["bad_password", "unknown_account", "locked", "2fa_failed", "other"] | None = None,
    method: Literal["password", "2fa", "passkey", "sso", "magic_link"] | None = None,
    pan: str | None = None,
) -> Event:
    """``account.login``: A sign-in attempt; ``success`` once the credentials were accepted (before any step-up"""
    return build("account.login", locals())


def logout(
    *,
    id: str | None = None,
    time: datetime | str | None = None,
    card: str | None = None,
    account: str | None = None,
    device: str | None = None,
    ip: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    merchant: str | None = None,
    terminal: str | None = None,
    session: str | None = None,
    user_agent: str | None = None,
    country: str | None = None,
    language: str | None = None,
    channel: Literal["ecommerce", "pos", "atm", "moto", "app", "wallet"] | None = None,
    scenario: str | None = None,
    metadata: Mapping[str, bool | int | float | str] | None = None,
    reason: Literal["user", "timeout", "revoked", "password_changed", "other"] | None = None,
    pan: str | None = None,
) -> Event:
    """``account.logout``: The end of a session (``session`` names it)."""
    return build("account.logout", locals())


def password_changed(
    *,
    id: str | None = None,
    time: datetime | str | None = None,
    password_compromised: bool | None = None,
    password_breach_count: int | None = None,
    card: str | None = None,
    account: str | None = None,
    device: str | None = None,
    ip: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    merchant: str | None = None,
    terminal: str | None = None,
    session: str | None = None,
    user_agent: str | None = None,
    country: str | None = None,
    language: str | None = None,
    channel: Literal["ecommerce", "pos", "atm", "moto", "app", "wallet"] | None = None,
    scenario: str | None = None,
    metadata: Mapping[str, bool | int | float | str] | None = None,
    pan: str | None = None,
) -> Event:
    """``account.password_changed``"""
    return build("account.password_changed", locals())


def password_reset(
    *,
    id: str | None = None,
    time: datetime | str | None = None,
    password_compromised: bool | None = None,
    password_breach_count: int | None = None,
    card: str | None = None,
    account: str | None = None,
    device: str | None = None,
    ip: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    merchant: str | None = None,
    terminal: str | None = None,
    session: str | None = None,
    user_agent: str | None = None,
    country: str | None = None,
    language: str | None = None,
    channel: Literal["ecommerce", "pos", "atm", "moto", "app", "wallet"] | None = None,
    scenario: str | None = None,
    metadata: Mapping[str, bool | int | float | str] | None = None,
    pan: str | None = None,
) -> Event:
    """``account.password_reset``"""
    return build("account.password_reset", locals())


def auth_challenge(
    *,
    target: str,
    method: Literal["totp", "sms", "email", "push", "passkey", "security_key", "3ds", "captcha", "other"],
    result: Literal["passed", "failed", "abandoned"],
    id: str | None = None,
    time: datetime | str | None = None,
    card: str | None = None,
    account: str | None = None,
    device: str | None = None,
    ip: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    merchant: str | None = None,
    terminal: str | None = None,
    session: str | None = None,
    user_agent: str | None = None,
    country: str | None = None,
    language: str | None = None,
    channel: Literal["ecommerce", "pos", "atm", "moto", "app", "wallet"] | None = None,
    scenario: str | None = None,
    metadata: Mapping[str, bool | int | float | str] | None = None,
    challenge_indicator: Literal["01", "02", "03", "04", "05", "06", "07", "08", "09"] | None = None,
    pan: str | None = None,
) -> Event:
    """``auth.challenge``: How a step-up that a decision asked for ended: what was asked (a second factor, a 3-D"""
    return build("auth.challenge", locals())


def two_factor_enrolled(
    *,
    id: str | None = None,
    time: datetime | str | None = None,
    card: str | None = None,
    account: str | None = None,
    device: str | None = None,
    ip: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    merchant: str | None = None,
    terminal: str | None = None,
    session: str | None = None,
    user_agent: str | None = None,
    country: str | None = None,
    language: str | None = None,
    channel: Literal["ecommerce", "pos", "atm", "moto", "app", "wallet"] | None = None,
    scenario: str | None = None,
    metadata: Mapping[str, bool | int | float | str] | None = None,
    method: Literal["totp", "sms", "email", "passkey", "other"] | None = None,
    pan: str | None = None,
) -> Event:
    """``account.2fa_enrolled``"""
    return build("account.2fa_enrolled", locals())


def two_factor_removed(
    *,
    id: str | None = None,
    time: datetime | str | None = None,
    card: str | None = None,
    account: str | None = None,
    device: str | None = None,
    ip: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    merchant: str | None = None,
    terminal: str | None = None,
    session: str | None = None,
    user_agent: str | None = None,
    country: str | None = None,
    language: str | None = None,
    channel: Literal["ecommerce", "pos", "atm", "moto", "app", "wallet"] | None = None,
    scenario: str | None = None,
    metadata: Mapping[str, bool | int | float | str] | None = None,
    method: Literal["totp", "sms", "email", "passkey", "other"] | None = None,
    pan: str | None = None,
) -> Event:
    """``account.2fa_removed``"""
    return build("account.2fa_removed", locals())


def profile_changed(
    *,
    field: Literal["email", "phone", "language", "address", "name"],
    id: str | None = None,
    time: datetime | str | None = None,
    card: str | None = None,
    account: str | None = None,
    device: str | None = None,
    ip: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    merchant: str | None = None,
    terminal: str | None = None,
    session: str | None = None,
    user_agent: str | None = None,
    country: str | None = None,
    language: str | None = None,
    channel: Literal["ecommerce", "pos", "atm", "moto", "app", "wallet"] | None = None,
    scenario: str | None = None,
    metadata: Mapping[str, bool | int | float | str] | None = None,
    old_value: str | None = None,
    new_value: str | None = None,
    pan: str | None = None,
) -> Event:
    """``account.profile_changed``: A change of one profile field; values may be hashed by the sender."""
    return build("account.profile_changed", locals())


def payment_method_added(
    *,
    id: str | None = None,
    time: datetime | str | None = None,
    card_bin: str | None = None,
    card_last4: str | None = None,
    card_type: Literal["credit", "debit", "prepaid", "unknown"] | None = None,
    card_country: str | None = None,
    card_brand: Literal["visa", "mastercard", "jcb", "amex", "diners", "discover", "unionpay", "other", "unknown"]
    | None = None,
    card: str | None = None,
    account: str | None = None,
    device: str | None = None,
    ip: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    merchant: str | None = None,
    terminal: str | None = None,
    session: str | None = None,
    user_agent: str | None = None,
    country: str | None = None,
    language: str | None = None,
    channel: Literal["ecommerce", "pos", "atm", "moto", "app", "wallet"] | None = None,
    scenario: str | None = None,
    metadata: Mapping[str, bool | int | float | str] | None = None,
    pan: str | None = None,
) -> Event:
    """``account.payment_method_added``"""
    return build("account.payment_method_added", locals())


def payment_method_removed(
    *,
    id: str | None = None,
    time: datetime | str | None = None,
    card_bin: str | None = None,
    card_last4: str | None = None,
    card_type: Literal["credit", "debit", "prepaid", "unknown"] | None = None,
    card_country: str | None = None,
    card_brand: Literal["visa", "mastercard", "jcb", "amex", "diners", "discover", "unionpay", "other", "unknown"]
    | None = None,
    card: str | None = None,
    account: str | None = None,
    device: str | None = None,
    ip: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    merchant: str | None = None,
    terminal: str | None = None,
    session: str | None = None,
    user_agent: str | None = None,
    country: str | None = None,
    language: str | None = None,
    channel: Literal["ecommerce", "pos", "atm", "moto", "app", "wallet"] | None = None,
    scenario: str | None = None,
    metadata: Mapping[str, bool | int | float | str] | None = None,
    pan: str | None = None,
) -> Event:
    """``account.payment_method_removed``"""
    return build("account.payment_method_removed", locals())


def cart_item_added(
    *,
    item: Mapping[str, Any],
    id: str | None = None,
    time: datetime | str | None = None,
    card: str | None = None,
    account: str | None = None,
    device: str | None = None,
    ip: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    merchant: str | None = None,
    terminal: str | None = None,
    session: str | None = None,
    user_agent: str | None = None,
    country: str | None = None,
    language: str | None = None,
    channel: Literal["ecommerce", "pos", "atm", "moto", "app", "wallet"] | None = None,
    scenario: str | None = None,
    metadata: Mapping[str, bool | int | float | str] | None = None,
    pan: str | None = None,
) -> Event:
    """``cart.item_added``"""
    return build("cart.item_added", locals())


def cart_item_removed(
    *,
    item: Mapping[str, Any],
    id: str | None = None,
    time: datetime | str | None = None,
    card: str | None = None,
    account: str | None = None,
    device: str | None = None,
    ip: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    merchant: str | None = None,
    terminal: str | None = None,
    session: str | None = None,
    user_agent: str | None = None,
    country: str | None = None,
    language: str | None = None,
    channel: Literal["ecommerce", "pos", "atm", "moto", "app", "wallet"] | None = None,
    scenario: str | None = None,
    metadata: Mapping[str, bool | int | float | str] | None = None,
    pan: str | None = None,
) -> Event:
    """``cart.item_removed``"""
    return build("cart.item_removed", locals())


def order_placed(
    *,
    order: str,
    amount: int,
    currency: str,
    id: str | None = None,
    time: datetime | str | None = None,
    billing_country: str | None = None,
    billing_postal_code: str | None = None,
    billing_line_hash: str | None = None,
    shipping_country: str | None = None,
    shipping_postal_code: str | None = None,
    shipping_line_hash: str | None = None,
    email_domain: str | None = None,
    card: str | None = None,
    account: str | None = None,
    device: str | None = None,
    ip: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    merchant: str | None = None,
    terminal: str | None = None,
    session: str | None = None,
    user_agent: str | None = None,
    country: str | None = None,
    language: str | None = None,
    channel: Literal["ecommerce", "pos", "atm", "moto", "app", "wallet"] | None = None,
    scenario: str | None = None,
    metadata: Mapping[str, bool | int | float | str] | None = None,
    items: list[Mapping[str, Any]] | None = None,
    shipping_address: str | None = None,
    pan: str | None = None,
) -> Event:
    """``order.placed``"""
    return build("order.placed", locals())


def order_cancelled(
    *,
    order: str,
    id: str | None = None,
    time: datetime | str | None = None,
    card: str | None = None,
    account: str | None = None,
    device: str | None = None,
    ip: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    merchant: str | None = None,
    terminal: str | None = None,
    session: str | None = None,
    user_agent: str | None = None,
    country: str | None = None,
    language: str | None = None,
    channel: Literal["ecommerce", "pos", "atm", "moto", "app", "wallet"] | None = None,
    scenario: str | None = None,
    metadata: Mapping[str, bool | int | float | str] | None = None,
    pan: str | None = None,
) -> Event:
    """``order.cancelled``"""
    return build("order.cancelled", locals())


def order_hidden(
    *,
    order: str,
    id: str | None = None,
    time: datetime | str | None = None,
    card: str | None = None,
    account: str | None = None,
    device: str | None = None,
    ip: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    merchant: str | None = None,
    terminal: str | None = None,
    session: str | None = None,
    user_agent: str | None = None,
    country: str | None = None,
    language: str | None = None,
    channel: Literal["ecommerce", "pos", "atm", "moto", "app", "wallet"] | None = None,
    scenario: str | None = None,
    metadata: Mapping[str, bool | int | float | str] | None = None,
    pan: str | None = None,
) -> Event:
    """``order.hidden``"""
    return build("order.hidden", locals())


def order_shipped(
    *,
    order: str,
    id: str | None = None,
    time: datetime | str | None = None,
    card: str | None = None,
    account: str | None = None,
    device: str | None = None,
    ip: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    merchant: str | None = None,
    terminal: str | None = None,
    session: str | None = None,
    user_agent: str | None = None,
    country: str | None = None,
    language: str | None = None,
    channel: Literal["ecommerce", "pos", "atm", "moto", "app", "wallet"] | None = None,
    scenario: str | None = None,
    metadata: Mapping[str, bool | int | float | str] | None = None,
    pan: str | None = None,
) -> Event:
    """``order.shipped``"""
    return build("order.shipped", locals())


def label(
    *,
    target: str,
    fraud: bool,
    id: str | None = None,
    time: datetime | str | None = None,
    card: str | None = None,
    account: str | None = None,
    device: str | None = None,
    ip: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    merchant: str | None = None,
    terminal: str | None = None,
    session: str | None = None,
    user_agent: str | None = None,
    country: str | None = None,
    language: str | None = None,
    channel: Literal["ecommerce", "pos", "atm", "moto", "app", "wallet"] | None = None,
    scenario: str | None = None,
    metadata: Mapping[str, bool | int | float | str] | None = None,
    source: Literal["cardholder", "analyst", "issuer", "chargeback", "merchant", "simulator", "dataset"] | None = None,
    pan: str | None = None,
) -> Event:
    """``label``: Ground truth about an earlier event, known at ``time``."""
    return build("label", locals())


def chargeback(
    *,
    payment: str,
    amount: int,
    currency: str,
    id: str | None = None,
    time: datetime | str | None = None,
    card: str | None = None,
    account: str | None = None,
    device: str | None = None,
    ip: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    merchant: str | None = None,
    terminal: str | None = None,
    session: str | None = None,
    user_agent: str | None = None,
    country: str | None = None,
    language: str | None = None,
    channel: Literal["ecommerce", "pos", "atm", "moto", "app", "wallet"] | None = None,
    scenario: str | None = None,
    metadata: Mapping[str, bool | int | float | str] | None = None,
    reason_code: str | None = None,
    scheme: Literal["visa", "mastercard", "jcb", "amex", "other"] | None = None,
    acquirer: str | None = None,
    pan: str | None = None,
) -> Event:
    """``chargeback``: A chargeback (first stage of a dispute) received for an earlier payment."""
    return build("chargeback", locals())


def cardholder_answer(
    *,
    target: str,
    answer: Literal["yes", "no"],
    id: str | None = None,
    time: datetime | str | None = None,
    card: str | None = None,
    account: str | None = None,
    device: str | None = None,
    ip: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    merchant: str | None = None,
    terminal: str | None = None,
    session: str | None = None,
    user_agent: str | None = None,
    country: str | None = None,
    language: str | None = None,
    channel: Literal["ecommerce", "pos", "atm", "moto", "app", "wallet"] | None = None,
    scenario: str | None = None,
    metadata: Mapping[str, bool | int | float | str] | None = None,
    pan: str | None = None,
) -> Event:
    """``cardholder.answer``: The cardholder's answer to "was this you?" about an event."""
    return build("cardholder.answer", locals())


def fraud_report(
    *,
    payment: str,
    amount: int,
    currency: str,
    scheme: Literal["visa", "mastercard", "jcb", "amex", "other"],
    id: str | None = None,
    time: datetime | str | None = None,
    card: str | None = None,
    account: str | None = None,
    device: str | None = None,
    ip: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    merchant: str | None = None,
    terminal: str | None = None,
    session: str | None = None,
    user_agent: str | None = None,
    country: str | None = None,
    language: str | None = None,
    channel: Literal["ecommerce", "pos", "atm", "moto", "app", "wallet"] | None = None,
    scenario: str | None = None,
    metadata: Mapping[str, bool | int | float | str] | None = None,
    report: Literal["tc40", "safe", "jcb_issuer", "other"] | None = None,
    fraud_type: str | None = None,
    pan: str | None = None,
) -> Event:
    """``fraud_report``: A scheme's fraud report about an earlier payment (Visa TC40, Mastercard SAFE, JCB)."""
    return build("fraud_report", locals())


def early_fraud_warning(
    *,
    payment: str,
    amount: int,
    currency: str,
    id: str | None = None,
    time: datetime | str | None = None,
    card: str | None = None,
    account: str | None = None,
    device: str | None = None,
    ip: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    merchant: str | None = None,
    terminal: str | None = None,
    session: str | None = None,
    user_agent: str | None = None,
    country: str | None = None,
    language: str | None = None,
    channel: Literal["ecommerce", "pos", "atm", "moto", "app", "wallet"] | None = None,
    scenario: str | None = None,
    metadata: Mapping[str, bool | int | float | str] | None = None,
    scheme: Literal["visa", "mastercard", "jcb", "amex", "other"] | None = None,
    fraud_type: str | None = None,
    pan: str | None = None,
) -> Event:
    """``early_fraud_warning``: An early fraud warning about an earlier payment: a chargeback may follow."""
    return build("early_fraud_warning", locals())
