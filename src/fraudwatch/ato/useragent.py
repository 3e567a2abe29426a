"""User agents parsed into browser, OS and device type, cached.

Parsing uses ``ua-parser`` (the maintained Python port of uap-core's regexes; the native
``ua-parser-rs`` resolver when installed). A first parse compiles the regexes (about half a
second, once per process); an unseen string then costs about 50 µs and a seen one a dict
lookup, so the hot path keeps its own bounded cache keyed by the string. Events carry at most
:data:`MAX_LENGTH` characters (the event model rejects longer strings with a clear error).

The device type is derived from the parsed OS and device the way ``user-agents`` does it:
``mobile``, ``tablet``, ``desktop``, ``bot`` or ``other``.

>>> ua = parse_user_agent("Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 "
...                       "(KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1")
>>> ua.browser, ua.browser_major, ua.os, ua.os_major, ua.device
('Mobile Safari', 17, 'iOS', 17, 'mobile')
>>> ua.browser_version, ua.os_version
('Mobile Safari 17', 'iOS 17')
>>> parse_user_agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
...                  "Chrome/120.0.0.0 Safari/537.36").device
'desktop'
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

__all__ = ["MAX_LENGTH", "UserAgent", "parse_user_agent", "DEVICE_TYPES"]

MAX_LENGTH = 1024  # characters; real user agents stay well under 512
CACHE_SIZE = 50_000  # distinct strings remembered (first in, first out)
DEVICE_TYPES = ("desktop", "mobile", "tablet", "bot", "other")

_DESKTOP_OS = frozenset(
    {"Windows", "Mac OS X", "Linux", "Ubuntu", "Chrome OS", "Fedora", "Debian", "FreeBSD", "OpenBSD", "NetBSD"}
)
_MOBILE_OS = frozenset(
    {"iOS", "Android", "Windows Phone", "BlackBerry OS", "Symbian OS", "KaiOS", "Firefox OS", "HarmonyOS", "Tizen"}
)
_TABLET_DEVICES = ("iPad", "Kindle", "Tablet", "Nexus 7", "Nexus 9", "Nexus 10", "Galaxy Tab", "SM-T", "Xoom")


@dataclass(frozen=True, slots=True)
class UserAgent:
    """A parsed user agent; None where the parser could not tell."""

    browser: str | None
    browser_major: int | None
    os: str | None
    os_major: int | None
    device: str
    browser_version: str | None = None  # "Chrome 120": family and major version (an RBA level)
    os_version: str | None = None  # "Windows 10"

    def __post_init__(self) -> None:
        object.__setattr__(self, "browser_version", _join(self.browser, self.browser_major))
        object.__setattr__(self, "os_version", _join(self.os, self.os_major))


def _join(family: str | None, major: int | None) -> str | None:
    if family is None:
        return None
    return family if major is None else f"{family} {major}"


_cache: dict[str, UserAgent] = {}
_lock = threading.Lock()
_parse: Any = None


def _parser() -> Any:
    global _parse
    with _lock:
        if _parse is None:
            import ua_parser

            _parse = ua_parser.parse
    return _parse


def parse_user_agent(text: str) -> UserAgent:
    """The parsed user agent of ``text`` (cached; ``text`` beyond :data:`MAX_LENGTH` is cut)."""
    ua = _cache.get(text)
    if ua is not None:
        return ua
    ua = _classify(_parser()(text[:MAX_LENGTH]), text)
    if len(_cache) >= CACHE_SIZE:
        try:
            del _cache[next(iter(_cache))]
        except (StopIteration, KeyError, RuntimeError):  # another thread got there first
            pass
    _cache[text] = ua
    return ua


def _major(value: str | None) -> int | None:
    if value is None or not value.isdigit() or len(value) > 6:
        return None
    return int(value)


def _family(value: str | None) -> str | None:
    return None if value in (None, "", "Other") else value


def _classify(result: Any, text: str) -> UserAgent:
    agent, os, device = result.user_agent, result.os, result.device
    browser = _family(agent.family) if agent else None
    os_family = _family(os.family) if os else None
    device_family = (device.family or "") if device else ""
    return UserAgent(
        browser=browser,
        browser_major=_major(agent.major) if agent and browser else None,
        os=os_family,
        os_major=_major(os.major) if os and os_family else None,
        device=_device_type(browser, os_family, device_family, text),
    )


def _device_type(browser: str | None, os: str | None, device: str, text: str) -> str:
    if device == "Spider" or (browser or "").endswith(("bot", "Bot", "Spider", "Crawler")):
        return "bot"
    if any(mark in device for mark in _TABLET_DEVICES) or (os == "Android" and "Mobile" not in text):
        return "tablet" if os in _MOBILE_OS or device else "other"
    if os in _MOBILE_OS:
        return "mobile"
    if os in _DESKTOP_OS:
        return "desktop"
    return "other"
