"""``email_domain(s)``."""

from typing import Any

from fraudwatch.rules.functions.registry import Function, Param, register
from fraudwatch.rules.values import STRING


@register
class EmailDomain(Function):
    """The domain of an e-mail address, in lower case: the text after its last ``@``
    (missing when there is none, or nothing follows it). Radar's ``:email_domain:``.

    ``email_domain(event.email) in @risky_email_domains``,
    ``email_domain(event.email) == 'gmail.com'``
    """

    name = "email_domain"
    params = (Param("address", STRING),)
    returns = STRING

    def execute(self, address: Any) -> Any:
        _, at, domain = address.rpartition("@")
        domain = domain.strip().rstrip(".").lower()
        return domain if at and domain else None
