"""``ip_in_cidr(ip, range, ...)``."""

from __future__ import annotations

import ipaddress
from typing import Any

from fraudwatch.rules.functions.registry import NOT_CONSTANT, Function, Param, register
from fraudwatch.rules.values import BOOL, STRING

MAX_RANGES = 1000


@register
class IpInCidr(Function):
    """Whether an IP address lies in one of the given CIDR ranges (literals, IPv4 or IPv6,
    checked when the rule is compiled; at most 1,000). Missing when the address is not an
    address.

    ``allow if ip_in_cidr(event.ip, '203.0.113.0/24', '2001:db8::/32')``
    """

    name = "ip_in_cidr"
    params = (Param("ip", STRING), Param("range", STRING, const=True))
    returns = BOOL
    variadic = True

    def bind(self, consts: tuple[Any, ...]) -> Any:
        ranges = consts[1:]
        if any(r is NOT_CONSTANT for r in ranges):
            raise ValueError("the ranges of ip_in_cidr() must be literals")
        if len(ranges) > MAX_RANGES:
            raise ValueError(f"ip_in_cidr() takes at most {MAX_RANGES} ranges")
        networks = []
        for text in ranges:
            try:
                networks.append(ipaddress.ip_network(text, strict=False))
            except ValueError:
                raise ValueError(f"{text!r} is not a CIDR range such as '203.0.113.0/24'") from None
        v4 = tuple(n for n in networks if n.version == 4)
        v6 = tuple(n for n in networks if n.version == 6)

        def inside(ip: str, *_: Any) -> bool | None:
            try:
                address = ipaddress.ip_address(ip)
            except ValueError:
                return None
            return any(address in n for n in (v4 if address.version == 4 else v6))

        return inside

    def execute(self, *args: Any) -> Any:  # pragma: no cover - bind gives the callable
        return self.bind(tuple(args))(*args)
