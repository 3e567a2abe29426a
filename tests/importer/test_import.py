"""``fraudwatch import``: a US-style CSV through a mapping, Parquet and JSON Lines, the report,
and the handbook's mapping giving the old importer's output byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from fraudwatch.cli import main
from fraudwatch.events import Tokenizer, parse_event
from fraudwatch.importer import MappingError, handbook_mapping, import_file, iter_events, load_mapping

KEY = "test-token-key-0123456789abcdef"
HERE = Path(__file__).parent
PARQUET = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "handbook" / "transactions.parquet"

US_MAPPING = """
version: 1
timezone: America/New_York
nulls: ["", "-"]
skip:
  - {column: status, in: [TEST, VOID]}
events:
  - kind: payment.attempt
    fields:
      id: txn_id
      time: {column: date, format: "%m/%d/%Y %I:%M %p"}
      pan: card_number
      account: customer
      merchant: merchant
      amount: {column: amount, units: major}
      currency: {value: USD}
      result: {column: code, map: {APP: approved, NSF: declined, CVV: declined, FRD: declined}}
      decline_reason:
        column: code
        map: {APP: null, NSF: insufficient_funds, CVV: incorrect_cvc, FRD: suspected_fraud}
      channel: {column: channel, map: {WEB: ecommerce, STORE: pos}}
  - kind: label
    when: {column: chargeback, is: true}
    fields:
      id: {template: "cb-{txn_id}"}
      time: {column: date, format: "%m/%d/%Y %I:%M %p", shift: 30d}
      target: txn_id
      fraud: {value: true}
      source: {value: chargeback}
"""

US_CSV = """\
txn_id,date,card_number,customer,merchant,amount,code,channel,chargeback,status
t1,03/07/2026 11:05 PM,4111 1111 1111 1111,c1,m-shoes,"$1,234.56",APP,WEB,N,OK
t2,03/08/2026 02:30 PM,4111-1111-1111-1111,c1,m-shoes,$17.60,NSF,WEB,N,OK
t3,03/08/2026 03:00 PM,4111111111111111,c1,m-gifts,$17.60,CVV,WEB,Y,OK
t4,03/09/2026 09:15 AM,5555555555554444,c2,m-coffee,4.50,APP,STORE,N,OK
t5,03/09/2026 09:16 AM,5555555555554444,c2,m-coffee,0.99,APP,STORE,N,TEST
t6,2026-03-09 10:00,5555555555554444,c2,m-coffee,4.50,APP,STORE,N,OK
t7,03/10/2026 10:00 AM,5555555555554444,c2,m-coffee,4.505,APP,STORE,N,OK
t8,03/10/2026 11:00 AM,5555555555554444,c2,m-coffee,3.00,XYZ,STORE,N,OK
t9,03/11/2026 12:00 PM,5555555555554444,c2,,12.00,FRD,-,yes,OK
"""


@pytest.fixture
def us_files(tmp_path):
    (tmp_path / "mapping.yaml").write_text(US_MAPPING)
    (tmp_path / "history.csv").write_text(US_CSV)
    return tmp_path


def test_us_style_csv_through_a_mapping(us_files):
    tokenizer = Tokenizer(KEY.encode())
    mapping = load_mapping(us_files / "mapping.yaml")
    report = import_file(
        us_files / "history.csv",
        mapping,
        us_files / "events.jsonl",
        tokenizer=tokenizer,
        rejects=us_files / "rejects.jsonl",
        quiet=True,
    )
    events = [orjson.loads(line) for line in (us_files / "events.jsonl").read_bytes().splitlines()]
    for e in events:
        parse_event(e)  # every written event is valid
    by_id = {e["id"]: e for e in events}
    t1 = by_id["t1"]
    # US dates and times, in New York's zone (EST before the 2026-03-08 switch, EDT after)
    assert t1["time"] == "2026-03-07T23:05:00-05:00" and by_id["t2"]["time"] == "2026-03-08T14:30:00-04:00"
    assert (t1["amount"], t1["currency"], by_id["t2"]["amount"], by_id["t4"]["amount"]) == (123456, "USD", 1760, 450)
    assert t1["result"] == "approved" and "decline_reason" not in t1 and t1["channel"] == "ecommerce"
    assert (by_id["t2"]["result"], by_id["t2"]["decline_reason"]) == ("declined", "insufficient_funds")
    assert by_id["t3"]["decline_reason"] == "incorrect_cvc" and by_id["t9"]["decline_reason"] == "suspected_fraud"
    # the card number, however written, is one token; never in the output
    token = tokenizer.token("4111111111111111")
    assert {by_id[i]["card"] for i in ("t1", "t2", "t3")} == {token}
    assert t1["card_last4"] == "1111" and t1["card_bin"] == "411111"
    assert "4111" not in (us_files / "events.jsonl").read_text().replace("411111", "")
    # chargeback flags (Y, yes) become labels 30 days later, in time order with the rest
    labels = [e for e in events if e["kind"] == "label"]
    assert [(lb["id"], lb["target"], lb["time"]) for lb in labels] == [
        ("cb-t3", "t3", "2026-04-07T15:00:00-04:00"),
        ("cb-t9", "t9", "2026-04-10T12:00:00-04:00"),
    ]
    assert [e["id"] for e in events] == ["t1", "t2", "t3", "t4", "t9", "cb-t3", "cb-t9"]

    d = report.to_dict()
    assert (d["rows_read"], d["rows_skipped"], d["rows_rejected"]) == (9, 1, 3)
    assert d["events_written"] == {"payment.attempt": 5, "label": 2}
    assert [(e["row"], e["column"], e["field"]) for e in d["rejected_examples"]] == [
        (6, "date", "time"),
        (7, "amount", "amount"),
        (8, "code", "result"),
    ]
    reasons = [e["reason"] for e in d["rejected_examples"]]
    assert reasons[0] == "'2026-03-09 10:00' does not match the time format '%m/%d/%Y %I:%M %p'"
    assert reasons[1] == "4.505 has more decimals than USD's 2"
    assert reasons[2].startswith("unknown value 'XYZ'")
    assert d["null_rates"]["payment.attempt"] == {"decline_reason": 0.4, "merchant": 0.2, "channel": 0.2}
    assert d["time_range"] == {"first": "2026-03-08T04:05:00Z", "last": "2026-04-10T16:00:00Z"}
    rejected = [json.loads(line) for line in (us_files / "rejects.jsonl").read_text().splitlines()]
    assert [r["row"] for r in rejected] == [6, 7, 8]
    assert "5555555555554444" not in (us_files / "rejects.jsonl").read_text()


def test_the_command_prints_and_writes_the_report(us_files, monkeypatch):
    monkeypatch.setenv("FRAUDWATCH_SECURITY__TOKEN_KEY", KEY)
    out = us_files / "events.jsonl"
    result = CliRunner().invoke(
        main,
        [
            "import",
            str(us_files / "history.csv"),
            "--mapping",
            str(us_files / "mapping.yaml"),
            "--out",
            str(out),
            "--report",
            str(us_files / "report.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "9 rows read: 7 events written (payment.attempt 5, label 2), 3 rows rejected, 1 skipped" in result.output
    assert "row 7: amount -> amount: 4.505 has more decimals than USD's 2" in result.output
    assert json.loads((us_files / "report.json").read_text())["rows_rejected"] == 3


def test_parquet_and_json_lines_give_the_same_events(us_files):
    pa = pytest.importorskip("pyarrow")
    import csv

    import pyarrow.parquet as pq

    rows = list(csv.DictReader((us_files / "history.csv").open()))
    pq.write_table(pa.Table.from_pylist(rows), us_files / "history.parquet")
    (us_files / "history.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    mapping = load_mapping(us_files / "mapping.yaml")
    tokenizer = Tokenizer(KEY.encode())
    outputs = [
        list(iter_events(us_files / f"history.{ext}", mapping, tokenizer=tokenizer))
        for ext in ("csv", "parquet", "jsonl")
    ]
    assert outputs[0] == outputs[1] == outputs[2] and len(outputs[0]) == 7


def test_mapping_mistakes_name_their_place(tmp_path):
    bad = US_MAPPING.replace("merchant: merchant", "merchnt: merchant").replace("kind: label", "kind: labl")
    (tmp_path / "m.yaml").write_text(bad)
    with pytest.raises(MappingError) as raised:
        load_mapping(tmp_path / "m.yaml")
    text = str(raised.value)
    assert "events.0: payment.attempt has no field merchnt" in text and "events.1: unknown kind 'labl'" in text
    (tmp_path / "m.yaml").write_text(US_MAPPING)
    (tmp_path / "h.csv").write_text("txn_id,date\nt1,03/07/2026 11:05 PM\n")
    with pytest.raises(
        MappingError,
        match="h.csv has no column amount, card_number, channel, chargeback, code, customer, merchant, status",
    ):
        list(iter_events(tmp_path / "h.csv", load_mapping(tmp_path / "m.yaml"), tokenizer=Tokenizer(KEY.encode())))


@pytest.mark.skipif(not PARQUET.exists(), reason="shared data set not beside the checkout")
def test_the_handbook_mapping_gives_the_old_importers_output():
    from .handbook_reference import iter_handbook_events

    # one day of label delay, so that labels interleave with payments within the first rows
    old = [orjson.dumps(e) for e in iter_handbook_events(PARQUET, label_delay_days=1, limit=25_000)]
    new = [orjson.dumps(e) for e in iter_events(PARQUET, handbook_mapping(1), limit=25_000)]
    assert len(new) > 25_000 and new == old


def test_card_number_columns_are_checked_and_never_shown(tmp_path):
    (tmp_path / "m.yaml").write_text(
        "version: 1\nevents:\n  - kind: payment.attempt\n    fields:\n      id: id\n      time: time\n"
        "      pan: card\n      amount: {column: amount, units: major}\n      currency: {value: USD}\n"
    )
    (tmp_path / "h.csv").write_text(
        "id,time,card,amount\n"
        "p1,2026-03-01T10:00:00Z,5038 5634 2160,1.00\n"  # 12 digits (Maestro): a card number
        "p2,2026-03-01T10:01:00Z,4111111111111112,1.00\n"  # fails the Luhn check
        "p3,2026-03-01T10:02:00Z,41111111111,1.00\n"  # 11 digits
        "p4,2026-03-01T10:03:00Z,4111-1111-1111-111x,1.00\n"
        "p5,2026-03-01T10:04:00Z,503856342160,1.005\n"  # a good card number on a row rejected for its amount
    )
    tokenizer = Tokenizer(KEY.encode())
    report = import_file(
        tmp_path / "h.csv",
        load_mapping(tmp_path / "m.yaml"),
        tmp_path / "out.jsonl",
        tokenizer=tokenizer,
        rejects=tmp_path / "rejects.jsonl",
        quiet=True,
    )
    (event,) = [orjson.loads(line) for line in (tmp_path / "out.jsonl").read_bytes().splitlines()]
    assert (event["card"], event["card_last4"], event["card_bin"]) == (
        tokenizer.token("503856342160"),
        "2160",
        "503856",
    )
    assert [(e["row"], e["column"], e["reason"]) for e in report.examples] == [
        (2, "card", "not a card number (fails the Luhn check)"),
        (3, "card", "not a card number (11 digits, not 12 to 19)"),
        (4, "card", "not a card number (not digits)"),
        (5, "amount", "1.005 has more decimals than USD's 2"),
    ]
    rejects = (tmp_path / "rejects.jsonl").read_text()
    # the card column is masked whole in rejected rows: a 12-digit number too, and a mistyped one
    assert "50385634216" not in rejects and "411111111111" not in rejects
    assert [json.loads(line)["raw"]["card"] for line in rejects.splitlines()] == ["[PAN REDACTED]"] * 4
