"""Make a payment history in a customer's own export format from a fraudwatch event file:
one CSV row per card payment, local dates as MM/DD/YYYY hh:mm:ss AM/PM, amounts in major
units with thousands separators, ISO 8583 response codes, and a fraud report flag with the
date it was reported. docs/first-week.md imports it back with examples/history-mapping.yaml.

    python examples/export_history.py var/simulated.jsonl var/history.csv
"""

from __future__ import annotations

import csv
import sys
from datetime import datetime

import orjson

from fraudwatch.events.currency import exponent

# decline reasons as an acquirer's export writes them (ISO 8583 field 39)
RESPONSE_CODE = {
    None: "00",
    "do_not_honor": "05",
    "invalid_card": "14",
    "lost_card": "41",
    "stolen_card": "43",
    "insufficient_funds": "51",
    "expired_card": "54",
    "suspected_fraud": "59",
    "limit_exceeded": "61",
    "incorrect_cvc": "N7",
    "authentication_failed": "1A",
    "other": "96",
}
COLUMNS = [
    "TXN_ID",
    "TXN_DATE",
    "CARD_TOKEN",
    "CUSTOMER",
    "MERCHANT",
    "MCC",
    "AMOUNT",
    "CCY",
    "RESP_CODE",
    "CHANNEL",
    "DEVICE",
    "IP",
    "FRAUD_REPORTED",
    "REPORTED_DATE",
]


def us_date(iso: str) -> str:
    return datetime.fromisoformat(iso).strftime("%m/%d/%Y %I:%M:%S %p")


def export(events_path: str, csv_path: str) -> int:
    events = [orjson.loads(line) for line in open(events_path, "rb")]
    reported = {}  # payment id -> when its first fraud label arrived
    for e in events:
        if e["kind"] == "label" and e["fraud"]:
            reported.setdefault(e["target"], e["time"])
    rows = 0
    with open(csv_path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(COLUMNS)
        for e in events:
            if e["kind"] != "payment.attempt":
                continue
            digits = exponent(e["currency"])
            amount = f"{e['amount'] / 10**digits:,.{digits}f}"
            code = RESPONSE_CODE["other" if e.get("result") == "declined" and not e.get("decline_reason") else None]
            if e.get("result") == "declined" and e.get("decline_reason"):
                code = RESPONSE_CODE[e["decline_reason"]]
            when = reported.get(e["id"])
            out.writerow(
                [
                    e["id"],
                    us_date(e["time"]),
                    e.get("card", ""),
                    e.get("account", ""),
                    e.get("merchant", ""),
                    e.get("mcc", ""),
                    amount,
                    e["currency"],
                    code,
                    e.get("channel", ""),
                    e.get("device", ""),
                    e.get("ip", ""),
                    "Y" if when else "N",
                    us_date(when) if when else "",
                ]
            )
            rows += 1
    return rows


if __name__ == "__main__":
    print(f"{export(sys.argv[1], sys.argv[2]):,} payments written to {sys.argv[2]}")
