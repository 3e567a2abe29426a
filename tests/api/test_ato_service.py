"""Account takeover through the running service, as an integrator sends it: the seed ATO story
challenged at the login from a new device and network, the domestic attacker with a known-good
browser stopped before the second gift-card order, the breached-password range API, and bad
input answered clearly."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import pytest

T0 = datetime.fromisoformat("2026-11-01T09:00:00+09:00")
OWNER_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.2 Mobile/15E148 Safari/604.1"
)
OTHER_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)
ATTACKER_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"


class Integrator:
    """Sends events in time order and keeps the decisions."""

    def __init__(self, client, prefix: str) -> None:
        self.client, self.prefix = client, prefix
        self.t = T0
        self.n = 0

    def event(self, kind: str, minutes: float = 1.0, **fields) -> dict:
        self.n += 1
        self.t += timedelta(minutes=minutes)
        return {"id": f"{self.prefix}{self.n}", "time": self.t.isoformat(), "kind": kind, **fields}

    def send(self, kind: str, minutes: float = 1.0, **fields) -> dict:
        r = self.client.post("/v1/events", json=self.event(kind, minutes, **fields))
        assert r.status_code == 200, r.text
        return r.json()

    def history(self, owner: str, owner_ip: str, days: int = 15, others: int = 25) -> None:
        """The owner and other customers log in from home, day after day (sent in batches)."""
        for _ in range(days):
            batch = []
            for i in range(others + 1):
                name, ip = (owner, owner_ip) if i == 0 else (f"{self.prefix}u{i}", f"126.{i}.3.4")
                batch.append(
                    self.event(
                        "account.login",
                        0.5,
                        account=name,
                        device=f"dev_{name}",
                        ip=ip,
                        success=True,
                        user_agent=OWNER_UA if i % 2 == 0 else OTHER_UA,
                        country="JP",
                        channel="ecommerce",
                    )
                )
            r = self.client.post("/v1/events/batch", json={"events": batch})
            assert r.status_code == 200 and all(x["status"] == 200 for x in r.json()["results"])
            self.t += timedelta(hours=23)


def gift(amount: int = 1000) -> dict:
    return {"sku": f"sku_gift_{amount}", "category": "digital_gift_card", "quantity": 1, "unit_price": amount}


@pytest.fixture(scope="module")
def service(live):
    with live.client(live.keys["ingest"]) as client:
        yield client


def test_seed_ato_story_is_challenged_at_the_login_from_a_new_device_and_network(service):
    s = Integrator(service, "abroad-")
    s.history("victim-a", "126.20.30.40")
    atk = {
        "account": "victim-a",
        "device": "dev_atk",
        "ip": "3.5.140.2",
        "user_agent": ATTACKER_UA,
        "country": "US",
        "channel": "ecommerce",
    }
    login = s.send("account.login", success=True, method="password", **atk)
    assert login["outcome"] == "challenge"
    assert login["step_up"]["method"] == "second_factor"
    assert login["features"]["login.risk"] > 1
    # the attacker cannot answer the second factor: the result comes back and counts
    s.send("auth.challenge", target=login["event_id"], method="sms", result="abandoned", **atk)
    again = s.send("account.login", success=True, method="password", **atk)
    assert again["outcome"] == "challenge"


def test_domestic_attacker_with_a_known_good_browser_is_stopped_before_the_second_gift_card_order(service):
    s = Integrator(service, "domestic-")
    s.history("victim-b", "126.50.60.70")
    atk = {
        "account": "victim-b",
        "device": "dev_atk2",
        "ip": "60.70.80.90",
        "user_agent": OWNER_UA,
        "country": "JP",
        "channel": "ecommerce",
    }
    login = s.send("account.login", success=True, method="password", **atk)
    assert login["outcome"] == "allow"  # a Japanese consumer network and the owner's browser
    s.send("account.profile_changed", field="language", old_value="ja", new_value="en", **atk)
    placed = 0
    for i in range(5):
        s.send("cart.item_added", item=gift(), **atk)
        pay = s.send(
            "payment.attempt",
            amount=1000,
            currency="JPY",
            card="tok_victim_b",
            result="approved",
            items_category="digital_gift_card",
            merchant="m_shop",
            **atk,
        )
        if pay["outcome"] == "block":
            break
        s.send("order.placed", order=f"ord-b-{i}", amount=1000, currency="JPY", items=[gift()], **atk)
        placed += 1
    assert pay["outcome"] == "block" and placed <= 1
    episode = pay["takeover"]
    assert episode["account"] == "victim-b" and episode["devices"] == ["dev_atk2"] and episode["steps"] >= 1
    assert "60.70.80.90" in episode["ips"]


def test_breached_password_range_api(live, tmp_path):
    # a corpus generated here, imported with the command, served by the running server
    passwords = ["password", "123456", "letmein"]
    lines = sorted(f"{hashlib.sha1(p.encode()).hexdigest().upper()}:{100 + i}" for i, p in enumerate(passwords))
    lines.insert(1, "ZZZ:1")  # a bad line: reported, skipped
    source = tmp_path / "pwned.txt"
    source.write_text("\n".join(lines) + "\n")
    done = live.cli("passwords", "import", str(source), "--out", str(live.data_dir / "passwords"))
    assert done.returncode == 0 and "pwned.txt:2: hash: expected 40 hexadecimal characters" in done.stderr
    sha = hashlib.sha1(b"letmein").hexdigest().upper()
    with live.client(live.keys["ingest"]) as client:
        r = client.get(f"/v1/passwords/range/{sha[:5].lower()}")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        rows = r.text.split("\r\n")
        assert len(rows) == 1000 and f"{sha[5:]}:102" in rows
        bad = client.get("/v1/passwords/range/XYZ12")
        assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == "prefix"
        assert client.get("/v1/passwords/range/ABCDEF").status_code == 422
    with live.client() as anonymous:
        assert anonymous.get(f"/v1/passwords/range/{sha[:5]}").status_code == 401
    # the integrator sends what the check found; the login asks for a second factor
    with live.client(live.keys["ingest"]) as client:
        s = Integrator(client, "breached-")
        s.history("victim-c", "126.70.80.90", days=3, others=3)
        d = s.send(
            "account.login",
            success=True,
            account="victim-c",
            device="dev_victim-c",
            ip="126.70.80.90",
            user_agent=OWNER_UA,
            password_compromised=True,
            password_breach_count=102,
        )
        assert d["outcome"] == "challenge" and any(h["rule"] == "ato_breached_password" for h in d["rules"])


def test_bad_input_is_answered_with_the_field_and_nothing_else_is_lost(service):
    s = Integrator(service, "bad-")
    good = s.event("account.login", account="u-bad", success=True, ip="126.1.1.1")
    events = [
        s.event("account.login", account="u-bad", success=True, ip="999.1.1.1"),
        s.event("account.login", account="u-bad", success=True, user_agent="x" * 10_240),
        good,
    ]
    r = service.post("/v1/events/batch", json={"events": events})
    results = r.json()["results"]
    assert [x["status"] for x in results] == [422, 422, 200]
    assert results[0]["errors"][0]["loc"] == "ip" and "not an IPv4 or IPv6 address" in results[0]["errors"][0]["msg"]
    assert results[1]["errors"][0] == {"loc": "user_agent", "msg": "String should have at most 1024 characters"}
