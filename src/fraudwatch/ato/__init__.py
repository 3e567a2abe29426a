"""fraudwatch.ato: account takeover defence (docs/ato.md).

Offline IP context (:func:`ip_info`, :class:`IpData`), user agents (:func:`parse_user_agent`),
the login risk score (:class:`LoginHistory`) and the breached-password corpus
(:class:`PasswordCorpus`). The engine reads the IP and user-agent context through event fields
(``event.ip_country``, ``event.ua_device``, ...) and this domain's stateful feature kinds by
name (``fraudwatch.features.stateful``), so the core imports nothing from here.
"""

from fraudwatch.ato.ipdata import (
    IpData,
    IpDataError,
    IpInfo,
    current,
    import_file,
    ip_info,
    is_hosting,
    use,
    use_cache_dir,
    use_hosting_list,
)
from fraudwatch.ato.passwords import CorpusError, PasswordCorpus, check_prefix, import_corpus
from fraudwatch.ato.risk import LoginHistory
from fraudwatch.ato.useragent import UserAgent, parse_user_agent

__all__ = [
    "CorpusError",
    "IpData",
    "IpDataError",
    "IpInfo",
    "LoginHistory",
    "PasswordCorpus",
    "UserAgent",
    "check_prefix",
    "current",
    "import_corpus",
    "import_file",
    "ip_info",
    "is_hosting",
    "parse_user_agent",
    "use",
    "use_cache_dir",
    "use_hosting_list",
]
