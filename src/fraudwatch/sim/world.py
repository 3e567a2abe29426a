"""The simulated world: merchants, cardholders and their habits, and the event stream.

Everything random takes its own ``random.Random`` seeded from the run's seed and a name
(``f"{seed}/holder/{i}"``), so a run repeats byte for byte and one part of the world does
not shift when another changes. Entity ids are random hex, so nothing in an id tells a
genuine customer from an attacker.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from fraudwatch.sim.network import user_agent_of

JST = timezone(timedelta(hours=9))
DAY = 86400
HOUR = 3600
MINUTE = 60

SHOP = "m_shop"  # the marketplace whose accounts, carts and orders we see


def rng_for(seed: int, *names: object) -> random.Random:
    """An independent generator for one part of the world (string seeds hash with SHA-512)."""
    return random.Random("/".join([str(seed), *map(str, names)]))


def hexid(rng: random.Random, prefix: str, bits: int = 48) -> str:
    return f"{prefix}{rng.getrandbits(bits):0{bits // 4}x}"


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


# ---------------------------------------------------------------- catalogue
@dataclass(frozen=True, slots=True)
class Category:
    name: str
    mcc: str
    channel: str  # pos, ecommerce, app
    median: int  # yen
    sigma: float
    item: str  # item category in carts and orders


CATEGORIES: tuple[Category, ...] = (
    Category("grocery", "5411", "pos", 3200, 0.6, "grocery"),
    Category("convenience", "5499", "pos", 750, 0.6, "food"),
    Category("restaurant", "5812", "pos", 2600, 0.7, "food"),
    Category("drugstore", "5912", "pos", 1900, 0.6, "health"),
    Category("apparel", "5651", "ecommerce", 6500, 0.7, "apparel"),
    Category("electronics", "5732", "ecommerce", 14000, 1.0, "electronics"),
    Category("books", "5942", "ecommerce", 1700, 0.5, "books"),
    Category("household", "5719", "ecommerce", 3800, 0.8, "household"),
    Category("travel", "4722", "ecommerce", 28000, 0.7, "travel"),
    Category("digital_content", "5818", "app", 1100, 0.8, "digital_content"),
)
CATEGORY = {c.name: c for c in CATEGORIES}
POS_CATEGORIES = [c for c in CATEGORIES if c.channel == "pos"]
ONLINE_CATEGORIES = [c for c in CATEGORIES if c.channel != "pos"]
GIFT_MCC = "5815"  # digital goods: media, incl. gift codes
GIFT_AMOUNTS = (1000, 1000, 1000, 1500, 2000, 2000, 3000, 3000, 5000)
FOREIGN = ("US", "CN", "VN", "NL", "RU", "BR", "NG", "ID", "PH", "GB")
TRAVEL = ("US", "KR", "TW", "TH", "SG", "FR", "GB", "AU")
JP_IP_FIRST = "jp_home"  # address pools of fraudwatch.sim.network
DC_IP_FIRST = "hosting"
BINS = ("411111", "453210", "520082", "535120", "356600", "357311", "356999", "400012")
PREPAID_BINS = ("536540", "419500", "533877")


def ip_address(rng: random.Random, pool: str = JP_IP_FIRST) -> str:
    """An address from a pool of real ranges (``fraudwatch.sim.network``)."""
    from fraudwatch.sim.network import ip_address as draw

    return draw(rng, pool)


@dataclass(slots=True)
class Merchant:
    id: str
    category: Category
    country: str = "JP"


def build_merchants(seed: int, per_category: int = 30) -> dict[str, list[Merchant]]:
    rng = rng_for(seed, "merchants")
    out: dict[str, list[Merchant]] = {}
    for cat in CATEGORIES:
        out[cat.name] = [Merchant(hexid(rng, "m_", 32), cat) for _ in range(per_category)]
    out["foreign"] = [
        Merchant(hexid(rng, "m_", 32), rng.choice(POS_CATEGORIES), country) for country in TRAVEL for _ in range(8)
    ]
    out["gift"] = [Merchant(hexid(rng, "m_", 32), CATEGORY["digital_content"]) for _ in range(12)]
    return out


# ---------------------------------------------------------------- cardholders
@dataclass(slots=True)
class Card:
    token: str
    bin: str
    last4: str
    type: str  # credit, debit, prepaid
    country: str = "JP"

    def fields(self) -> dict:
        return {
            "card": self.token,
            "card_bin": self.bin,
            "card_last4": self.last4,
            "card_type": self.type,
            "card_country": self.country,
        }


@dataclass(slots=True)
class Holder:
    """One customer (or household) with an account at the shop and a card."""

    index: int
    kind: str  # regular, dormant, reseller, family
    account: str
    email: str
    card: Card
    devices: list[str]
    home_ip: str
    mobile_ips: list[str]
    country: str
    language: str
    monthly: float  # payments a month
    scale: float  # personal amount multiplier
    hours: tuple[float, float]  # centre and spread of the hour of day
    pos_merchants: list[Merchant] = field(default_factory=list)
    online_merchants: list[Merchant] = field(default_factory=list)
    pos_share: float = 0.4
    shop_share: float = 0.5
    wallet: bool = False  # pays at tills with a mobile card on its phone
    gift_buyer: bool = False


def make_card(rng: random.Random, kind: str | None = None) -> Card:
    kind = kind or rng.choices(("credit", "debit", "prepaid"), (0.82, 0.12, 0.06))[0]
    bin_ = rng.choice(PREPAID_BINS if kind == "prepaid" else BINS)
    return Card(hexid(rng, "tok_", 64), bin_, f"{rng.randrange(10000):04d}", kind)


def make_holder(seed: int, index: int, kind: str, merchants, cgnat: list[str]) -> Holder:
    rng = rng_for(seed, "holder", index)
    foreign_resident = rng.random() < 0.04
    language = rng.choice(("en", "en", "zh", "ko", "vi")) if foreign_resident else "ja"
    n_devices = {"family": 4, "reseller": 2}.get(kind, rng.choice((1, 1, 2, 2, 3)))
    card = make_card(rng, "prepaid" if kind == "dormant" else ("credit" if kind in ("reseller", "family") else None))
    holder = Holder(
        index=index,
        kind=kind,
        account=hexid(rng, "acct_"),
        email=hexid(rng, "em_", 64),
        card=card,
        devices=[hexid(rng, "dv_", 64) for _ in range(n_devices)],
        home_ip=ip_address(rng),
        mobile_ips=[rng.choice(cgnat) for _ in range(2)],
        country="JP",
        language=language,
        monthly=min(60.0, rng.lognormvariate(math.log(6), 0.7)),
        scale=rng.lognormvariate(0, 0.35),
        hours=(rng.uniform(9, 22), rng.uniform(1.5, 3.5)),
        pos_share=rng.uniform(0.2, 0.7),
        shop_share=rng.uniform(0.3, 0.8),
        wallet=rng.random() < 0.3,
        gift_buyer=rng.random() < 0.06,
    )
    pos = rng.sample(POS_CATEGORIES, rng.randint(2, 4))
    online = rng.sample(ONLINE_CATEGORIES, rng.randint(2, 4))
    holder.pos_merchants = [rng.choice(merchants[c.name]) for c in pos for _ in range(rng.randint(1, 3))]
    holder.online_merchants = [rng.choice(merchants[c.name]) for c in online for _ in range(rng.randint(1, 2))]
    if kind == "reseller":
        holder.monthly, holder.pos_share, holder.shop_share, holder.wallet = 500.0, 0.0, 0.7, False
        holder.hours = (11.0, 4.0)
    elif kind == "family":
        holder.monthly, holder.pos_share, holder.shop_share, holder.gift_buyer = 60.0, 0.3, 0.8, True
        holder.mobile_ips = [rng.choice(cgnat) for _ in range(4)]
    elif kind == "dormant":
        holder.monthly, holder.wallet = 0.0, False
    return holder


# ---------------------------------------------------------------- the stream
class Stream:
    """Collects events as dicts; :meth:`sorted_rows` puts them in event-time order.

    Ids are given at write time in time order, so an id never hints at how an event was
    generated; a ``label`` or ``chargeback`` refers to its target by the target's dict.
    """

    def __init__(self) -> None:
        self.rows: list[tuple[int, int, dict]] = []
        self._seq = 0
        self._time: dict[int, int] = {}  # id(event) -> its time, for outcomes that must come later

    def emit(self, ts: float, kind: str, **fields) -> dict:
        self._seq += 1
        event = {"kind": kind, **{k: v for k, v in fields.items() if v is not None}}
        if "device" in event and "user_agent" not in event and event.get("channel") in ("ecommerce", "app"):
            event["user_agent"] = user_agent_of(event["device"])  # a device keeps its browser
        self.rows.append((int(ts), self._seq, event))
        self._time[id(event)] = int(ts)
        return event

    def time_of(self, event: dict) -> int:
        return self._time[id(event)]

    def sorted_rows(self) -> list[tuple[int, int, dict]]:
        self.rows.sort(key=lambda r: (r[0], r[1]))
        return self.rows


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, JST).isoformat()
