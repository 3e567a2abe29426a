"""Schema version 2 events: signups, logouts, step-up results, user agents, IP context, 3DS."""

import gzip

import pytest
from pydantic import ValidationError

from fraudwatch.ato import ipdata
from fraudwatch.ato.useragent import parse_user_agent
from fraudwatch.events import parse_event, parse_line, read_events

T = "2026-11-21T13:00:00+09:00"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.2 Mobile/15E148 Safari/604.1"
)
WINDOWS_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 "
    "Mobile/15E148 Safari/604.1"
)
ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 13; SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36"
)
ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
    "Mobile Safari/537.36"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def login(**fields):
    return parse_event({"id": "l1", "time": T, "kind": "account.login", "account": "u1", "success": True, **fields})


@pytest.mark.parametrize(
    ("ua", "browser", "os", "device"),
    [
        (IPHONE, "Mobile Safari 17", "iOS 17", "mobile"),
        (WINDOWS_CHROME, "Chrome 120", "Windows 10", "desktop"),
        (IPAD, "Mobile Safari 16", "iOS 16", "tablet"),
        (ANDROID_TABLET, "Chrome 119", "Android 13", "tablet"),
        (ANDROID_PHONE, "Chrome Mobile 120", "Android 14", "mobile"),
        (GOOGLEBOT, "Googlebot 2", None, "bot"),
        ("curl/8.5.0", "curl 8", None, "other"),
    ],
)
def test_user_agents_parse_into_browser_os_and_device_type(ua, browser, os, device):
    e = login(user_agent=ua)
    assert (e.ua_browser_version, e.ua_os_version, e.ua_device) == (browser, os, device)


def test_a_parsed_user_agent_is_cached_and_events_without_one_read_missing():
    assert parse_user_agent(IPHONE) is parse_user_agent(IPHONE)
    e = login()
    assert (e.ua_browser, e.ua_os, e.ua_device, e.ua_browser_major) == (None, None, None, None)


def test_a_10_kb_user_agent_is_refused_with_the_field_and_the_stream_goes_on():
    lines = [
        f'{{"id":"a","time":"{T}","kind":"account.login","account":"u","success":true,"user_agent":"{"x" * 10240}"}}',
        f'{{"id":"b","time":"{T}","kind":"account.login","account":"u","success":true}}',
    ]
    bad, good = read_events(lines)
    assert bad.errors == [{"loc": "user_agent", "msg": "String should have at most 1024 characters"}]
    assert good.id == "b"


@pytest.mark.parametrize("ip", ["999.1.1.1", "1.2.3", "not-an-ip", "12.34.56.78.90", "2001:::1", "1.2.3.4/24"])
def test_an_ip_that_is_not_an_ip_is_refused_with_the_field(ip):
    dead = parse_line(f'{{"id":"a","time":"{T}","kind":"account.login","account":"u","success":true,"ip":"{ip}"}}', 1)
    assert dead.errors[0]["loc"] == "ip"
    assert "is not an IPv4 or IPv6 address" in dead.errors[0]["msg"]


def test_ips_are_normalised():
    assert login(ip="2001:DB8:0:0::1").ip == "2001:db8::1"
    assert login(ip="::ffff:198.51.100.7").ip == "198.51.100.7"


def test_version_1_events_still_parse_and_new_ones_are_version_2():
    assert login(version=1).version == 1
    assert login().version == 2
    with pytest.raises(ValidationError):
        login(version=3)


def test_signup_logout_and_challenge_kinds():
    signup = parse_event(
        {
            "id": "s1",
            "time": T,
            "kind": "account.created",
            "account": "u1",
            "email_domain": "example.jp",
            "phone_present": True,
            "phone_verified": False,
            "signup_channel": "web",
        }
    )
    assert (signup.email_domain, signup.phone_verified) == ("example.jp", False)
    out = parse_event({"id": "o1", "time": T, "kind": "account.logout", "account": "u1", "session": "s9"})
    assert out.session == "s9"
    ch = parse_event(
        {"id": "c1", "time": T, "kind": "auth.challenge", "target": "l1", "method": "3ds", "result": "abandoned"}
    )
    assert (ch.target, ch.method, ch.result) == ("l1", "3ds", "abandoned")
    with pytest.raises(ValidationError):
        parse_event({"id": "c2", "time": T, "kind": "auth.challenge", "target": "l1", "method": "sms", "result": "ok"})


@pytest.mark.parametrize(
    ("fields", "shift"),
    [
        ({"card_bin": "411111", "eci": "05", "three_ds_trans_status": "Y"}, True),
        ({"card_bin": "411111", "eci": "06", "three_ds_trans_status": "A"}, True),
        ({"card_bin": "411111", "eci": "07"}, False),
        ({"card_bin": "356600", "eci": "05"}, True),  # JCB
        ({"card_bin": "520082", "eci": "02", "three_ds_trans_status": "Y"}, True),
        ({"card_bin": "520082", "eci": "01", "three_ds_trans_status": "A"}, True),
        ({"card_bin": "520082", "eci": "04"}, False),  # Mastercard Data Only
        ({"card_bin": "520082", "eci": "05"}, False),  # a Visa ECI on a Mastercard
        ({"card_brand": "mastercard", "eci": "02"}, True),
        ({"card_bin": "411111", "eci": "05", "three_ds_trans_status": "N"}, False),
        ({"card_bin": "411111", "three_ds_trans_status": "R"}, False),
        ({"card_bin": "411111"}, None),
    ],
)
def test_liability_shift_from_the_3ds_result(fields, shift):
    e = parse_event(
        {"id": "p", "time": T, "kind": "payment.attempt", "card": "t", "amount": 1000, "currency": "JPY", **fields}
    )
    assert e.liability_shift is shift


def test_breached_password_flag_on_login_and_password_change():
    e = login(password_compromised=True, password_breach_count=3861493)
    assert (e.password_compromised, e.password_breach_count) == (True, 3861493)
    change = parse_event(
        {"id": "pc", "time": T, "kind": "account.password_changed", "account": "u1", "password_compromised": False}
    )
    assert change.password_compromised is False


# ------------------------------------------------------------------------- IP data
def test_the_bundled_ip_data_knows_countries_and_networks():
    e = login(ip="126.1.2.3")  # SoftBank's consumer broadband
    assert e.ip_country == "JP"
    assert e.as_org and e.as_id == e.as_org  # the bundled data has AS names, not numbers
    assert login(ip="240b:10:1::1").ip_country == "JP"
    assert login(ip="10.1.2.3").ip_country is None  # private


def test_private_and_reserved_addresses_are_told_apart_as_the_standard_library_does():
    """The lookup answers is_global from a table of the special-purpose networks' bounds;
    it must agree with ipaddress everywhere: at each bound, beside it, and at random."""
    import ipaddress
    import random

    rng = random.Random(7)
    for table, cls, bits in (
        (ipdata._V4_GLOBAL, ipaddress.IPv4Address, 32),
        (ipdata._V6_GLOBAL, ipaddress.IPv6Address, 128),
    ):
        top = (1 << bits) - 1
        numbers = [rng.getrandbits(bits) for _ in range(3000)]
        numbers += [n for p in table[0] for n in (max(p - 1, 0), p, min(p + 1, top))]
        for n in numbers:
            address = cls(n)
            assert ipdata._is_global(table, n, str(address)) == address.is_global, address
    data = ipdata.current()
    assert data.lookup("192.168.1.1") is None and data.lookup("::ffff:192.168.1.1") is None
    assert data.lookup("100.64.0.1") is None and data.lookup("::1") is None


def write_tsv(path, lines):
    with gzip.open(path, "wt") as f:
        f.write("\n".join(lines) + "\n")


@pytest.fixture
def iptoasn(tmp_path):
    path = tmp_path / "ip2asn-combined.tsv.gz"
    write_tsv(
        path,
        [
            "61.100.100.0\t61.100.100.255\t2516\tJP\tKDDI KDDI CORPORATION",
            "62.113.113.0\t62.113.113.127\t16509\tUS\tAMAZON-02",
            "62.113.113.128\t62.113.113.255\t0\tNone\tNot routed",
            "this line is broken",
            "2400:db8::\t2400:db8:ffff:ffff:ffff:ffff:ffff:ffff\t17676\tJP\tGIGAINFRA Softbank BB Corp.",
            "192.0.2.0\t192.0.2.9\tnot-a-number\tJP\tX",
        ],
    )
    return path


def test_an_operator_file_is_imported_with_as_numbers_and_its_bad_lines_reported(iptoasn, tmp_path):
    data = ipdata.import_file(iptoasn)
    assert data.problems[0].startswith("line 4: ") and data.problems[1].startswith("line 6: ")
    out = tmp_path / "ip.fwip"
    data.save(out)
    loaded = ipdata.IpData.load(out)
    info = loaded.lookup("61.100.100.20")
    assert (info.country, info.asn, info.as_org, info.as_key) == ("JP", 2516, "KDDI KDDI CORPORATION", "AS2516")
    assert loaded.lookup("62.113.113.5").asn == 16509
    assert loaded.lookup("62.113.113.200") is None  # not routed
    assert loaded.lookup("2400:db8:1:2::5").asn == 17676
    assert loaded.version == data.version


def test_events_read_the_data_in_use(iptoasn, tmp_path):
    out = tmp_path / "ip.fwip"
    ipdata.import_file(iptoasn).save(out)
    ipdata.use(out)
    try:
        e = login(ip="62.113.113.9")
        assert (e.ip_country, e.asn, e.as_id) == ("US", 16509, "AS16509")
    finally:
        ipdata.use(None)


def test_a_file_that_is_not_ip_data_is_refused_clearly(tmp_path):
    junk = tmp_path / "junk.fwip"
    junk.write_bytes(b"hello")
    with pytest.raises(ipdata.IpDataError, match="not an IP data file"):
        ipdata.IpData.load(junk)
    with pytest.raises(ipdata.IpDataError, match="no such file"):
        ipdata.import_file(tmp_path / "missing.tsv")
    empty = tmp_path / "empty.tsv"
    empty.write_text("garbage\n")
    with pytest.raises(ipdata.IpDataError, match="no ranges read.*line 1"):
        ipdata.import_file(empty)
