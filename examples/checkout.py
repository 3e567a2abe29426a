"""A checkout asking fraudwatch before it charges a card (docs/client.md).

python examples/checkout.py http://127.0.0.1:8000 "$FRAUDWATCH_INGEST_KEY"
"""

from __future__ import annotations

import sys

from fraudwatch.client import Client, events


def charge(fw: Client, order: str, account: str, card_token: str, amount: int, currency: str) -> str:
    """What the checkout does with the payment: ``charge``, ``3ds`` or ``decline``."""
    attempt = events.payment_attempt(
        order=order, account=account, card=card_token, amount=amount, currency=currency, channel="ecommerce"
    )
    decision = fw.decide(attempt)  # within the client's deadline, or the fallback decision
    if decision.review:
        print(f"{attempt.id}: queued for review ({decision.fallback or 'review outcome'})")
    if decision.outcome == "block":
        return "decline"
    if decision.outcome == "challenge":
        return "3ds"  # an EMV 3-D Secure challenge request
    return "charge"


if __name__ == "__main__":
    url, key = sys.argv[1], sys.argv[2]
    with Client(url, key) as fw:
        for n in range(3):
            print(charge(fw, f"order-{n}", "u42", "tok_9f2c", 1000, "JPY"))
