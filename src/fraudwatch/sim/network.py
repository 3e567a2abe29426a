"""Where simulated customers and attackers connect from, and with which browser.

IP addresses are drawn from real ranges of the bundled IP data (``fraudwatch.ato.ipdata``),
so an address's country and network are what the engine's IP context says: Japanese
consumer broadband at home, the three mobile carriers' NAT pools on the go, hotel
networks abroad, cloud and hosting networks for most attackers. User agents come from a
catalogue of common browsers; a device keeps its user agent for life.

>>> import random
>>> from fraudwatch.ato import ip_info
>>> ip = ip_address(random.Random(1), "jp_home")
>>> ip_info(ip).country
'JP'
>>> user_agent_of("dv_123") == user_agent_of("dv_123")
True
"""

from __future__ import annotations

import hashlib
import ipaddress
import random
import threading
from functools import cache

__all__ = ["HOSTING_ORGS", "JP_HOME_ORGS", "JP_MOBILE_ORGS", "USER_AGENTS", "ip_address", "user_agent_of"]

JP_HOME_ORGS = (
    "SoftBank Corp.",
    "NTT Communications Corporation",
    "KDDI CORPORATION",
    "JCOM Co., Ltd.",
    "Sony Network Communications Inc.",
    "BIGLOBE Inc.",
    "OPTAGE Inc.",
    "ARTERIA Networks Corporation",
    "Asahi Net",
)
JP_MOBILE_ORGS = ("NTT DOCOMO, INC.", "KDDI CORPORATION", "SoftBank Corp.")
# cloud and hosting networks (the bundled data names them; fraudwatch.ato ships the same
# list as the rule list @hosting_as)
HOSTING_ORGS = (
    "AMAZON-02",
    "DIGITALOCEAN-ASN",
    "OVH SAS",
    "Hetzner Online GmbH",
    "AS-CHOOPA",
    "M247 Europe SRL",
    "Akamai Connected Cloud",
    "Contabo GmbH",
    "Datacamp Limited",
    "GOOGLE-CLOUD-PLATFORM",
)

# (user agent, weight): browsers as Japanese shoppers use them
USER_AGENTS: tuple[tuple[str, float], ...] = (
    tuple(
        (ua, w)
        for v, w in ((16, 0.05), (17, 0.2), (18, 0.2))
        for ua in (
            f"Mozilla/5.0 (iPhone; CPU iPhone OS {v}_{v % 5} like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            f"Version/{v}.{v % 5} Mobile/15E148 Safari/604.1",
        )
    )
    + tuple(
        (ua, w)
        for v, w in ((118, 0.02), (120, 0.05), (122, 0.06), (124, 0.06))
        for ua in (
            f"Mozilla/5.0 (Linux; Android {v // 10 - 2}; Pixel {v % 7 + 3}) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/{v}.0.0.0 Mobile Safari/537.36",
            f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 "
            "Safari/537.36",
        )
    )
    + (
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
            "Safari/537.36 Edg/124.0.2478.51",
            0.05,
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 "
            "Safari/605.1.15",
            0.06,
        ),
        (
            "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 "
            "Mobile/15E148 Safari/604.1",
            0.03,
        ),
        ("Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", 0.01),
    )
)
_UA_TOTAL = sum(w for _, w in USER_AGENTS)


def user_agent_of(device: str) -> str:
    """The user agent a device keeps (a pick weighted by the catalogue, seeded by its id)."""
    x = int.from_bytes(hashlib.sha256(device.encode()).digest()[:8], "big") / 2**64 * _UA_TOTAL
    for ua, w in USER_AGENTS:
        x -= w
        if x < 0:
            return ua
    return USER_AGENTS[-1][0]


_lock = threading.Lock()


@cache
def _pools() -> dict[str, list[tuple[int, int]]]:
    """Address ranges per pool, from the bundled IP data (the same for every run)."""
    from fraudwatch.ato import IpData

    with _lock:
        data = IpData.bundled()
        countries, asn = data._tables["v4_country"], data._tables["v4_as"]
        jp = data.countries.index("JP")
        wanted = {org: i for i, (_, org) in enumerate(data.networks)}
        home = {wanted[o] for o in JP_HOME_ORGS if o in wanted}
        mobile = {wanted[o] for o in JP_MOBILE_ORGS if o in wanted}
        hosting = {wanted[o] for o in HOSTING_ORGS if o in wanted}
        pools: dict[str, list[tuple[int, int]]] = {"jp_home": [], "jp_mobile": [], "hosting": []}
        by_country: dict[str, list[tuple[int, int]]] = {}
        for start, end, value in zip(asn.starts, asn.ends, asn.values, strict=True):
            if end - start < 255:
                continue  # whole /24s only, so drawn addresses stay inside the network
            c = countries.find(start)
            if value in hosting:
                pools["hosting"].append((start, end))
            elif c == jp:
                if value in home:
                    pools["jp_home"].append((start, end))
                if value in mobile:
                    pools["jp_mobile"].append((start, end))
            elif c >= 0:
                by_country.setdefault(data.countries[c], []).append((start, end))
        for code, ranges in by_country.items():
            pools["home:" + code] = ranges
        return pools


def ip_address(rng: random.Random, pool: str = "jp_home") -> str:
    """An address from ``pool``: ``jp_home``, ``jp_mobile``, ``hosting`` or ``home:<country>``."""
    ranges = _pools().get(pool)
    if not ranges:
        raise ValueError(f"no addresses for pool {pool!r}")
    start, end = ranges[rng.randrange(len(ranges))]
    return str(ipaddress.IPv4Address(start + rng.randrange(1, min(end - start, 1 << 16))))
