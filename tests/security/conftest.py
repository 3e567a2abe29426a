"""The real server (``fraudwatch serve`` in a subprocess, as in ``tests/api``) and helpers
that read every file it wrote, decompressed, to look for card numbers in clear."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
import zstandard

from api.conftest import Server

# test card numbers (Luhn-valid); PANS_RE finds any of them, however written, in raw bytes
PAN = "4929123456781236"
PANS = (PAN, "4111111111111111", "5555555555554444")


def is_luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


assert all(is_luhn(p) for p in PANS)


def _file_texts(path: Path) -> list[bytes]:
    """A file's bytes, and for SQLite files every value of every table, zstd frames
    decompressed (with the log's own dictionaries)."""
    raw = path.read_bytes()
    out = [raw]
    if raw[:16] == b"SQLite format 3\x00":
        try:
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            dicts = {}
            try:
                dicts = {
                    i: zstandard.ZstdCompressionDict(d) for i, d in db.execute("SELECT id, data FROM dictionaries")
                }
            except sqlite3.Error:
                pass
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            for table in tables:
                for row in db.execute(f'SELECT * FROM "{table}"'):  # noqa: S608 - our own table names
                    for value in row:
                        if isinstance(value, bytes):
                            out.append(_decompress(value, dicts))
                        elif isinstance(value, str):
                            out.append(value.encode())
            db.close()
        except sqlite3.Error:
            pass
    return out


def _decompress(value: bytes, dicts: dict) -> bytes:
    if value[:4] != b"\x28\xb5\x2f\xfd":
        return value
    dict_id = zstandard.get_frame_parameters(value).dict_id
    d = dicts.get(dict_id)
    z = zstandard.ZstdDecompressor(dict_data=d) if d is not None else zstandard.ZstdDecompressor()
    data = z.decompressobj().decompress(value)
    return data


_RUN = re.compile(r"\d(?:[^\w]{0,3}\d)+")
_DIGIT = re.compile(r"\d")


def clear_pans(data_dir: Path, pans=PANS) -> list[str]:
    """Where a known card number appears in clear in any file under ``data_dir``: its
    digits (of any script: full-width ones too) as consecutive groups of a run of digits
    and separators (``4929 1234 5678 1236``, ``x4929-1234...``). Digits glued to more
    digits (``49291234567812364``) are another number, as a reader of the text would see it."""
    found = []
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        for blob in _file_texts(path):
            text = _DIGIT.sub(lambda m: str(int(m.group())), blob.decode("utf-8", "replace"))
            for m in _RUN.finditer(text):
                groups = re.findall(r"\d+", m.group())
                for i in range(len(groups)):
                    joined = ""
                    for g in groups[i:]:
                        joined += g
                        if joined in pans:
                            found.append(f"{path.name}: {m.group()[:40]!r}")
                        if len(joined) >= 19:
                            break
    return found


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One running server per module with admin, read and ingest keys."""
    s = Server(
        tmp_path_factory.mktemp("sec"), {"FRAUDWATCH_SERVER__ACCESS_LOG": "true", "FRAUDWATCH_INGEST__HISTORY": "false"}
    )
    s.keys = {
        "admin": s.create_key("ops", "admin"),
        "read": s.create_key("analyst", "read"),
        "ingest": s.create_key("checkout", "ingest"),
    }
    s.start()
    yield s
    s.stop()
