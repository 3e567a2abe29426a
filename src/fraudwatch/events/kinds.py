"""Typed, versioned event kinds sharing one flat envelope.

Every event has an ``id``, an event ``time`` (timezone-aware), a ``kind`` and
optional references to the entities involved (``card`` token, ``account``,
``device``, ``ip``, ``email``, ``phone``, ``merchant``, ``terminal``, ...).
The fields specific to a kind sit beside them, so rules read ``event.amount``
and features key on ``card`` without nesting.

Amounts are integers in minor units of ``currency`` (ISO 4217): 1,000 yen is
``amount=1000, currency="JPY"``; 12.34 euro is ``amount=1234, currency="EUR"``.

Schema version 2 adds signups, logouts, step-up results (``auth.challenge``), a
``user_agent`` on any event, 3-D Secure results on payments and breached-password flags on
logins; version 1 events parse unchanged. Context derived from the event is read like a
field: ``ip_country``, ``asn``, ``as_org`` from the offline IP data, ``ua_browser``,
``ua_os``, ``ua_device`` from the user agent (``fraudwatch.ato``).

>>> e = parse_event({"id": "e1", "time": "2026-11-21T13:00:00+09:00",
...                  "kind": "payment.attempt", "card": "tok_1", "amount": 17600,
...                  "currency": "JPY", "result": "declined",
...                  "decline_reason": "insufficient_funds"})
>>> e.kind, e.amount, e.result, e.ts
('payment.attempt', 17600, 'declined', 1795233600.0)
"""

from __future__ import annotations

import ipaddress
import math
import re
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, Union, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    TypeAdapter,
    field_validator,
)

SCHEMA_VERSION: Final = 2
MAX_USER_AGENT = 1024  # characters (fraudwatch.ato.useragent.MAX_LENGTH)

# Every field is hostile until checked: an amount is a JSON integer (not "100", not true),
# far below 2**53 so that sums over any window stay exact and fit every encoder; the service
# applies a lower maximum per currency from its settings (``ingest.max_amount``).
MAX_MINOR_UNITS = 10**13
MAX_QUANTITY = 1_000_000
# event times a fraudwatch event may carry at all (the service bounds live events much more
# tightly, relative to its clock: ``ingest.max_ahead_seconds`` / ``max_behind_seconds``)
MIN_YEAR, MAX_YEAR = 1970, 2099

Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")]
Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]
MinorUnits = Annotated[
    StrictInt, Field(ge=0, le=MAX_MINOR_UNITS, description="amount in minor units of currency (a JSON integer)")
]


# custom fields (``metadata``): Stripe's own bounds (50 keys, 40-character keys, 500-character values)
MAX_METADATA_KEYS, MAX_METADATA_KEY, MAX_METADATA_TEXT = 50, 40, 500
METADATA_KEY = re.compile(rf"^[a-z][a-z0-9_]{{0,{MAX_METADATA_KEY - 1}}}$")
MetadataValue = Annotated[StrictBool | StrictInt | StrictFloat | StrictStr, Field(union_mode="left_to_right")]


def check_metadata(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """Refuse metadata keys and values a rule or feature could not read safely: keys that are
    not names, numbers beyond 2**53 or not finite, texts over the bound, numbers that are card
    numbers (texts are scanned with the other fields on the way in, ``events.pan``)."""
    if value is None:
        return None
    for key, v in value.items():
        if not METADATA_KEY.match(key):
            raise ValueError(
                f"metadata key {key[:48]!r}: lower-case letters, digits and _ starting with a letter, "
                f"at most {MAX_METADATA_KEY} characters"
            )
        if v.__class__ is str and len(v) > MAX_METADATA_TEXT:
            raise ValueError(f"metadata.{key}: text longer than {MAX_METADATA_TEXT} characters")
        if v.__class__ is float and not math.isfinite(v):
            raise ValueError(f"metadata.{key}: not a finite number")
        if v.__class__ in (int, float) and abs(v) > 2**53:
            raise ValueError(f"metadata.{key}: a number beyond 2**53 (send large identifiers as text)")
        if v.__class__ is int and v >= 10**12 and _luhn(str(v)):
            raise ValueError(f"metadata.{key}: looks like a card number; send cards in the card field")
    return value


def _luhn(digits: str) -> bool:
    from fraudwatch.events.pan import luhn_valid

    return 13 <= len(digits) <= 19 and luhn_valid(digits)


class computed_once:  # noqa: N801 - used as a decorator, like cached_property
    """A value computed on first read and kept in the instance: ``functools.cached_property``
    without the lock it takes up to Python 3.11 (measured at 0.9 us per event)."""

    def __init__(self, fn: Any) -> None:
        self.fn = fn
        self.__doc__ = fn.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.fn(obj)
        return value


class Envelope(BaseModel):
    """Fields common to every event kind."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, ignored_types=(computed_once,))
    if TYPE_CHECKING:
        kind: str  # each kind's class defines it as a Literal

    id: Annotated[str, Field(min_length=1, max_length=128)]
    time: datetime
    version: Literal[1, 2] = Field(SCHEMA_VERSION, description="schema version; version 1 events parse as they are")
    # references to the entities involved; all optional
    card: str | None = Field(None, max_length=128, description="card token, never a card number")
    account: str | None = Field(None, max_length=128)
    device: str | None = Field(None, max_length=128)
    ip: str | None = Field(None, max_length=64, description="IPv4 or IPv6 address (normalised)")
    email: str | None = Field(None, max_length=256, description="email or its hash")
    phone: str | None = Field(None, max_length=64, description="phone or its hash")
    merchant: str | None = Field(None, max_length=128)
    terminal: str | None = Field(None, max_length=128)
    session: str | None = Field(
        None, max_length=128, description="session id: from the login that opens it to account.logout"
    )
    user_agent: str | None = Field(
        None, max_length=MAX_USER_AGENT, description="HTTP User-Agent; send at most the first 1024 characters"
    )
    # context
    country: Country | None = Field(None, description="country of the IP or the acceptance point")
    language: str | None = Field(None, max_length=16, description="account or browser language")
    channel: Literal["ecommerce", "pos", "atm", "moto", "app", "wallet"] | None = None
    scenario: str | None = Field(
        None, max_length=64, description="ground-truth label of simulated or replayed data; never read by rules"
    )
    metadata: dict[str, MetadataValue] | None = Field(
        None,
        description=f"the integrator's own fields (rules read event.metadata.<key>): at most {MAX_METADATA_KEYS} keys "
        f"of lower-case letters, digits and _ (up to {MAX_METADATA_KEY} characters), each a string (up to "
        f"{MAX_METADATA_TEXT} characters), a number or true/false",
        max_length=MAX_METADATA_KEYS,
    )

    @field_validator("time", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        # pydantic would read 1795233600 or true as a time: an ISO 8601 string or a datetime only
        if not isinstance(value, (str, datetime)):
            raise ValueError("time is an ISO 8601 string with a timezone, e.g. 2026-11-21T13:00:00+09:00")
        return value

    @field_validator("time")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("time needs a timezone, e.g. 2026-11-21T13:00:00+09:00 or ...Z")
        if not MIN_YEAR <= value.year <= MAX_YEAR:
            raise ValueError(f"time must be in the years {MIN_YEAR} to {MAX_YEAR}")
        return value

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return check_metadata(value)

    @field_validator("ip")
    @classmethod
    def _ip(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            raise ValueError(f"{value[:64]!r} is not an IPv4 or IPv6 address") from None
        mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:1.2.3.4 is 1.2.3.4
        return str(mapped) if mapped is not None else address.compressed

    @computed_once
    def ts(self) -> float:
        """Event time as POSIX seconds (computed once: the engine, the API and the
        stores all read it)."""
        return self.time.timestamp()

    # context derived from the IP and the user agent (offline data; cached per value)
    @computed_once
    def ip_country(self) -> str | None:
        """Country of the IP address from the offline IP data (ISO 3166-1 alpha-2)."""
        info = _ip_info(self.ip)
        return info.country if info is not None else None

    @computed_once
    def asn(self) -> int | None:
        """Autonomous system number of the IP (None when the IP data has names only)."""
        info = _ip_info(self.ip)
        return info.asn if info is not None else None

    @computed_once
    def as_org(self) -> str | None:
        """Organisation of the IP's autonomous system, e.g. ``"SoftBank Corp."``."""
        info = _ip_info(self.ip)
        return info.as_org if info is not None else None

    @computed_once
    def as_id(self) -> str | None:
        """The IP's autonomous system as one value: ``"AS2516"``, or its name when the data
        has no number (what features key on)."""
        info = _ip_info(self.ip)
        return info.as_key if info is not None else None

    @computed_once
    def ip_hosting(self) -> bool | None:
        """The IP belongs to a cloud or hosting network (``fraudwatch/ato/data/hosting_as.list``)."""
        if self.ip is None:
            return None
        hosting: bool = _provider("hosting")(_ip_info(self.ip))
        return hosting

    @computed_once
    def amount_usd(self) -> float | None:
        """The amount in US dollars (Radar's ``amount_in_usd``), with the configured rates
        table's rate of the event's day in UTC (``fraudwatch.events.currency``); None without
        an amount or a rate for its currency."""
        amount = getattr(self, "amount", None)
        if amount is None:
            return None
        from fraudwatch.events.currency import rates

        day = datetime.fromtimestamp(self.ts, UTC).date().isoformat()
        return rates().usd(amount, getattr(self, "currency", None), day)

    @computed_once
    def ip_is_anonymous(self) -> bool | None:
        """The IP is a known VPN, proxy or Tor exit, from the offline IP data (None while the
        data has no anonymity flags: the bundled sources have none; ``ip_hosting`` covers
        data-centre networks)."""
        info = _ip_info(self.ip)
        anonymous: bool | None = getattr(info, "anonymous", None)
        return anonymous

    @computed_once
    def ua_browser(self) -> str | None:
        """Browser family of the user agent, e.g. ``"Chrome"``."""
        value: str | None = _ua(self.user_agent, "browser")
        return value

    @computed_once
    def ua_browser_major(self) -> int | None:
        value: int | None = _ua(self.user_agent, "browser_major")
        return value

    @computed_once
    def ua_browser_version(self) -> str | None:
        """Browser family and major version, e.g. ``"Chrome 120"``."""
        value: str | None = _ua(self.user_agent, "browser_version")
        return value

    @computed_once
    def ua_os(self) -> str | None:
        """Operating system family, e.g. ``"iOS"``."""
        value: str | None = _ua(self.user_agent, "os")
        return value

    @computed_once
    def ua_os_major(self) -> int | None:
        value: int | None = _ua(self.user_agent, "os_major")
        return value

    @computed_once
    def ua_os_version(self) -> str | None:
        """OS family and major version, e.g. ``"iOS 17"``."""
        value: str | None = _ua(self.user_agent, "os_version")
        return value

    @computed_once
    def ua_device(self) -> str | None:
        """Device type: desktop, mobile, tablet, bot or other."""
        value: str | None = _ua(self.user_agent, "device")
        return value


# The IP and user-agent context come from the account-takeover domain, found by name on first
# use (as the stateful feature kinds are): the core imports no domain.
CONTEXT_PROVIDERS = {
    "ip": "fraudwatch.ato:ip_info",
    "ua": "fraudwatch.ato:parse_user_agent",
    "hosting": "fraudwatch.ato:is_hosting",
}
_context: dict[str, Any] = {}


def _provider(name: str) -> Any:
    try:
        return _context[name]
    except KeyError:
        import importlib

        module, _, attr = CONTEXT_PROVIDERS[name].partition(":")
        fn = _context[name] = getattr(importlib.import_module(module), attr)
        return fn


def _ip_info(ip: str | None) -> Any:
    if ip is None:
        return None
    return _provider("ip")(ip)


def _ua(text: str | None, attr: str) -> Any:
    if text is None:
        return None
    return getattr(_provider("ua")(text), attr)


# ---------------------------------------------------------------- payments
CardBrand = Literal["visa", "mastercard", "jcb", "amex", "diners", "discover", "unionpay", "other", "unknown"]


class CardFields(BaseModel):
    model_config = ConfigDict(ignored_types=(computed_once,))

    card_bin: str | None = Field(None, pattern=r"^[0-9]{6,8}$")
    card_last4: str | None = Field(None, pattern=r"^[0-9]{4}$")
    card_type: Literal["credit", "debit", "prepaid", "unknown"] | None = None
    card_country: Country | None = None
    card_brand: CardBrand | None = Field(None, description="card scheme; derived from card_bin when not sent")

    @computed_once
    def card_scheme(self) -> str | None:
        """The card's scheme: ``card_brand`` as sent, else from the BIN's leading digits."""
        brand = self.card_brand
        return brand if brand is not None and brand != "unknown" else _scheme_of_bin(self.card_bin) or brand


def _scheme_of_bin(bin_: str | None) -> str | None:
    """Scheme from the issuer identification number's prefix ranges (ISO/IEC 7812)."""
    if not bin_:
        return None
    two, four = int(bin_[:2]), int(bin_[:4])
    if bin_[0] == "4":
        return "visa"
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return "mastercard"
    if 3528 <= four <= 3589:
        return "jcb"
    if two in (34, 37):
        return "amex"
    if 300 <= int(bin_[:3]) <= 305 or two in (36, 38, 39) or four == 3095:
        return "diners"
    if bin_.startswith(("6011", "65")) or 644 <= int(bin_[:3]) <= 649:
        return "discover"
    if two == 62:
        return "unionpay"
    return "other"


Check = Literal["pass", "fail", "unavailable", "unchecked", "unknown"]


class AddressFields(BaseModel):
    """Billing and shipping address parts: countries and postal codes as they are, the street
    line as the sender's keyed hash (the same key gives the same hash, so features can count
    addresses without holding them)."""

    billing_country: Country | None = None
    billing_postal_code: str | None = Field(None, max_length=16, pattern=r"^[A-Za-z0-9 -]+$")
    billing_line_hash: str | None = Field(None, max_length=128, description="keyed hash of the billing street line")
    shipping_country: Country | None = None
    shipping_postal_code: str | None = Field(None, max_length=16, pattern=r"^[A-Za-z0-9 -]+$")
    shipping_line_hash: str | None = Field(None, max_length=128, description="keyed hash of the shipping street line")
    email_domain: str | None = Field(
        None,
        max_length=253,
        pattern=r"^[A-Za-z0-9.-]+$",
        description="domain of the customer's e-mail address, e.g. example.jp (when email is a hash)",
    )


class PaymentContext(BaseModel):
    """What the payment method and the checkout said: the issuer's CVC and address checks,
    the wallet, whether the customer was present, network tokens, 3-D Secure support."""

    cvc_check: Check | None = Field(None, description="the issuer's CVC check")
    address_line1_check: Check | None = Field(None, description="the issuer's check of the billing street line")
    address_postal_code_check: Check | None = Field(None, description="the issuer's check of the billing postal code")
    wallet: Literal["apple_pay", "google_pay", "samsung_pay", "link", "other", "none", "unknown"] | None = Field(
        None, description="digital wallet the card was presented through ('none': no wallet)"
    )
    off_session: StrictBool | None = Field(
        None, description="charged without the customer present (merchant-initiated)"
    )
    recurring: StrictBool | None = Field(None, description="a recurring (subscription or instalment) payment")
    network_token: StrictBool | None = Field(None, description="paid with a network token instead of the card number")
    cryptogram: StrictBool | None = Field(None, description="a token cryptogram (TAVV, wallet cryptogram) came with it")
    three_ds_support: Literal["required", "recommended", "optional", "not_supported", "unknown"] | None = Field(
        None, description="the card's 3-D Secure support as the issuer or the PSP reports it"
    )
    cardholder_name_hash: str | None = Field(None, max_length=128, description="keyed hash of the cardholder name")


class PaymentAttempt(Envelope, CardFields, AddressFields, PaymentContext):
    """An authorization attempt and, when known, its result."""

    kind: Literal["payment.attempt"]
    amount: MinorUnits
    currency: Currency
    result: Literal["approved", "declined", "pending"] = "pending"
    decline_reason: (
        Literal[
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
        | None
    ) = None
    mcc: str | None = Field(None, pattern=r"^[0-9]{4}$", description="merchant category code")
    order: str | None = Field(None, max_length=128)
    three_ds: Literal["not_attempted", "frictionless", "challenged", "failed"] | None = None
    three_ds_trans_status: Literal["Y", "A", "N", "U", "R", "C", "D", "I"] | None = Field(
        None,
        description="EMV 3-D Secure transStatus: Y authenticated, A attempted, N not authenticated, "
        "U unavailable, R rejected, C challenge required, D decoupled, I informational only",
    )
    eci: str | None = Field(None, pattern=r"^0[0-7]$", description="Electronic Commerce Indicator of the 3DS result")
    items_category: str | None = Field(None, max_length=64, description="main item category, e.g. digital_gift_card")

    @computed_once
    def liability_shift(self) -> bool | None:
        """Whether the 3-D Secure result moves fraud liability to the issuer (None: no 3DS
        result). Visa, JCB, Amex and the others: ECI 05 (authenticated) or 06 (attempted);
        Mastercard: 02 or 01; Mastercard Data Only (ECI 04) never shifts. A transStatus
        other than Y or A never shifts."""
        if self.eci is None:
            return None if self.three_ds_trans_status is None else False
        if self.three_ds_trans_status not in (None, "Y", "A"):
            return False
        if self.card_scheme == "mastercard":
            return self.eci in ("01", "02")
        return self.eci in ("05", "06")


class PaymentCapture(Envelope):
    kind: Literal["payment.capture"]
    payment: str = Field(..., description="id of the payment.attempt event")
    amount: MinorUnits
    currency: Currency


class PaymentRefund(Envelope):
    kind: Literal["payment.refund"]
    payment: str
    amount: MinorUnits
    currency: Currency
    reason: str | None = Field(None, max_length=256)


class PaymentReversal(Envelope):
    kind: Literal["payment.reversal"]
    payment: str
    amount: MinorUnits
    currency: Currency


# ----------------------------------------------------------------- account
class PasswordCheck(BaseModel):
    """The integrator's breached-password check (``GET /v1/passwords/range/{prefix}``):
    fraudwatch never sees the password."""

    password_compromised: bool | None = Field(None, description="the password is in the breached-password corpus")
    password_breach_count: int | None = Field(None, ge=0, le=2**53, description="times it appears there")


class AccountCreated(Envelope):
    """A signup."""

    kind: Literal["account.created"]
    email_domain: str | None = Field(None, max_length=253, pattern=r"^[A-Za-z0-9.-]+$", description="e.g. example.jp")
    phone_present: bool | None = None
    phone_verified: bool | None = None
    signup_channel: Literal["web", "app", "api", "store", "call_center", "partner", "other"] | None = None


class Login(Envelope, PasswordCheck):
    """A sign-in attempt; ``success`` once the credentials were accepted (before any step-up
    the decision asks for: its result comes as ``auth.challenge``)."""

    kind: Literal["account.login"]
    success: StrictBool
    failure_reason: Literal["bad_password", "unknown_account", "locked", "2fa_failed", "other"] | None = None
    method: Literal["password", "2fa", "passkey", "sso", "magic_link"] | None = None


class Logout(Envelope):
    """The end of a session (``session`` names it)."""

    kind: Literal["account.logout"]
    reason: Literal["user", "timeout", "revoked", "password_changed", "other"] | None = None


class PasswordChanged(Envelope, PasswordCheck):
    kind: Literal["account.password_changed"]


class PasswordReset(Envelope, PasswordCheck):
    kind: Literal["account.password_reset"]


class AuthChallenge(Envelope):
    """How a step-up that a decision asked for ended: what was asked (a second factor, a 3-D
    Secure challenge, a CAPTCHA), for which event, passed, failed or abandoned."""

    kind: Literal["auth.challenge"]
    target: str = Field(..., max_length=128, description="id of the event that was challenged")
    method: Literal["totp", "sms", "email", "push", "passkey", "security_key", "3ds", "captcha", "other"]
    result: Literal["passed", "failed", "abandoned"]
    challenge_indicator: Literal["01", "02", "03", "04", "05", "06", "07", "08", "09"] | None = Field(
        None, description="3DS Requestor Challenge Indicator sent (03 challenge requested, 04 mandated)"
    )


class TwoFactorEnrolled(Envelope):
    kind: Literal["account.2fa_enrolled"]
    method: Literal["totp", "sms", "email", "passkey", "other"] | None = None


class TwoFactorRemoved(Envelope):
    kind: Literal["account.2fa_removed"]
    method: Literal["totp", "sms", "email", "passkey", "other"] | None = None


class ProfileChanged(Envelope):
    """A change of one profile field; values may be hashed by the sender."""

    kind: Literal["account.profile_changed"]
    field: Literal["email", "phone", "language", "address", "name"]
    old_value: str | None = Field(None, max_length=256)
    new_value: str | None = Field(None, max_length=256)


class PaymentMethodAdded(Envelope, CardFields):
    kind: Literal["account.payment_method_added"]


class PaymentMethodRemoved(Envelope, CardFields):
    kind: Literal["account.payment_method_removed"]


# ---------------------------------------------------------------- commerce
class Item(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    sku: str = Field(..., max_length=128)
    category: str = Field(..., max_length=64, description="e.g. digital_gift_card, prepaid_card, electronics")
    quantity: StrictInt = Field(1, ge=1, le=MAX_QUANTITY)
    unit_price: MinorUnits


class CartItemAdded(Envelope):
    kind: Literal["cart.item_added"]
    item: Item


class CartItemRemoved(Envelope):
    kind: Literal["cart.item_removed"]
    item: Item


class OrderFields(BaseModel):
    order: str = Field(..., max_length=128, description="order id")


class OrderPlaced(Envelope, OrderFields, AddressFields):
    kind: Literal["order.placed"]
    amount: MinorUnits
    currency: Currency
    items: list[Item] = Field(default_factory=list, max_length=500)
    shipping_address: str | None = Field(None, max_length=256, description="address or its hash")

    @property
    def gift_card_share(self) -> float | None:
        """Share of the order's value in digital gift or prepaid cards."""
        total = sum(i.unit_price * i.quantity for i in self.items)
        if not total:
            return None
        gift = sum(i.unit_price * i.quantity for i in self.items if i.category in GIFT_CARD_CATEGORIES)
        return gift / total


class OrderCancelled(Envelope, OrderFields):
    kind: Literal["order.cancelled"]


class OrderHidden(Envelope, OrderFields):
    kind: Literal["order.hidden"]


class OrderShipped(Envelope, OrderFields):
    kind: Literal["order.shipped"]


# ---------------------------------------------------------------- outcomes
class Label(Envelope):
    """Ground truth about an earlier event, known at ``time``."""

    kind: Literal["label"]
    target: str = Field(..., description="id of the labelled event")
    fraud: StrictBool
    source: Literal["cardholder", "analyst", "issuer", "chargeback", "merchant", "simulator", "dataset"] = "analyst"


Scheme = Literal["visa", "mastercard", "jcb", "amex", "other"]


class Chargeback(Envelope):
    """A chargeback (first stage of a dispute) received for an earlier payment."""

    kind: Literal["chargeback"]
    payment: str = Field(..., description="id of the disputed payment.attempt event")
    amount: MinorUnits
    currency: Currency
    reason_code: str | None = Field(None, max_length=16, description="the scheme's reason code, e.g. 10.4, 4837, 546")
    scheme: Scheme | None = Field(None, description="card scheme; sets the dispute's stages and deadlines")
    acquirer: str | None = Field(
        None, max_length=64, description="acquirer or PSP (deadline overrides are per acquirer)"
    )


class FraudReport(Envelope):
    """A scheme's fraud report about an earlier payment (Visa TC40, Mastercard SAFE, JCB).

    Not a dispute by itself, but the payment is fraud by the issuer's word (a JCB issuer
    report, say)."""

    kind: Literal["fraud_report"]
    payment: str = Field(..., description="id of the reported payment.attempt event")
    amount: MinorUnits
    currency: Currency
    scheme: Scheme
    report: Literal["tc40", "safe", "jcb_issuer", "other"] = "other"
    fraud_type: str | None = Field(None, max_length=32, description="the scheme's fraud type code")


class EarlyFraudWarning(Envelope):
    """An early fraud warning about an earlier payment: a chargeback may follow.

    A PSP relays it (from a TC40 or SAFE report, say); a refund now prevents the chargeback."""

    kind: Literal["early_fraud_warning"]
    payment: str = Field(..., description="id of the payment.attempt event warned about")
    amount: MinorUnits
    currency: Currency
    scheme: Scheme | None = None
    fraud_type: str | None = Field(None, max_length=32)


class CardholderAnswer(Envelope):
    """The cardholder's answer to "was this you?" about an event."""

    kind: Literal["cardholder.answer"]
    target: str = Field(..., description="id of the event asked about")
    answer: Literal["yes", "no"]


GIFT_CARD_CATEGORIES = frozenset({"digital_gift_card", "gift_card", "prepaid_card"})

EVENT_TYPES: tuple[type[Envelope], ...] = (
    PaymentAttempt,
    PaymentCapture,
    PaymentRefund,
    PaymentReversal,
    AccountCreated,
    Login,
    Logout,
    PasswordChanged,
    PasswordReset,
    AuthChallenge,
    TwoFactorEnrolled,
    TwoFactorRemoved,
    ProfileChanged,
    PaymentMethodAdded,
    PaymentMethodRemoved,
    CartItemAdded,
    CartItemRemoved,
    OrderPlaced,
    OrderCancelled,
    OrderHidden,
    OrderShipped,
    Label,
    Chargeback,
    CardholderAnswer,
    FraudReport,
    EarlyFraudWarning,
)
KINDS: tuple[str, ...] = tuple(get_args(t.model_fields["kind"].annotation)[0] for t in EVENT_TYPES)
TYPE_BY_KIND: dict[str, type[Envelope]] = dict(zip(KINDS, EVENT_TYPES, strict=False))


@cache
def computed_fields(cls: type[Envelope]) -> frozenset[str]:
    """The values an event kind computes from its fields (``ts``, ``gift_card_share``)."""
    return frozenset(
        n
        for n in dir(cls)
        if not n.startswith(("_", "model_")) and isinstance(getattr(cls, n, None), (property, computed_once))
    )


@cache
def attributes(cls: type[Envelope]) -> frozenset[str]:
    """Field and computed value names of an event kind."""
    return frozenset(cls.model_fields) | computed_fields(cls)


# A field of another kind reads None on every event (``getattr(login, "amount", None)``)
# from a class attribute: without one, pydantic's ``__getattr__`` first looks for private
# and extra attributes and raises, 2.5 µs a miss (measured), and the feature and rule hot
# paths read fields that some kinds lack on every event. Validation, ``model_fields`` and
# the JSON Schema do not see class attributes.
_EVERY_FIELD = frozenset(name for t in EVENT_TYPES for name in attributes(t))
for _type in EVENT_TYPES:
    for _name in _EVERY_FIELD - attributes(_type):
        setattr(_type, _name, None)

Event = Annotated[Union[EVENT_TYPES], Field(discriminator="kind")]  # type: ignore[valid-type]  # noqa: UP007 - a Union over a tuple of types
EVENT_ADAPTER: TypeAdapter[Envelope] = TypeAdapter(Event)


def parse_event(data: dict[str, Any]) -> Envelope:
    """Validate one event given as a dict; raises ``pydantic.ValidationError``."""
    return EVENT_ADAPTER.validate_python(data)


def event_to_dict(event: Envelope) -> dict[str, Any]:
    """JSON-ready dict without unset optional fields."""
    return event.model_dump(mode="json", exclude_none=True)


def json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of one event, generated from the models."""
    schema = EVENT_ADAPTER.json_schema()
    schema["title"] = "fraudwatch event"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["description"] = f"One fraudwatch event, schema version {SCHEMA_VERSION}. JSON Lines: one object per line."
    return schema
