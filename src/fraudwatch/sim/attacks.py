"""Attack episodes, modelled on the victims' reports in DEVELOPERS.md.

Each function plays one episode (an *instance*) into the stream. Every event the attacker
causes carries ``scenario="<name>:<instance>"``; the victims' own reactions (removing cart
items, changing the password) are genuine events. Outcomes arrive later as ``label`` and
``chargeback`` events with realistic delays.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from fraudwatch.ato import ip_info
from fraudwatch.sim.world import (
    BINS,
    DAY,
    DC_IP_FIRST,
    FOREIGN,
    GIFT_AMOUNTS,
    GIFT_MCC,
    HOUR,
    JP_IP_FIRST,
    MINUTE,
    SHOP,
    Holder,
    Stream,
    hexid,
    ip_address,
)

SCENARIOS = (
    "ato_gift_card",
    "leaked_card",
    "card_testing",
    "bin_enumeration",
    "credential_stuffing",
    "stored_value_theft",
)


@dataclass(slots=True)
class World:
    """What an attack needs to know of the world."""

    stream: Stream
    merchants: dict
    cgnat: list[str]


def report_delay(rng: random.Random, median_minutes: float, low: float, high: float) -> float:
    """Seconds until someone reports: log-normal around the median, clipped."""
    return min(high, max(low, rng.lognormvariate(0, 1.2) * median_minutes * MINUTE))


# a card's scheme from its BIN, with the scheme's reason code for fraud in a card-absent payment
SCHEME_REASONS = {"4": ("visa", "10.4"), "5": ("mastercard", "4837"), "35": ("jcb", "546"), "37": ("amex", "F29")}
REPORTS = {"visa": "tc40", "mastercard": "safe", "jcb": "jcb_issuer", "amex": "other"}


def scheme_of(card_bin: str | None) -> tuple[str, str]:
    """The scheme and its card-absent fraud reason code.

    >>> scheme_of("356600"), scheme_of("411111")
    (('jcb', '546'), ('visa', '10.4'))
    """
    bin_ = card_bin or ""
    return SCHEME_REASONS.get(bin_[:2]) or SCHEME_REASONS.get(bin_[:1]) or ("visa", "10.4")


def outcomes(w: World, rng: random.Random, frauds: list[dict], report_at: float, source: str) -> None:
    """Labels for every fraudulent event; for approved payments, chargebacks 3 weeks to 3
    months on, and for some of them first the scheme's fraud report (TC40, SAFE, JCB) and
    an early fraud warning a few days on."""
    for i, ev in enumerate(frauds):
        known = max(report_at + i, w.stream.time_of(ev) + rng.uniform(60, 600))
        w.stream.emit(
            known, "label", target=ev, fraud=True, source=source, card=ev.get("card"), account=ev.get("account")
        )
        if ev["kind"] == "payment.attempt" and ev["result"] == "approved":
            disputed = max(w.stream.time_of(ev) + rng.uniform(21, 90) * DAY, known + DAY)
            scheme, reason = scheme_of(ev.get("card_bin"))
            reports(w, ev, scheme, known=known, disputed=disputed)
            w.stream.emit(
                disputed,
                "chargeback",
                payment=ev,
                amount=ev["amount"],
                currency=ev["currency"],
                reason_code=reason,
                scheme=scheme,
                card=ev.get("card"),
            )


def reports(w: World, ev: dict, scheme: str, *, known: float, disputed: float) -> None:
    """A fraud report for about half the disputed payments, and an early fraud warning
    relaying it for a third of those, between the fraud being known and the chargeback.
    Drawn from a generator of their own, so the rest of the stream stays as it was."""
    side = random.Random(f"reports-{w.stream.time_of(ev)}-{ev.get('card')}-{ev['amount']}")
    if side.random() >= 0.5:
        return
    reported = known + side.uniform(0.2, 0.5) * (disputed - known)
    common = {
        "payment": ev,
        "amount": ev["amount"],
        "currency": ev["currency"],
        "scheme": scheme,
        "card": ev.get("card"),
    }
    w.stream.emit(reported, "fraud_report", report=REPORTS[scheme], **common)
    if side.random() < 1 / 3:
        w.stream.emit(reported + side.uniform(1, 48) * 3600, "early_fraud_warning", **common)


def gift_item(amount: int) -> dict:
    return {
        "sku": f"sku_digital_gift_card_{amount}",
        "category": "digital_gift_card",
        "quantity": 1,
        "unit_price": amount,
    }


def fraud_item(amount: int, gift: bool) -> dict:
    """The one item of a leaked card's order at the shop: a gift card or electronics."""
    if gift:
        return gift_item(amount)
    return {"sku": f"sku_electronics_{amount}", "category": "electronics", "quantity": 1, "unit_price": amount}


def attacker_origin(rng: random.Random, abroad_share: float) -> tuple[str, str]:
    """An attacker's address and its country: a hosting network abroad, or a residential
    proxy in Japan."""
    if rng.random() < abroad_share:
        for _ in range(20):
            ip = ip_address(rng, DC_IP_FIRST)
            country = ip_info(ip).country
            if country not in (None, "JP"):
                return ip, country
        return ip_address(rng, "home:" + rng.choice(FOREIGN)), rng.choice(FOREIGN)
    return ip_address(rng, JP_IP_FIRST), "JP"  # a residential proxy in Japan


# ---------------------------------------------------------------- account takeover
def ato_gift_card(w: World, rng: random.Random, tag: str, victim: Holder, t: float) -> None:
    """Leaked password, new device and IP (often abroad), language to English, then 9 to 40+
    small digital gift-card orders within hours, each hidden; items re-added minutes after the
    owner removes them; the owner's password change ends it."""
    s = w.stream
    ip, country = attacker_origin(rng, 0.7)
    device = hexid(rng, "dv_", 64)
    atk = {
        "account": victim.account,
        "email": victim.email,
        "device": device,
        "ip": ip,
        "country": country,
        "channel": "ecommerce",
        "scenario": tag,
    }
    frauds: list[dict] = []
    for _ in range(rng.choice((0, 0, 0, 1, 2))):  # passwords from older leaks first
        s.emit(
            t,
            "account.login",
            success=False,
            failure_reason="bad_password",
            method="password",
            language=victim.language,
            **atk,
        )
        t += rng.uniform(20, 90)
    frauds.append(s.emit(t, "account.login", success=True, method="password", language=victim.language, **atk))
    t += rng.uniform(1, 15) * MINUTE
    frauds.append(
        s.emit(
            t,
            "account.profile_changed",
            field="language",
            old_value=victim.language,
            new_value="en",
            language="en",
            **atk,
        )
    )
    t += rng.uniform(1, 10) * MINUTE
    n_orders = rng.randint(9, 24) if rng.random() < 0.7 else rng.randint(25, 48)
    owner_at = rng.randint(3, max(4, n_orders // 2))  # the owner sees order mails and empties the cart
    issuer_stops = n_orders - rng.randint(1, 3) if rng.random() < 0.2 else None
    owner = {
        "account": victim.account,
        "email": victim.email,
        "device": victim.devices[-1],
        "ip": victim.home_ip,
        "country": "JP",
        "language": "en",
        "channel": "ecommerce",
    }
    for j in range(n_orders):
        amount = rng.choice(GIFT_AMOUNTS)
        item = gift_item(amount)
        frauds.append(s.emit(t, "cart.item_added", item=item, language="en", **atk))
        if j == owner_at:
            # the owner logs in, removes the item; the attacker re-adds it minutes later
            t += rng.uniform(1, 4) * MINUTE
            s.emit(t, "account.login", success=True, method="password", **owner)
            t += rng.uniform(20, 90)
            s.emit(t, "cart.item_removed", item=item, **owner)
            t += rng.uniform(2, 8) * MINUTE
            frauds.append(s.emit(t, "cart.item_added", item=item, language="en", **atk))
        t += rng.uniform(10, 60)
        order = hexid(rng, "ord_")
        declined = issuer_stops is not None and j >= issuer_stops
        pay = s.emit(
            t,
            "payment.attempt",
            amount=amount,
            currency="JPY",
            result="declined" if declined else "approved",
            decline_reason="limit_exceeded" if declined else None,
            merchant=SHOP,
            mcc=GIFT_MCC,
            order=order,
            three_ds="frictionless",
            items_category="digital_gift_card",
            language="en",
            **victim.card.fields(),
            **atk,
        )
        frauds.append(pay)
        if not declined:
            frauds.append(
                s.emit(
                    t + 2,
                    "order.placed",
                    order=order,
                    amount=amount,
                    currency="JPY",
                    merchant=SHOP,
                    items=[item],
                    language="en",
                    **atk,
                )
            )
            t += rng.uniform(20, 120)
            frauds.append(s.emit(t, "order.hidden", order=order, language="en", **atk))
        t += rng.uniform(1, 8) * MINUTE
    # the password change stops it; the attacker's next try fails
    t += rng.uniform(2, 30) * MINUTE
    s.emit(t, "account.password_changed", **owner)
    s.emit(
        t + 60,
        "account.profile_changed",
        field="language",
        old_value="en",
        new_value=victim.language,
        **{**owner, "language": victim.language},
    )
    frauds.append(
        s.emit(
            t + rng.uniform(10, 60) * MINUTE,
            "account.login",
            success=False,
            failure_reason="bad_password",
            method="password",
            language="en",
            **atk,
        )
    )
    outcomes(w, rng, frauds, t + report_delay(rng, 90, 5 * MINUTE, 4 * DAY), "cardholder")


# ---------------------------------------------------------------- leaked card
def leaked_card(w: World, rng: random.Random, tag: str, victim: Holder, t: float) -> None:
    """The card token shows up as a payment method on a brand-new account that is not the
    holder's, is charged there and tried at other merchants; the issuer's usage alert tells
    the holder, whose report gets further attempts declined."""
    s = w.stream
    ip, country = attacker_origin(rng, 0.5)
    device = hexid(rng, "dv_", 64)
    account = hexid(rng, "acct_")
    language = rng.choice(("ja", "ja", "en", "zh"))
    atk = {
        "device": device,
        "ip": ip,
        "country": country,
        "language": language,
        "channel": "ecommerce",
        "scenario": tag,
    }
    on_acct = {**atk, "account": account, "email": hexid(rng, "em_", 64)}
    signup = {
        "email_domain": rng.choice(("gmail.com", "outlook.com", "yahoo.co.jp", "proton.me")),
        "phone_present": False,
    }
    if rng.random() < 0.25:  # an aged account: opened days before, left idle, then used
        opened = t - rng.uniform(3, 14) * DAY
        frauds = [
            s.emit(opened - 60, "account.created", signup_channel="web", **signup, **on_acct),
            s.emit(opened, "account.login", success=True, method="password", **on_acct),
        ]
    else:
        frauds = [s.emit(t - rng.uniform(60, 600), "account.created", signup_channel="web", **signup, **on_acct)]
    frauds.append(s.emit(t, "account.login", success=True, method="password", **on_acct))
    t += rng.uniform(2, 10) * MINUTE
    frauds.append(s.emit(t, "account.payment_method_added", **victim.card.fields(), **on_acct))
    t += rng.uniform(1, 5) * MINUTE
    attempts = []
    for _ in range(rng.randint(2, 6)):
        gift = rng.random() < 0.4
        amount = rng.choice(GIFT_AMOUNTS) * rng.choice((1, 2, 5)) if gift else int(round(rng.uniform(5000, 60000), -2))
        attempts.append((t, True, amount, gift))
        t += rng.uniform(5, 90) * MINUTE
    t_other = attempts[0][0] + rng.uniform(10, 120) * MINUTE
    for _ in range(rng.randint(1, 4)):
        attempts.append((t_other, False, int(round(rng.uniform(3000, 40000), -2)), False))
        t_other += rng.uniform(2, 40) * MINUTE
    attempts.sort()
    electronics = w.merchants["electronics"]
    reported_at = None
    for ta, at_shop, amount, gift in attempts:
        if reported_at is not None and ta > reported_at:
            result, reason = "declined", "stolen_card"
        elif not at_shop and rng.random() < 0.35:
            result, reason = "declined", rng.choice(("incorrect_cvc", "do_not_honor"))
        else:
            result, reason = "approved", None
        order = hexid(rng, "ord_") if at_shop else None
        fields = on_acct if at_shop else atk
        frauds.append(
            s.emit(
                ta,
                "payment.attempt",
                amount=amount,
                currency="JPY",
                result=result,
                decline_reason=reason,
                merchant=SHOP if at_shop else rng.choice(electronics).id,
                mcc=GIFT_MCC if gift else "5732",
                order=order,
                three_ds="frictionless",
                items_category="digital_gift_card" if gift else "electronics",
                **victim.card.fields(),
                **fields,
            )
        )
        if at_shop and result == "approved":
            frauds.append(
                s.emit(
                    ta + 2,
                    "order.placed",
                    order=order,
                    amount=amount,
                    currency="JPY",
                    merchant=SHOP,
                    items=[fraud_item(amount, gift)],
                    shipping_address=hexid(rng, "addr_", 32),
                    **on_acct,
                )
            )
        if result == "approved" and reported_at is None:
            reported_at = ta + report_delay(rng, 25, 3 * MINUTE, 12 * HOUR)  # the issuer's instant usage alert
    outcomes(w, rng, frauds, (reported_at or t) + rng.uniform(1, 30) * MINUTE, "cardholder")


# ---------------------------------------------------------------- card testing
def card_testing(w: World, rng: random.Random, tag: str, victim: Holder, t: float) -> None:
    """A dormant zero-balance card: the same amount at 13:00, 16:00 and 23:00, declined for
    insufficient funds each time, for one to three days."""
    s = w.stream
    amount = rng.choice((17600, 17600, 17600, 9800, 22000, 5500, 33000, 11000))
    ip, country = attacker_origin(rng, 0.5)
    device = hexid(rng, "dv_", 64)
    merchants = rng.sample(w.merchants["electronics"] + w.merchants["apparel"], 2)
    frauds = []
    midnight = t - ((t + 9 * HOUR) % DAY)
    for day in range(rng.randint(1, 3)):
        hours = (13, 16, 23) if day or rng.random() < 0.7 else (16, 23)
        for hour in hours:
            ta = midnight + day * DAY + hour * HOUR + rng.uniform(-8, 8) * MINUTE
            frauds.append(
                s.emit(
                    ta,
                    "payment.attempt",
                    amount=amount,
                    currency="JPY",
                    result="declined",
                    decline_reason="insufficient_funds",
                    merchant=rng.choice(merchants).id,
                    mcc="5732",
                    three_ds="frictionless",
                    device=device,
                    ip=ip,
                    country=country,
                    language="ja",
                    channel="ecommerce",
                    scenario=tag,
                    **victim.card.fields(),
                )
            )
    outcomes(w, rng, frauds, ta + rng.uniform(2, 10) * DAY, "issuer")


def bin_enumeration(w: World, rng: random.Random, tag: str, victim: Holder | None, t: float) -> None:
    """Many generated card numbers of one BIN from one device (rotating IPs) or one IP
    (rotating device fingerprints), a small fixed amount; most decline, a few go through.
    The cards are generated, nobody's in the population: ``victim`` is not used."""
    s = w.stream
    bin_ = rng.choice(BINS)
    amount = rng.choice((100, 300, 500, 1000))
    one_device = rng.random() < 0.5
    device = hexid(rng, "dv_", 64)
    ips = [attacker_origin(rng, 0.6) for _ in range(rng.randint(5, 20))]
    ip, country = ips[0]
    merchant = rng.choice(w.merchants["digital_content"]).id
    frauds = []
    for _ in range(rng.randint(25, 150)):
        r = rng.random()
        result, reason = (
            ("approved", None)
            if r < 0.12
            else (
                "declined",
                rng.choices(("invalid_card", "incorrect_cvc", "expired_card", "insufficient_funds"), (55, 15, 10, 8))[
                    0
                ],
            )
        )
        if one_device:
            ip, country = rng.choice(ips)
        else:
            device = hexid(rng, "dv_", 64)
        card = {
            "card": hexid(rng, "tok_", 64),
            "card_bin": bin_,
            "card_last4": f"{rng.randrange(10000):04d}",
            "card_type": "credit",
            "card_country": "JP",
        }
        frauds.append(
            s.emit(
                t,
                "payment.attempt",
                amount=amount,
                currency="JPY",
                result=result,
                decline_reason=reason,
                merchant=merchant,
                mcc="5818",
                device=device,
                ip=ip,
                country=country,
                channel="ecommerce",
                scenario=tag,
                **card,
            )
        )
        t += rng.uniform(5, 60)
    outcomes(w, rng, frauds, t + rng.uniform(1, 14) * DAY, "issuer")


# ---------------------------------------------------------------- credential stuffing
def credential_stuffing(w: World, rng: random.Random, tag: str, victims: list[Holder], t: float) -> None:
    """Many failed logins across many accounts from a few IPs, then a success on an account
    whose owner reused the password."""
    s = w.stream
    ips = [attacker_origin(rng, 0.8) for _ in range(rng.randint(1, 4))]
    n = rng.randint(60, 400)
    slow = rng.random() < 0.2  # low and slow, to stay under hourly limits
    span = rng.uniform(8, 20) * HOUR if slow else rng.uniform(20, 240) * MINUTE
    if slow:
        n = min(n, int(span / HOUR * 5 * len(ips)))
    successes = sorted(rng.sample(range(n // 2, n), min(len(victims), rng.randint(1, 3))))
    frauds = []
    for i in range(n):
        ip, country = rng.choice(ips)
        device = hexid(rng, "dv_", 64)  # a fresh fingerprint each try
        common = {
            "device": device,
            "ip": ip,
            "country": country,
            "language": "en",
            "channel": "ecommerce",
            "scenario": tag,
        }
        ti = t + span * i / n
        if i in successes:
            v = victims[successes.index(i)]
            frauds.append(
                s.emit(ti, "account.login", success=True, method="password", account=v.account, email=v.email, **common)
            )
        elif rng.random() < 0.6:
            s.emit(
                ti,
                "account.login",
                success=False,
                failure_reason="unknown_account",
                method="password",
                account=hexid(rng, "acct_"),
                **common,
            )
        else:
            v = rng.choice(victims)
            s.emit(
                ti,
                "account.login",
                success=False,
                failure_reason="bad_password",
                method="password",
                account=hexid(rng, "acct_") if rng.random() < 0.5 else v.account,
                **common,
            )
    outcomes(w, rng, frauds, t + span + rng.uniform(1, 7) * DAY, "analyst")


# ---------------------------------------------------------------- stored value
def stored_value_theft(w: World, rng: random.Random, tag: str, victim: Holder, t: float) -> None:
    """The victim's mobile card is cloned onto the attacker's phone (restored from a taken-over
    wallet account) and its balance and points spent at tills within hours, while the owner's
    own phone keeps working."""
    s = w.stream
    device = hexid(rng, "dv_", 64)
    ip = rng.choice(w.cgnat)
    base = {"account": victim.account, "device": device, "scenario": tag}
    frauds = [
        s.emit(
            t,
            "account.login",
            success=True,
            method="password",
            ip=ip,
            country="JP",
            language=victim.language,
            channel="app",
            email=victim.email,
            **base,
        )
    ]
    t += rng.uniform(5, 60) * MINUTE if rng.random() < 0.7 else rng.uniform(2, 12) * HOUR  # some wait
    stores = w.merchants["convenience"] + w.merchants["drugstore"]
    n = rng.randint(3, 10)
    for i in range(n):
        m = rng.choice(stores)
        drained = i == n - 1 and rng.random() < 0.6
        amount = int(round(rng.uniform(3000, 20000), -2))
        frauds.append(
            s.emit(
                t,
                "payment.attempt",
                amount=amount,
                currency="JPY",
                result="declined" if drained else "approved",
                decline_reason="insufficient_funds" if drained else None,
                merchant=m.id,
                mcc=m.category.mcc,
                terminal=f"t_{m.id[2:10]}_{rng.randrange(8)}",
                country="JP",
                channel="wallet",
                items_category="prepaid_card" if rng.random() < 0.5 else None,
                **victim.card.fields(),
                **base,
            )
        )
        t += rng.uniform(3, 25) * MINUTE
    outcomes(w, rng, frauds, t + report_delay(rng, 240, 30 * MINUTE, 3 * DAY), "cardholder")
