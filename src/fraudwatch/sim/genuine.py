"""Genuine customers: their habits, and the events their month produces.

Hard cases on purpose: customers who retry the same declined amount, buy gift cards for
real, travel, change phones, share a card with a spouse's account, shop from carrier-grade
NAT addresses shared by many; a reseller with ~500 one-item payments a month; a family
sharing one account and card on four devices, with a child buying game gift cards.

Look-alikes: genuine customers who do what an attacker does (``LOOKALIKES``): a foreign
resident switches the site to English and buys gift cards, a customer buys a gift card
minutes after signing in on a new phone, another buys several gift cards within the hour.
Each customer's look-alike windows (``Customer.marks``) go to the ground truth, so the
backtest can report what the policy does to each group.
"""

from __future__ import annotations

import random

from fraudwatch.sim.world import (
    DAY,
    GIFT_AMOUNTS,
    GIFT_MCC,
    HOUR,
    MINUTE,
    SHOP,
    TRAVEL,
    Holder,
    Stream,
    hexid,
    ip_address,
    iso,
    poisson,
    rng_for,
)

# Look-alike episodes per 10,000 cardholders per 30 days (at least one of each), played by
# genuine customers on top of their month, with a generator of their own: the other
# customers' streams do not move.
LOOKALIKES: dict[str, float] = {"english_gift_cards": 40, "new_phone_gift_card": 60, "gift_card_spree": 60}

# Look-alike groups the ground truth names (besides the reseller and the family): who, and when.
GROUPS = {
    "english": "customers using the site in English: foreign residents, and anyone from the switch on",
    "gift_cards": "genuine gift-card payments (read from the payment itself, not the truth file)",
    "new_phone": "the 7 days after a customer first signs in on a new phone",
    "traveller": "a trip abroad, from arrival to return",
    "spouse_card": "a card registered and used on a spouse's own account",
}
NEW_PHONE_DAYS = 7


def price(rng: random.Random, median: float, sigma: float) -> int:
    return max(100, int(round(median * rng.lognormvariate(0, sigma), -1)))


def hour_of_day(rng: random.Random, holder: Holder) -> float:
    centre, spread = holder.hours
    return rng.gauss(centre, spread) % 24


class Customer:
    """Generates one holder's genuine activity over ``[start, end)``."""

    def __init__(self, stream: Stream, holder: Holder, rng: random.Random, merchants, cgnat):
        self.s, self.h, self.rng, self.merchants, self.cgnat = stream, holder, rng, merchants, cgnat
        self.devices = list(holder.devices)
        self.language = holder.language
        self.travel: tuple[float, float, str, str] | None = None  # start, end, country, hotel ip
        self.last_login: dict[str, float] = {}
        self.marks: list[tuple[str, float, float]] = []  # look-alike group, from, until

    def mark(self, group: str, start: float, until: float) -> None:
        self.marks.append((group, start, until))

    # ------------------------------------------------------------ context
    def where(self, t: float, mobile_ok: bool = True) -> tuple[str, str]:
        if self.travel and self.travel[0] <= t < self.travel[1]:
            return self.travel[3], self.travel[2]
        if mobile_ok and self.rng.random() < 0.35:
            return self.rng.choice(self.h.mobile_ips), "JP"
        return self.h.home_ip, "JP"

    def device(self) -> str:
        if self.h.kind == "family":
            return self.rng.choice(self.devices)
        return self.devices[-1] if self.rng.random() < 0.75 else self.rng.choice(self.devices)

    def common(self, device: str, ip: str, country: str, channel: str = "ecommerce") -> dict:
        return {
            "account": self.h.account,
            "email": self.h.email,
            "device": device,
            "ip": ip,
            "country": country,
            "language": self.language,
            "channel": channel,
        }

    # ------------------------------------------------------------ actions
    def login(self, t: float, device: str, ip: str, country: str, channel: str = "ecommerce") -> float:
        base = self.common(device, ip, country, channel)
        if self.rng.random() < 0.03:  # a typo first
            self.s.emit(t, "account.login", success=False, failure_reason="bad_password", method="password", **base)
            t += self.rng.uniform(5, 40)
        self.s.emit(t, "account.login", success=True, method="password", **base)
        self.last_login[device] = t
        return t

    def shop_purchase(self, t: float, gift: bool = False, device: str | None = None) -> float:
        rng, h = self.rng, self.h
        device = device or self.device()
        ip, country = self.where(t)
        if rng.random() < 0.55 or t - self.last_login.get(device, -1e18) > 14 * DAY:
            t = self.login(t, device, ip, country) + rng.uniform(30, 900)
        base = self.common(device, ip, country)
        if gift:
            items = [("digital_gift_card", rng.choice(GIFT_AMOUNTS + (3000, 5000, 10000)))]
            merchant, mcc = SHOP, GIFT_MCC
        else:
            m = rng.choice([m for m in h.online_merchants if m.category.channel != "app"] or h.online_merchants)
            cat = m.category
            items = [
                (cat.item, price(rng, cat.median * h.scale, cat.sigma)) for _ in range(rng.choice((1, 1, 1, 2, 3)))
            ]
            merchant, mcc = SHOP, cat.mcc
        for category, unit in items:
            self.s.emit(
                t,
                "cart.item_added",
                item={"sku": f"sku_{category}_{unit}", "category": category, "quantity": 1, "unit_price": unit},
                **base,
            )
            t += rng.uniform(15, 240)
        if len(items) > 1 and rng.random() < 0.1:
            category, unit = items.pop()
            self.s.emit(
                t,
                "cart.item_removed",
                item={"sku": f"sku_{category}_{unit}", "category": category, "quantity": 1, "unit_price": unit},
                **base,
            )
            t += rng.uniform(10, 120)
        amount = sum(u for _, u in items)
        order = hexid(rng, "ord_")
        main = max(items, key=lambda x: x[1])[0]
        result = self.pay(t, amount, merchant, mcc, base, order=order, items_category=main)
        if result == "approved":
            t += 2
            self.s.emit(
                t,
                "order.placed",
                order=order,
                amount=amount,
                currency="JPY",
                merchant=merchant,
                items=[{"sku": f"sku_{c}_{u}", "category": c, "quantity": 1, "unit_price": u} for c, u in items],
                shipping_address=f"addr_{h.account[5:]}",
                **base,
            )
            if main not in ("digital_gift_card", "digital_content", "travel"):
                self.s.emit(
                    t + rng.uniform(0.5, 3) * DAY, "order.shipped", order=order, account=h.account, merchant=merchant
                )
        self.maybe_logout(t, base)
        return t

    def maybe_logout(self, t: float, base: dict) -> None:
        """Some customers sign out when done; the others' sessions time out."""
        if self.rng.random() < 0.3:
            self.s.emit(t + self.rng.uniform(1, 15) * MINUTE, "account.logout", reason="user", **base)

    def pay(self, t: float, amount: int, merchant: str, mcc: str, base: dict, retry: bool = True, **extra) -> str:
        """One authorization; a declined one is sometimes retried with the same amount."""
        rng, card = self.rng, self.h.card
        r = rng.random()
        nsf = 0.06 if card.type == "prepaid" else 0.012
        if r < nsf:
            result, reason = "declined", "insufficient_funds"
        elif r < nsf + 0.004:
            result, reason = "declined", "incorrect_cvc"
        elif r < nsf + 0.007:
            result, reason = "declined", "do_not_honor"
        else:
            result, reason = "approved", None
        channel = base.get("channel")
        three_ds = "frictionless" if channel in ("ecommerce", "app") else None
        self.s.emit(
            t,
            "payment.attempt",
            amount=amount,
            currency="JPY",
            result=result,
            decline_reason=reason,
            merchant=merchant,
            mcc=mcc,
            three_ds=three_ds,
            **card.fields(),
            **base,
            **extra,
        )
        if reason == "insufficient_funds" and retry and card.type == "prepaid" and rng.random() < 0.3:
            # tops the prepaid card up and tries the same amount again hours later
            t2 = t + rng.uniform(2, 8) * HOUR
            again = "approved" if rng.random() < 0.6 else "declined"
            self.s.emit(
                t2,
                "payment.attempt",
                amount=amount,
                currency="JPY",
                result=again,
                decline_reason=None if again == "approved" else reason,
                merchant=merchant,
                mcc=mcc,
                three_ds=three_ds,
                **card.fields(),
                **base,
                **extra,
            )
            return again
        if result == "declined" and retry and rng.random() < 0.45:
            # the same amount again a little later: the customer thinks it was a glitch
            t2 = t + rng.uniform(30, 600)
            again = "approved" if reason != "insufficient_funds" and rng.random() < 0.7 else "declined"
            self.s.emit(
                t2,
                "payment.attempt",
                amount=amount,
                currency="JPY",
                result=again,
                decline_reason=None if again == "approved" else reason,
                merchant=merchant,
                mcc=mcc,
                three_ds=three_ds,
                **card.fields(),
                **base,
                **extra,
            )
            return again
        return result

    def other_purchase(self, t: float) -> None:
        rng, h = self.rng, self.h
        ip, country = self.where(t)
        if self.travel and self.travel[0] <= t < self.travel[1] or rng.random() < h.pos_share:
            in_travel = bool(self.travel and self.travel[0] <= t < self.travel[1])
            if in_travel:
                m = rng.choice([m for m in self.merchants["foreign"] if m.country == self.travel[2]])
                country = m.country
            else:
                m = rng.choice(h.pos_merchants)
                country = "JP"
            wallet = h.wallet and not in_travel and rng.random() < 0.7
            base = {
                "terminal": f"t_{m.id[2:10]}_{rng.randrange(8)}",
                "country": country,
                "channel": "wallet" if wallet else "pos",
            }
            if wallet:
                base["device"] = self.devices[-1]
                base["account"] = h.account
            self.pay(t, price(rng, m.category.median * h.scale, m.category.sigma), m.id, m.category.mcc, base)
            return
        m = rng.choice(h.online_merchants)
        base = {
            "device": self.device(),
            "ip": ip,
            "country": country,
            "language": self.language,
            "channel": "app" if m.category.channel == "app" else "ecommerce",
            "email": h.email,
        }
        self.pay(t, price(rng, m.category.median * h.scale, m.category.sigma), m.id, m.category.mcc, base)

    # ------------------------------------------------------------ a month
    def live(self, start: float, end: float, extra: list[tuple[float, str]] = ()) -> None:
        """The month; ``extra`` adds look-alike episodes ``(time, name)`` (``do_<name>``)."""
        rng, h = self.rng, self.h
        days = (end - start) / DAY
        life: list[tuple[float, str]] = list(extra)
        if self.language == "en":
            self.mark("english", start, end)
        if rng.random() < 0.04 * days / 30:
            life.append((rng.uniform(start, end), "new_device"))
        if rng.random() < 0.03 * days / 30:
            life.append((rng.uniform(start, end - 3 * DAY), "travel"))
        if rng.random() < 0.02 * days / 30:
            life.append((rng.uniform(start, end), "password"))
        if h.language == "ja" and rng.random() < 0.003 * days / 30:
            life.append((rng.uniform(start, end), "language"))
        n = poisson(rng, h.monthly * days / 30)
        times = sorted(rng.uniform(start, end) for _ in range(n))
        events = [(self.at_habitual_hour(t), "purchase") for t in times]
        events += [(self.at_habitual_hour(rng.uniform(start, end)), "browse") for _ in range(poisson(rng, n * 0.5))]
        for t, what in sorted(life + events):
            getattr(self, "do_" + what)(t)

    def at_habitual_hour(self, t: float) -> float:
        day0 = t - ((t + 9 * HOUR) % DAY)  # midnight JST
        return day0 + hour_of_day(self.rng, self.h) * HOUR + self.rng.uniform(0, MINUTE)

    def do_purchase(self, t: float) -> None:
        rng, h = self.rng, self.h
        if rng.random() < (1 - h.pos_share) * h.shop_share:
            gift = h.gift_buyer and rng.random() < (0.25 if h.kind == "family" else 0.15)
            device = self.devices[2] if gift and h.kind == "family" else None  # the child's tablet
            self.shop_purchase(t, gift=gift, device=device)
            if gift and h.kind == "family" and rng.random() < 0.4:
                self.shop_purchase(t + rng.uniform(5, 40) * MINUTE, gift=True, device=device)
        else:
            self.other_purchase(t)

    def do_browse(self, t: float) -> None:
        device = self.device()
        ip, country = self.where(t)
        t = self.login(t, device, ip, country)
        self.maybe_logout(t + self.rng.uniform(1, 20) * MINUTE, self.common(device, ip, country))

    def do_new_device(self, t: float) -> float:
        self.devices.append(hexid(self.rng, "dv_", 64))
        ip, country = self.where(t)
        self.mark("new_phone", t, t + NEW_PHONE_DAYS * DAY)
        return self.login(t, self.devices[-1], ip, country, channel="app" if self.h.wallet else "ecommerce")

    def do_travel(self, t: float) -> None:
        country = self.rng.choice(TRAVEL)
        hotel_ip = ip_address(self.rng, "home:" + country)
        self.travel = (t, t + self.rng.uniform(3, 8) * DAY, country, hotel_ip)
        self.mark("traveller", t, self.travel[1])
        # the traveller checks the shop from the hotel on arrival
        self.login(t + self.rng.uniform(4, 20) * HOUR, self.devices[-1], self.travel[3], country)

    def do_password(self, t: float) -> None:
        device = self.device()
        ip, country = self.where(t)
        self.s.emit(t, "account.password_changed", **self.common(device, ip, country))

    def do_language(self, t: float, device: str | None = None) -> None:
        device = device or self.device()
        ip, country = self.where(t)
        self.s.emit(
            t,
            "account.profile_changed",
            field="language",
            old_value=self.language,
            new_value="en",
            **self.common(device, ip, country),
        )
        self.language = "en"
        self.mark("english", t, float("inf"))

    # ------------------------------------------------------------ look-alikes
    def usual_device(self) -> str:
        """The device the customer last signed in on (their phone or PC)."""
        return max(self.last_login, key=self.last_login.__getitem__) if self.last_login else self.devices[-1]

    def do_english_gift_cards(self, t: float) -> None:
        """A foreign resident switches the site to English, then buys one to three gift cards
        from their usual phone or PC."""
        rng = self.rng
        device = self.usual_device()
        ip, country = self.where(t)
        t = self.login(t, device, ip, country)
        if self.language != "en":
            t += rng.uniform(20, 300)
            self.do_language(t, device)
        for _ in range(rng.randint(1, 3)):
            t = self.shop_purchase(t + rng.uniform(2, 30) * MINUTE, gift=True, device=device)

    def do_new_phone_gift_card(self, t: float) -> None:
        """A new phone: the first sign-in on it, and a gift card bought on it minutes later."""
        t = self.do_new_device(t)
        self.shop_purchase(t + self.rng.uniform(2, 30) * MINUTE, gift=True, device=self.devices[-1])

    def do_gift_card_spree(self, t: float) -> None:
        """Presents: two to four gift cards within the hour, from the customer's usual device."""
        device = self.usual_device()
        for _ in range(self.rng.randint(2, 4)):
            t = self.shop_purchase(t, gift=True, device=device) + self.rng.uniform(3, 20) * MINUTE


def reseller_month(stream: Stream, holder: Holder, rng: random.Random, merchants, start: float, end: float) -> None:
    """About 500 one-item payments a month, in bursts at release times, ~180,000 yen a day.
    The issuer's count-based monitoring declines some bursts until a phone call confirms."""
    c = Customer(stream, holder, rng, merchants, [])
    sellers = [m for m in merchants["electronics"][:6]] + merchants["household"][:2]
    day = start
    while day < end:
        if rng.random() < 0.87:
            n_items = poisson(rng, 19)
            sessions = rng.randint(2, 4)
            flagged = rng.random() < 0.07  # the issuer's own velocity check trips today
            for s_i in range(sessions):
                t = day + rng.choice((10, 12, 18, 20, 21)) * HOUR + rng.uniform(-5, 30) * MINUTE
                if t >= end:
                    break
                device = holder.devices[0] if rng.random() < 0.8 else holder.devices[1]
                ip = holder.home_ip if device == holder.devices[0] else rng.choice(holder.mobile_ips)
                base = c.common(device, ip, "JP")
                t = c.login(t, device, ip, "JP") + rng.uniform(10, 60)
                for k in range(n_items // sessions):
                    unit = price(rng, 9000, 0.45)
                    shop = rng.random() < 0.65
                    merchant = SHOP if shop else rng.choice(sellers).id
                    order = hexid(rng, "ord_")
                    item = {
                        "sku": f"sku_collectible_{unit}",
                        "category": "toys_collectibles",
                        "quantity": 1,
                        "unit_price": unit,
                    }
                    if shop:
                        stream.emit(t, "cart.item_added", item=item, **base)
                        t += rng.uniform(3, 20)
                    declined = flagged and s_i == 0 and 8 <= k < 11
                    attempt = stream.emit(
                        t,
                        "payment.attempt",
                        amount=unit,
                        currency="JPY",
                        result="declined" if declined else "approved",
                        decline_reason="do_not_honor" if declined else None,
                        merchant=merchant,
                        mcc="5945",
                        three_ds="frictionless",
                        order=order,
                        items_category="toys_collectibles",
                        **holder.card.fields(),
                        **base,
                    )
                    if declined and k == 8:
                        # "yes, that was me" on the phone, then the purchases go on
                        stream.emit(
                            t + rng.uniform(20, 90) * MINUTE,
                            "cardholder.answer",
                            target=attempt,
                            answer="yes",
                            card=holder.card.token,
                            account=holder.account,
                        )
                    if shop and not declined:
                        stream.emit(
                            t + 2,
                            "order.placed",
                            order=order,
                            amount=unit,
                            currency="JPY",
                            merchant=SHOP,
                            items=[item],
                            shipping_address=f"addr_{holder.account[5:]}",
                            **base,
                        )
                    t += rng.uniform(20, 150)
        day += DAY


def second_account_card(
    stream: Stream, owner: Holder, partner: Holder, rng: random.Random, start, end
) -> tuple[float, float]:
    """A spouse registers the owner's card on the spouse's own long-standing account and uses
    it; returns the time it was registered and the time of the last payment."""
    t = rng.uniform(start, end - DAY)
    last = t
    device = partner.devices[0]
    base = {
        "account": partner.account,
        "email": partner.email,
        "device": device,
        "ip": partner.home_ip,
        "country": "JP",
        "language": partner.language,
        "channel": "ecommerce",
    }
    stream.emit(t, "account.login", success=True, method="password", **base)
    stream.emit(t + 60, "account.payment_method_added", **owner.card.fields(), **base)
    for k in range(rng.randint(1, 3)):
        tk = t + 120 + k * rng.uniform(1, 5) * DAY
        if tk >= end:
            break
        amount = price(rng, 4000, 0.6)
        order = hexid(rng, "ord_")
        last = tk
        stream.emit(
            tk,
            "payment.attempt",
            amount=amount,
            currency="JPY",
            result="approved",
            merchant=SHOP,
            mcc="5719",
            three_ds="frictionless",
            order=order,
            items_category="household",
            **owner.card.fields(),
            **base,
        )
        stream.emit(
            tk + 2,
            "order.placed",
            order=order,
            amount=amount,
            currency="JPY",
            merchant=SHOP,
            items=[{"sku": f"sku_household_{amount}", "category": "household", "quantity": 1, "unit_price": amount}],
            **base,
        )
    return t, last


def lookalike_episodes(
    holders: list[Holder], seed: int, rates: dict[str, float], start: float, end: float
) -> dict[int, list[tuple[float, str]]]:
    """Which customers play which look-alike episode, and when: ``rates`` per 10,000
    cardholders per 30 days over the measured ``[start, end)``; English gift cards go to
    foreign residents, the others to any regular customer who shops often enough to have a
    history with the shop (8 payments a month or more), at their habitual hour."""
    rng = rng_for(seed, "lookalikes")
    regular = [h for h in holders if h.kind == "regular" and h.monthly >= 8] or [
        h for h in holders if h.kind == "regular"
    ]
    pools = {"english_gift_cards": [h for h in regular if h.language != "ja"] or regular}
    scale = len(holders) / 10_000 * (end - start) / (30 * DAY)
    plan: dict[int, list[tuple[float, str]]] = {}
    for name, rate in rates.items():
        if rate <= 0:
            continue
        pool = pools.get(name, regular)
        count = max(1, round(rate * scale))
        for h in rng.sample(pool, min(count, len(pool))):
            t = rng.uniform(start, max(start, end - DAY))
            day0 = t - ((t + 9 * HOUR) % DAY)  # midnight JST
            t = day0 + min(21.5, max(8.0, rng.gauss(*h.hours))) * HOUR
            plan.setdefault(h.index, []).append((t, name))
    return plan


def genuine_population(
    stream: Stream,
    holders: list[Holder],
    seed: int,
    merchants,
    cgnat,
    start,
    end,
    lookalikes: dict[str, float] | None = None,
    measure_from: float | None = None,
) -> dict[str, list[dict]]:
    """Every customer's month; returns the look-alike groups (``GROUPS``) as ground truth:
    per group, entries ``{"account" or "card", "from", "until"}`` (an event is in the group
    when every key given matches it and its time is in ``[from, until)``)."""
    plan = lookalike_episodes(
        holders, seed, LOOKALIKES if lookalikes is None else lookalikes, measure_from or start, end
    )
    groups: dict[str, list[dict]] = {name: [] for name in GROUPS if name != "gift_cards"}

    def record(group: str, start_t: float, until: float, **keys: str) -> None:
        entry = {**keys, "from": iso(int(start_t)), "until": iso(int(min(until, end)))}
        groups[group].append(entry)

    from fraudwatch.progress import progress_bar

    for h in progress_bar(holders, unit="cardholders", desc="simulating"):
        rng = rng_for(seed, "activity", h.index)
        if h.kind == "reseller":
            reseller_month(stream, h, rng, merchants, start, end)
        elif h.kind != "dormant":
            customer = Customer(stream, h, rng, merchants, cgnat)
            customer.live(start, end, plan.get(h.index, []))
            for group, t0, t1 in customer.marks:
                record(group, t0, t1, account=h.account)
                record(group, t0, t1, card=h.card.token)
    rng = rng_for(seed, "second-accounts")
    regular = [h for h in holders if h.kind == "regular"]
    for _ in range(int(len(regular) * 0.01 * (end - start) / (30 * DAY))):
        owner, partner = rng.sample(regular, 2)
        added, last = second_account_card(stream, owner, partner, rng, start, end)
        record("spouse_card", added, last + 1, account=partner.account, card=owner.card.token)
    return groups
