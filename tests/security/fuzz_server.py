"""Property-based fuzz of the ingest path through the real server (``fraudwatch serve``).

Hypothesis generates events, mostly well-formed and hostile in one or more fields: card
numbers written in any way in any field, amounts near 2^63, as strings or booleans, times
years ahead, epoch numbers, unknown kinds and keys, nested items. They go to ``POST
/v1/events`` one by one and to ``POST /v1/events/batch``; the invariants:

- never a 5xx, and every request answered within its timeout (no hang; ``/readyz`` stays 200);
- every decision has its rules evaluated: the rule set's version, ``duplicate`` false; a
  resend is answered with the same decision as the first;
- no card number in clear in any file the server wrote (SQLite values decompressed: the
  zstd log entries and snapshots), nor in its log.

``tests/security/test_fuzz.py`` runs a small version in CI; the full run is a command::

    python tests/security/fuzz_server.py --events 100000
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: api.conftest, security.conftest

from api.conftest import Server  # noqa: E402
from security.conftest import PANS, clear_pans  # noqa: E402

NOW = datetime.now(UTC)
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _written(pan: str, how: int) -> str:
    groups = [pan[i : i + 4] for i in range(0, len(pan), 4)]
    return [
        pan,
        " ".join(groups),
        "-".join(groups),
        ".".join(groups),
        pan.translate(FULL_WIDTH),
        f" {pan}\n",
        "\t" + " - ".join(groups),
        f"card {pan} x",
    ][how % 8]


card_numbers = st.builds(_written, st.sampled_from(PANS), st.integers(0, 7))
text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet="0123456789 -.", min_size=10, max_size=30),
    card_numbers,
    st.builds(lambda a, p, b: a + p + b, st.text(max_size=10), card_numbers, st.text(max_size=10)),
)
amount = st.one_of(
    st.integers(0, 10**6),
    st.integers(0, 2**64),
    st.integers(-(2**63), 0),
    st.sampled_from([2**53, 2**63 - 1, 10**11, 10**11 + 1, 10**13]),
    st.text(alphabet="0123456789", min_size=1, max_size=5),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
)


def _iso(delta_seconds: int) -> str:
    return (NOW + timedelta(seconds=delta_seconds)).isoformat()


when = st.one_of(
    st.builds(_iso, st.integers(-3600, 3600)),
    st.builds(_iso, st.integers(-(10**9), 10**9)),
    st.sampled_from(["9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+09:00", "2026-11-21T13:00:00", "not a time"]),
    st.integers(0, 2**40),
    st.booleans(),
)
KINDS = ["payment.attempt", "order.placed", "account.login", "account.profile_changed", "payment.refund", "label"]
FIELDS = ["card", "pan", "account", "device", "ip", "email", "merchant", "session", "order", "terminal", "id"]


@st.composite
def events(draw, prefix: str = "f") -> dict:
    kind = draw(st.sampled_from([*KINDS, "no.such.kind"]))
    event: dict = {
        "id": f"{prefix}-{draw(st.integers(0, 10**12))}",
        "time": _iso(draw(st.integers(-600, 600))),
        "kind": kind,
        "card": f"tok_{draw(st.integers(0, 50))}",
        "account": f"acct_{draw(st.integers(0, 50))}",
    }
    if kind in ("payment.attempt", "order.placed", "payment.refund"):
        event |= {"amount": draw(st.integers(0, 100_000)), "currency": draw(st.sampled_from(["JPY", "USD", "EUR"]))}
    if kind == "payment.attempt":
        event["result"] = draw(st.sampled_from(["approved", "declined", "pending"]))
        if event["result"] == "declined":
            event["decline_reason"] = draw(st.sampled_from(["insufficient_funds", "stolen_card", "do_not_honor"]))
    if kind == "order.placed":
        event["order"] = f"o-{draw(st.integers(0, 10**6))}"
        event["items"] = draw(
            st.lists(
                st.fixed_dictionaries(
                    {"sku": text, "category": st.sampled_from(["gift_card", "books"]), "unit_price": amount}
                ),
                max_size=3,
            )
        )
        event["shipping_address"] = draw(text)
    if kind == "payment.refund":
        event |= {"payment": f"p-{draw(st.integers(0, 99))}", "reason": draw(text)}
    if kind == "account.login":
        event["success"] = draw(st.one_of(st.booleans(), st.sampled_from(["true", 1])))
    if kind == "account.profile_changed":
        event |= {"field": "name", "old_value": draw(text), "new_value": draw(text)}
    if kind == "label":
        event |= {"target": draw(text), "fraud": draw(st.booleans())}
    # hostile touches: some fields replaced by card numbers, odd amounts and times, extra keys
    for field in draw(st.lists(st.sampled_from(FIELDS), max_size=3, unique=True)):
        event[field] = draw(text) if field != "id" else f"{prefix}-{draw(text)}"
    if draw(st.integers(0, 3)) == 0:
        event["amount"] = draw(amount)
    if draw(st.integers(0, 3)) == 0:
        event["time"] = draw(when)
    if draw(st.integers(0, 9)) == 0:
        event[draw(st.one_of(st.text(max_size=12), card_numbers))] = draw(text)
    return event


class Fuzz:
    """Sends what hypothesis draws to one server and checks every answer."""

    def __init__(self, server: Server, key: str):
        self.server = server
        self.client = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=30.0)
        self.events = self.batches = self.requests = 0
        self.statuses: dict[int, int] = {}
        self.decided: dict[str, bytes] = {}
        self.slowest = 0.0

    def _post(self, path: str, body: dict) -> httpx.Response:
        started = time.perf_counter()
        r = self.client.post(path, json=body)
        self.slowest = max(self.slowest, time.perf_counter() - started)
        self.requests += 1
        self.statuses[r.status_code] = self.statuses.get(r.status_code, 0) + 1
        assert r.status_code < 500, (path, body, r.status_code, r.text)
        return r

    def _decision(self, event: dict, decision: dict, resent: bool) -> None:
        assert decision["duplicate"] is False, decision
        assert decision["versions"].get("rules"), decision  # its rules were evaluated
        assert isinstance(decision["rules"], list) and "outcome" in decision
        first = self.decided.setdefault(decision["event_id"], orjson_dumps(decision))
        if resent:
            assert orjson_dumps(decision) == first, (event, decision)

    def one(self, event: dict) -> None:
        self.events += 1
        r = self._post("/v1/events", event)
        if r.status_code == 200:
            self._decision(event, r.json(), r.headers.get("fraudwatch-resent") == "true")

    def batch(self, items: list[dict]) -> None:
        self.batches += 1
        self.events += len(items)
        r = self._post("/v1/events/batch", {"events": items})
        assert r.status_code == 200, r.text
        results = r.json()["results"]
        assert [x["index"] for x in results] == list(range(len(items)))
        for item, result in zip(items, results, strict=True):
            assert result["status"] < 500, (item, result)
            if result["status"] == 200:
                self._decision(item, result["decision"], result.get("resent", False))

    def check_files(self) -> None:
        assert httpx.get(self.server.url + "/readyz", timeout=10).status_code == 200
        found = clear_pans(self.server.data_dir)
        assert found == [], found[:5]


def orjson_dumps(value) -> bytes:
    import orjson

    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def run(fuzz: Fuzz, examples: int, seed: int, min_batch: int = 1) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        derandomize=False,
    )
    @given(st.lists(events(), min_size=min_batch, max_size=max(200, min_batch)), st.integers(0, 4))
    def property_(items: list[dict], mode: int) -> None:
        if mode:  # mostly batches: many events a request
            fuzz.batch(items)
        else:
            for item in items[:10]:
                fuzz.one(item)
            if items:
                fuzz.one(items[0])  # a resend: the same decision, or the same refusal

    from hypothesis import seed as hseed

    hseed(seed)(property_)()


def pool(examples: int, seed: int) -> tuple[list[dict], list]:
    """Events and hostile values drawn by hypothesis, for :func:`recombine` (drawing them is
    the slow part: about 10 ms an event)."""
    drawn: list[dict] = []
    values: list = []

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(events(), min_size=1, max_size=20), st.lists(st.one_of(text, amount, when), max_size=10))
    def collect(items: list[dict], hostile: list) -> None:
        drawn.extend(items)
        values.extend(hostile)

    from hypothesis import seed as hseed

    hseed(seed)(collect)()
    return drawn, values


def recombine(rng, drawn: list[dict], values: list, n: int, serial: int) -> list[dict]:
    """``n`` events from the drawn ones: each with a new id (one in 20 keeps its drawn id: a
    resend, or the same id with another body), and one in 3 with a field set to a drawn
    hostile value."""
    out = []
    for i in range(n):
        event = dict(rng.choice(drawn))
        if rng.random() > 0.05:
            event["id"] = f"r{serial}-{i}"
        if values and rng.random() < 0.33:
            event[rng.choice(["amount", "time", *FIELDS, "shipping_address", "reason"])] = rng.choice(values)
        out.append(event)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--events", type=int, default=100_000, help="events to send in all (at least)")
    p.add_argument("--seed", type=int, default=19)
    p.add_argument("--pool", type=int, default=400, help="hypothesis examples drawn for the recombined load")
    p.add_argument("--data-dir", type=Path, help="the server's data dir (default: a new temporary one)")
    args = p.parse_args()
    import tempfile

    data = args.data_dir or Path(tempfile.mkdtemp(prefix="fraudwatch-fuzz-"))
    data.mkdir(parents=True, exist_ok=True)
    server = Server(data, {"FRAUDWATCH_INGEST__HISTORY": "false", "FRAUDWATCH_SERVER__ACCESS_LOG": "true"})
    key = server.create_key("fuzzer", "ingest")
    server.start()
    fuzz = Fuzz(server, key)
    started = time.perf_counter()
    try:
        import random

        run(fuzz, examples=100, seed=args.seed)  # hypothesis drives the first requests itself
        drawn, values = pool(args.pool, args.seed)
        print(f"{len(drawn):,} events and {len(values):,} hostile values drawn", flush=True)
        rng = random.Random(args.seed)
        round_ = 0
        while fuzz.events < args.events:
            for _ in range(20):
                if rng.random() < 0.1:
                    for event in recombine(rng, drawn, values, 5, fuzz.requests):
                        fuzz.one(event)
                else:
                    fuzz.batch(recombine(rng, drawn, values, rng.randint(1, 500), fuzz.requests))
            round_ += 1
            print(
                f"{fuzz.events:,} events ({fuzz.batches:,} batches, {fuzz.requests:,} requests), "
                f"{time.perf_counter() - started:.0f} s, statuses {dict(sorted(fuzz.statuses.items()))}",
                flush=True,
            )
        server.stop()  # the final snapshot is written too
        found = clear_pans(data)
        log = "\n".join(p.read_text(errors="replace") for p in data.glob("server-*.log"))
        assert found == [], found[:5]
        assert "Traceback" not in log, log[-3000:]
    finally:
        server.kill()
    print(
        f"done: {fuzz.events:,} events in {fuzz.requests:,} requests ({fuzz.batches:,} batches) in "
        f"{time.perf_counter() - started:.0f} s; statuses {dict(sorted(fuzz.statuses.items()))}; "
        f"no 5xx; slowest answer {fuzz.slowest:.2f} s; no card number in clear in {data}"
    )


if __name__ == "__main__":
    main()
