"""Offline IP context: country and autonomous system of an IP address, with no network.

The default data ships inside the ``geoip2fast`` package (MaxMind GeoLite2 country and ASN
ranges, IPv4 and IPv6): country codes and AS organisation names, no AS numbers. An operator
updates or enriches it from a file they download themselves, converted once by
``fraudwatch ip-data import FILE --out PATH`` into this module's own compact file
(``*.fwip``), which the service then reads (``FRAUDWATCH_ATO__IP_DATA=PATH``):

- iptoasn.com's ``ip2asn-v4.tsv`` / ``ip2asn-combined.tsv`` (``.gz`` too): ``first last
  AS_number country AS_description`` per line: AS numbers, countries and names;
- a ``geoip2fast`` data file (``*.dat.gz``, e.g. a newer release's), read with an unpickler
  that accepts plain data only.

Lookups bisect sorted range starts (about 1 µs) behind a bounded cache; IPv6 addresses are
looked up by their /64 prefix (no source splits networks finer than that in practice). Anonymous-network
flags are not in these sources: :attr:`IpInfo.anonymous` stays None until a data source
provides it; hosting and proxy networks are named in rule lists (``@hosting_asns``).

>>> data = IpData.from_ranges([("61.100.100.0", "61.100.100.255", "JP", 2516, "KDDI CORPORATION")],
...                           version="doc")
>>> info = data.lookup("61.100.100.7")
>>> info.country, info.asn, info.as_org, info.as_key
('JP', 2516, 'KDDI CORPORATION', 'AS2516')
>>> data.lookup("62.1.1.1") is None, data.lookup("10.1.2.3") is None   # no range; private
(True, True)
"""

from __future__ import annotations

import bisect
import gzip
import hashlib
import io
import ipaddress
import os
import pickle
import socket
import threading
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from itertools import chain, compress
from operator import add, le
from pathlib import Path
from typing import Any

import orjson
import zstandard

from fraudwatch.errors import ValidationFailed

__all__ = ["IpData", "IpInfo", "IpDataError", "current", "use", "use_cache_dir", "ip_info", "import_file"]

FORMAT = b"FWIP1\n"
_bundled: IpData | None = None
_bundled_lock = threading.Lock()
_cache_dir: Path | None = Path.home() / ".cache" / "fraudwatch"


def use_cache_dir(folder: str | Path | None) -> None:
    """Where the converted bundled data is kept (None: nowhere)."""
    global _cache_dir
    _cache_dir = Path(folder) if folder is not None else None


CACHE_SIZE = 200_000
_V4_MAX = (1 << 32) - 1


def _global_table(cls: Any) -> tuple[list[int], list[bool | None]]:
    """Where ``ipaddress``'s ``is_global`` may change over the address space, and its value
    from each of those addresses on (None: ask ``ipaddress``), evaluated once here so that a
    lookup is a search of integers (``is_global`` itself takes tens of microseconds).

    The points are the bounds of every special-purpose network the standard library names;
    IPv4-mapped IPv6 addresses are left to ``ipaddress`` (their answer follows IPv4's)."""
    networks = []
    for value in vars(getattr(cls, "_constants", object)).values():
        for item in value if isinstance(value, (list, tuple, frozenset, set)) else (value,):
            if isinstance(item, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
                networks.append(item)
            elif isinstance(item, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
                networks.append(ipaddress.ip_network(item))
    top = (1 << (32 if cls is ipaddress.IPv4Address else 128)) - 1
    if not networks:  # an interpreter that keeps them elsewhere: ask ipaddress every time
        return [0], [None]
    points = {0}
    for net in networks:
        points.add(int(net.network_address))
        if int(net.broadcast_address) < top:
            points.add(int(net.broadcast_address) + 1)
    starts = sorted(points)
    flags: list[bool | None] = [bool(cls(p).is_global) for p in starts]
    if cls is ipaddress.IPv6Address:
        mapped = ipaddress.ip_network("::ffff:0:0/96")
        a, b = int(mapped.network_address), int(mapped.broadcast_address) + 1
        keep = [(p, f) for p, f in zip(starts, flags, strict=True) if not a <= p < b]
        after = [f for p, f in zip(starts, flags, strict=True) if p <= b][-1]
        keep += [(a, None), (b, after)]
        keep.sort(key=lambda pf: pf[0])
        starts, flags = [p for p, _ in keep], [f for _, f in keep]
    return starts, flags


_V4_GLOBAL = _global_table(ipaddress.IPv4Address)
_V6_GLOBAL = _global_table(ipaddress.IPv6Address)


def _is_global(table: tuple[list[int], list[bool | None]], n: int, ip: str) -> bool:
    flag = table[1][bisect.bisect_right(table[0], n) - 1]
    return bool(ipaddress.ip_address(ip).is_global) if flag is None else flag


class IpDataError(ValidationFailed):
    """An IP data file that cannot be read, with where and why."""


@dataclass(frozen=True, slots=True)
class IpInfo:
    """What the data says about one address; None where it says nothing."""

    country: str | None
    asn: int | None
    as_org: str | None
    anonymous: bool | None = None  # no bundled source has it; a later data source may

    @property
    def as_key(self) -> str | None:
        """The autonomous system as one value: ``"AS2516"`` when its number is known, else
        its organisation name (the bundled data has names only)."""
        if self.asn is not None:
            return f"AS{self.asn}"
        return self.as_org


class _Table:
    """Disjoint, sorted ranges ``[start, end]`` of integers, each with a value index."""

    __slots__ = ("starts", "ends", "values")

    def __init__(self, starts: Any, ends: Any, values: Any) -> None:
        self.starts, self.ends, self.values = starts, ends, values

    def find(self, n: int) -> int:
        i = bisect.bisect_right(self.starts, n) - 1
        if i < 0 or n > self.ends[i]:
            return -1
        return self.values[i]

    def __len__(self) -> int:
        return len(self.starts)

    @classmethod
    def build(cls, rows: list[tuple[int, int, int]], typecode: str) -> _Table:
        """From ``(start, end, value)`` rows in any order."""
        rows.sort()
        starts, ends, values = (list(col) for col in zip(*rows, strict=True)) if rows else ([], [], [])
        return cls.from_columns(starts, ends, values, typecode)

    @classmethod
    def from_columns(cls, starts: list[int], ends: list[int], values: list[int], typecode: str) -> _Table:
        """From columns sorted by start; where ranges overlap, the earlier start keeps its
        addresses."""
        if any(map(le, starts[1:], ends[:-1])):  # rare (IPv6 cut to /64): fix overlaps one by one
            fixed_s: list[int] = []
            fixed_e: list[int] = []
            fixed_v: list[int] = []
            last = -1
            for start, end, value in zip(starts, ends, values, strict=True):
                if start <= last:
                    start = last + 1
                    if start > end:
                        continue
                fixed_s.append(start)
                fixed_e.append(end)
                fixed_v.append(value)
                last = end
            starts, ends, values = fixed_s, fixed_e, fixed_v
        return cls(array(typecode, starts), array(typecode, ends), array("I", values))


_TABLES = ("v4_country", "v4_as", "v6_country", "v6_as")


class IpData:
    """Country and AS ranges for IPv4 and IPv6, and a cached :meth:`lookup`.

    ``countries`` are ISO codes; ``networks`` are ``(AS number or None, organisation or None)``;
    each table maps address ranges to an index into one of them."""

    def __init__(
        self,
        tables: dict[str, _Table],
        countries: list[str],
        networks: list[tuple[int | None, str | None]],
        version: str,
        source: str,
    ) -> None:
        self._tables = tables
        self.countries = countries
        self.networks = networks
        self.version = version
        self.source = source
        self.problems: list[str] = []  # lines an import skipped, with why
        self._cache: dict[str, IpInfo | None] = {}
        self._infos: dict[tuple[int, int], IpInfo | None] = {}

    def __repr__(self) -> str:
        sizes = ", ".join(f"{name}={len(t)}" for name, t in self._tables.items())
        return f"IpData(version={self.version!r}, {sizes})"

    # ---------------------------------------------------------------- lookups
    def lookup(self, ip: str) -> IpInfo | None:
        """The context of a valid IPv4 or IPv6 address (None when the data has no range for it,
        and for private, loopback and reserved addresses: they belong to no public network).

        Events validate their ``ip`` before it gets here; an invalid string reads None."""
        cache = self._cache
        try:
            return cache[ip]
        except KeyError:
            pass
        try:
            if ":" in ip:
                full = int.from_bytes(socket.inet_pton(socket.AF_INET6, ip), "big")
                n = full >> 64  # the /64 prefix
                family = "v6"
                public = _is_global(_V6_GLOBAL, full, ip)
            else:
                n = int.from_bytes(socket.inet_aton(ip), "big")
                family = "v4"
                public = _is_global(_V4_GLOBAL, n, ip)
        except (OSError, ValueError):
            public = False
        if not public:  # private, loopback, reserved or not an address: no public network, no context
            info = None
        else:
            key = (self._tables[family + "_country"].find(n), self._tables[family + "_as"].find(n))
            try:
                info = self._infos[key]
            except KeyError:
                info = self._infos[key] = self._info(*key)
        if len(cache) >= CACHE_SIZE:
            cache.clear()  # cheap and rare: the working set refills it
        cache[ip] = info
        return info

    def _info(self, country: int, network: int) -> IpInfo | None:
        if country < 0 and network < 0:
            return None
        asn, org = self.networks[network] if network >= 0 else (None, None)
        return IpInfo(self.countries[country] if country >= 0 else None, asn, org)

    # ---------------------------------------------------------------- building
    @classmethod
    def from_ranges(cls, rows: Iterable[tuple[str, str, str | None, int | None, str | None]], version: str) -> IpData:
        """From ``(first address, last address, country, AS number, AS name)`` rows."""
        builder = _Builder()
        for first, last, country, asn, org in rows:
            a, b = ipaddress.ip_address(first), ipaddress.ip_address(last)
            builder.add(int(a), int(b), a.version == 6, country, asn, org)
        return builder.build(version, "ranges")

    @classmethod
    def bundled(cls) -> IpData:
        """The data shipped in the ``geoip2fast`` package (IPv4 and IPv6 country and AS names),
        read once per process. Converting it takes a few seconds of CPU; the result is kept in
        the cache folder (``cache_dir`` of the settings) and read from there in a fraction of
        a second next time."""
        global _bundled
        with _bundled_lock:
            if _bundled is None:
                _bundled = cls._cached_bundled()
            return _bundled

    @classmethod
    def _cached_bundled(cls) -> IpData:
        try:
            source = resources.files("geoip2fast") / "geoip2fast-asn-ipv6.dat.gz"
            stamp = hashlib.sha256(f"{source}:{Path(str(source)).stat().st_size}:{FORMAT!r}".encode()).hexdigest()[:16]
            cached = _cache_dir / f"ip-bundled-{stamp}.fwip" if _cache_dir is not None else None
        except (ModuleNotFoundError, OSError):
            cached = None
        if cached is not None and cached.is_file():
            try:
                return cls.load(cached)
            except IpDataError:
                pass  # damaged: convert again
        data = cls._read_bundled()
        if cached is not None:
            try:
                cached.parent.mkdir(parents=True, exist_ok=True)
                tmp = cached.with_name(f"{cached.name}.{os.getpid()}.tmp")
                data.save(tmp)
                os.replace(tmp, cached)  # atomic: processes starting together never read half a file
            except OSError:
                pass  # no cache folder: convert again next time
        return data

    @classmethod
    def _read_bundled(cls) -> IpData:
        try:
            folder = resources.files("geoip2fast")
        except ModuleNotFoundError:
            raise IpDataError("IP context needs the geoip2fast package: pip install fraudwatch") from None
        path = folder / "geoip2fast-asn-ipv6.dat.gz"
        with path.open("rb") as raw:
            return _from_geoip2fast(raw, str(path))

    @classmethod
    def load(cls, path: str | Path) -> IpData:
        """A file written by :meth:`save` (``fraudwatch ip-data import``)."""
        path = Path(path)
        try:
            blob = zstandard.ZstdDecompressor().decompressobj().decompress(path.read_bytes())
        except (OSError, zstandard.ZstdError) as exc:
            raise IpDataError(f"{path}: not an IP data file ({exc})") from None
        if not blob.startswith(FORMAT):
            raise IpDataError(f"{path}: not an IP data file (write one with: fraudwatch ip-data import FILE)")
        buf = io.BytesIO(blob[len(FORMAT) :])
        try:
            header = orjson.loads(buf.readline())
            tables = {}
            for name in _TABLES:
                n = header["counts"][name]
                code = "Q" if name.startswith("v6") else "I"
                starts, ends = array(code), array(code)
                starts.frombytes(buf.read(starts.itemsize * n))
                ends.frombytes(buf.read(ends.itemsize * n))
                values = array("I")
                values.frombytes(buf.read(4 * n))
                if not len(starts) == len(ends) == len(values) == n:
                    raise ValueError(f"table {name} is cut short")
                tables[name] = _Table(starts, ends, values)
            networks = [(a, o) for a, o in header["networks"]]
            return cls(tables, header["countries"], networks, header["version"], str(path))
        except (ValueError, KeyError, TypeError, orjson.JSONDecodeError) as exc:
            raise IpDataError(f"{path}: damaged IP data file ({exc})") from None

    def save(self, path: str | Path) -> None:
        """Write the compact file :meth:`load` reads (zstd-compressed arrays)."""
        out = io.BytesIO()
        out.write(FORMAT)
        header = {
            "version": self.version,
            "source": self.source,
            "counts": {name: len(self._tables[name]) for name in _TABLES},
            "countries": self.countries,
            "networks": self.networks,
        }
        out.write(orjson.dumps(header) + b"\n")
        for name in _TABLES:
            t = self._tables[name]
            out.write(t.starts.tobytes())
            out.write(t.ends.tobytes())
            out.write(t.values.tobytes())
        Path(path).write_bytes(zstandard.ZstdCompressor(level=9).compress(out.getvalue()))


class _Builder:
    """Collects ranges and interns their countries and networks."""

    def __init__(self) -> None:
        self.rows: dict[str, list[tuple[int, int, int]]] = {name: [] for name in _TABLES}
        self.countries: dict[str, int] = {}
        self.networks: dict[tuple[int | None, str | None], int] = {}

    def add_country(self, first: int, last: int, v6: bool, country: str | None) -> None:
        if country is not None:
            i = self.countries.setdefault(country, len(self.countries))
            self.rows["v6_country" if v6 else "v4_country"].append((first, last, i))

    def add_network(self, first: int, last: int, v6: bool, asn: int | None, org: str | None) -> None:
        if asn is not None or org is not None:
            i = self.networks.setdefault((asn, org), len(self.networks))
            self.rows["v6_as" if v6 else "v4_as"].append((first, last, i))

    def add(self, first: int, last: int, v6: bool, country: str | None, asn: int | None, org: str | None) -> None:
        """A range of addresses (IPv6 ones are kept by their /64 prefix)."""
        if v6:
            first, last = first >> 64, last >> 64
        self.add_country(first, last, v6, country)
        self.add_network(first, last, v6, asn, org)

    def build(self, version: str, source: str) -> IpData:
        tables = {name: _Table.build(rows, "Q" if name.startswith("v6") else "I") for name, rows in self.rows.items()}
        return IpData(tables, list(self.countries), list(self.networks), version, source)


# ------------------------------------------------------------------ sources
class _PlainUnpickler(pickle.Unpickler):
    """geoip2fast data files are pickles of lists, dicts and strings: nothing else may load."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"an IP data file holds plain data only, not {module}.{name}")


def _from_geoip2fast(raw: Any, source: str) -> IpData:
    try:
        with gzip.open(raw, "rb") as f:
            dat_version, info, _total, db = _PlainUnpickler(f).load()
        if dat_version not in (120, 121) or not (info.get("country") and info.get("asn")):
            raise ValueError("a geoip2fast country+ASN data file is needed (e.g. geoip2fast-asn.dat.gz)")
        _index, _index_asn, names_c, names_asn, first_ip, first_asn, id_c, id_asn, netlen, netlen_asn = db
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError) as exc:
        raise IpDataError(f"{source}: not a geoip2fast data file ({exc})") from None
    # the first 16 country names are private and reserved networks, "99" is "not found",
    # AS name 0 is "<unknown>"; their ranges are left out
    countries = [n.split(":", 1)[0] for n in names_c]
    country_ok = [i >= 16 and not n.startswith("99:") for i, n in enumerate(names_c)]
    networks = [(None, n) for n in names_asn]
    network_ok = [i > 0 for i in range(len(names_asn))]
    tables = {}
    for kind, firsts, lengths, ids, ok in (
        ("country", first_ip, netlen, id_c, country_ok),
        ("as", first_asn, netlen_asn, id_asn, network_ok),
    ):
        # flattened with map and chain (C loops): a million ranges in a fraction of a second
        starts = list(chain.from_iterable(firsts))
        nls = list(chain.from_iterable(lengths))
        values = list(chain.from_iterable(ids))
        keep = list(map(ok.__getitem__, values))
        split = bisect.bisect_left(starts, _V4_MAX)  # geoip2fast's first IPv6 range starts at 2**32 - 1
        for family, lo, hi, bits in (("v4", 0, split, 32), ("v6", split, len(starts), 128)):
            shift = 64 if family == "v6" else 0  # IPv6 by its /64 prefix
            sizes = [(1 << (bits - k)) - 1 for k in range(bits + 1)]
            keep_part = keep[lo:hi]
            firsts_part = list(compress(starts[lo:hi], keep_part))
            lasts = list(map(add, firsts_part, map(sizes.__getitem__, compress(nls[lo:hi], keep_part))))
            if shift:
                firsts_part = [a >> shift for a in firsts_part]
                lasts = [b >> shift for b in lasts]
            tables[f"{family}_{kind}"] = _Table.from_columns(
                firsts_part, lasts, list(compress(values[lo:hi], keep_part)), "Q" if shift else "I"
            )
    return IpData(tables, countries, networks, str(info.get("info", "geoip2fast")), source)


def _from_iptoasn(path: Path) -> IpData:
    """iptoasn.com TSV: ``first<TAB>last<TAB>AS number<TAB>country<TAB>description``."""
    opener: Any = gzip.open if path.suffix == ".gz" else open
    builder = _Builder()
    problems = []
    with opener(path, "rt", encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            parts = line.rstrip("\n").split("\t")
            try:
                if len(parts) < 4:
                    raise ValueError("expected first address, last address, AS number, country, description")
                first, last = ipaddress.ip_address(parts[0]), ipaddress.ip_address(parts[1])
                if first.version != last.version or int(last) < int(first):
                    raise ValueError(f"{parts[1]!r} does not end a range that starts at {parts[0]!r}")
                asn = int(parts[2])
            except ValueError as exc:
                if len(problems) < 1000:
                    problems.append(f"line {number}: {exc}")
                continue
            if asn == 0:  # "Not routed"
                continue
            cc = parts[3].strip().upper()
            country = cc if len(cc) == 2 and cc.isalpha() and cc not in ("ZZ", "XX") else None
            org = parts[4].strip() if len(parts) > 4 and parts[4].strip() not in ("", "Not routed") else None
            builder.add(int(first), int(last), first.version == 6, country, asn, org)
    if not builder.networks:
        raise IpDataError(f"{path}: no ranges read" + (f" ({problems[0]})" if problems else ""))
    data = builder.build(f"iptoasn:{path.name}:{_digest(path)}", str(path))
    data.problems = problems
    return data


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:12]


def import_file(path: str | Path) -> IpData:
    """Read an operator-downloaded file (iptoasn TSV or geoip2fast ``.dat.gz``)."""
    path = Path(path)
    if not path.is_file():
        raise IpDataError(f"{path}: no such file")
    with path.open("rb") as f:
        head = f.read(2)
    if path.name.endswith(".dat.gz") or (head == b"\x1f\x8b" and ".dat" in path.name):
        with path.open("rb") as raw:
            return _from_geoip2fast(raw, str(path))
    return _from_iptoasn(path)


# ------------------------------------------------------------------ the data in use
_current: IpData | None = None
_configured: str | None = None
_lock = threading.Lock()


def use(source: str | Path | IpData | None) -> None:
    """Choose the data (a ``.fwip`` path, an :class:`IpData`, or None for the bundled data);
    loaded at the first lookup."""
    global _current, _configured
    with _lock:
        if isinstance(source, IpData):
            _current, _configured = source, None
        else:
            _current, _configured = None, None if source is None else str(source)


def current() -> IpData:
    """The data in use (loaded on first call: about a second for the bundled data)."""
    global _current
    data = _current
    if data is not None:
        return data
    with _lock:
        if _current is None:
            _current = IpData.load(_configured) if _configured else IpData.bundled()
        return _current


_hosting: frozenset[str] | None = None


def hosting_networks() -> frozenset[str]:
    """The networks ``event.ip_hosting`` calls hosting: ``data/hosting_as.list`` (AS numbers
    as ``AS<n>`` and organisation names), or the file set with :func:`use_hosting_list`."""
    global _hosting
    if _hosting is None:
        text = resources.files("fraudwatch.ato").joinpath("data/hosting_as.list").read_text()
        _hosting = _parse_list(text)
    return _hosting


def use_hosting_list(path: str | Path | None) -> None:
    global _hosting
    _hosting = None if path is None else _parse_list(Path(path).read_text())


def _parse_list(text: str) -> frozenset[str]:
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def is_hosting(info: IpInfo | None) -> bool | None:
    """Whether the IP's network is a cloud or hosting network (None without IP data)."""
    if info is None:
        return None
    listed = hosting_networks()
    return (info.asn is not None and f"AS{info.asn}" in listed) or (info.as_org is not None and info.as_org in listed)


def ip_info(ip: str | None) -> IpInfo | None:
    """The context of ``ip`` from the data in use (None for no IP or no range)."""
    if ip is None:
        return None
    return current().lookup(ip)
