"""The second public benchmark's data path: the Sparkov generator's files joined in time order
(benchmarks/sparkov/prepare.py) and imported through benchmarks/sparkov/mapping.yaml, on a
few hand-written rows in the generator's own layout."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from fraudwatch.events import Tokenizer, parse_event
from fraudwatch.importer import import_file, load_mapping
from fraudwatch.models.dataset import load_feature_set

ROOT = Path(__file__).resolve().parents[2]
SPARKOV = ROOT / "benchmarks" / "sparkov"
KEY = "test-token-key-0123456789abcdef"
HEADER = (
    "ssn|cc_num|first|last|gender|street|city|state|zip|lat|long|city_pop|job|dob|acct_num|profile|"
    "trans_num|trans_date|trans_time|unix_time|category|amt|is_fraud|merchant|merch_lat|merch_long"
)
PEOPLE = {
    "4111111111111111": "111-22-3333|4111111111111111|Ann|Lee|F|1 Main St|Dublin|OH|43016|40.09|-83.15|68932|"
    "Nurse|1980-12-19|100000000001|adults_2550_female_urban.json",
    "503856342160": "222-33-4444|503856342160|Bob|Ray|M|2 Elm St|Bryan|TX|77802|30.65|-96.33|89322|"
    "Surveyor|1952-05-17|100000000002|adults_50up_male_urban.json",
}


def _row(card: str, number: str, when: str, category: str, amount: str, fraud: int, merchant: str) -> str:
    date, clock = when.split(" ")
    unix = int(datetime.fromisoformat(when).replace(tzinfo=UTC).timestamp())
    return f"{PEOPLE[card]}|{number}|{date}|{clock}|{unix}|{category}|{amount}|{fraud}|{merchant}|40.0|-83.0"


@pytest.fixture
def generated(tmp_path):
    """Two profile files, each ordered by customer rather than by time, as the generator writes them."""
    out = tmp_path / "generated"
    out.mkdir()
    (out / "customers.csv").write_text("ssn|cc_num|first\n111-22-3333|4111111111111111|Ann\n")
    ann = "4111111111111111"
    bob = "503856342160"
    (out / "adults_2550_female_urban_0-199.csv").write_text(
        "\n".join(
            [
                HEADER,
                _row(ann, "a3", "2019-03-05 22:10:00", "shopping_net", "1,012.35", 1, "fraud_Kub, Mann and Co"),
                _row(ann, "a1", "2019-03-01 09:00:00", "grocery_pos", "54.10", 0, "fraud_Rau-Grant"),
                _row(ann, "a2", "2019-03-03 18:30:00", "gas_transport", "40.00", 0, "fraud_Koss and Sons"),
            ]
        )
        + "\n"
    )
    (out / "adults_50up_male_urban_0-199.csv").write_text(
        HEADER
        + "\n"
        + _row(bob, "b1", "2019-03-02 12:00:00", "food_dining", "12.5", 0, "fraud_Parisian and Sons")
        + "\n"
    )
    (out / "adults_50up_female_rural_0-199.csv").write_text(HEADER + "\n")  # a chunk without customers
    return out


def test_generated_files_become_time_ordered_events(generated, tmp_path):
    csv_path = tmp_path / "sparkov.csv"
    done = subprocess.run(
        [sys.executable, str(SPARKOV / "prepare.py"), str(generated), "--out", str(csv_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "4 transactions" in done.stderr
    assert (
        csv_path.read_text().splitlines()[0].startswith('"trans_date_trans_time","cc_num","merchant","category","amt"')
    )

    tokenizer = Tokenizer(KEY.encode())
    report = import_file(
        csv_path, load_mapping(SPARKOV / "mapping.yaml"), tmp_path / "events.jsonl", tokenizer=tokenizer, quiet=True
    )
    assert (report.rows_read, report.rows_rejected, dict(report.events_written)) == (
        4,
        0,
        {"payment.attempt": 4, "label": 1},
    )
    text = (tmp_path / "events.jsonl").read_text()
    events = [orjson.loads(line) for line in text.splitlines()]
    for e in events:
        parse_event(e)
    assert [e["id"] for e in events] == ["a1", "b1", "a2", "a3", "lb-a3"]
    a3, label = events[3], events[4]
    assert (a3["time"], a3["amount"], a3["currency"], a3["mcc"], a3["channel"]) == (
        "2019-03-05T22:10:00Z",
        101235,
        "USD",
        "5311",
        "ecommerce",
    )
    assert a3["scenario"] == "sparkov:fraud" and "scenario" not in events[0]
    assert (events[0]["mcc"], events[0]["channel"], events[1]["amount"]) == ("5411", "pos", 1250)
    # the fraud becomes known 7 days later (the handbook protocol's label delay)
    assert (label["target"], label["time"], label["fraud"]) == ("a3", "2019-03-12T22:10:00Z", True)
    # card numbers (Bob's has 12 digits) only as tokens
    assert events[1]["card"] == tokenizer.token("503856342160") and events[1]["card_last4"] == "2160"
    assert "4111111111" not in text and "503856342160" not in text


def test_the_benchmark_feature_sets_load():
    assert len(load_feature_set(SPARKOV / "handbook_features.yaml").names) == 15
    assert len(load_feature_set(SPARKOV / "features.yaml").names) == 39


def test_prepare_refuses_a_folder_without_transactions(tmp_path):
    (tmp_path / "customers.csv").write_text("ssn|cc_num\n")
    done = subprocess.run(
        [sys.executable, str(SPARKOV / "prepare.py"), str(tmp_path), "--out", str(tmp_path / "x.csv")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0 and "no transaction files" in done.stderr
