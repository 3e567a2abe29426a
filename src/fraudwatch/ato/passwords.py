"""Breached passwords: the Pwned Passwords range protocol served from a local corpus.

fraudwatch never sees a password. The integrator's login code hashes the typed password with
SHA-1, sends the first 5 hex characters to ``GET /v1/passwords/range/{prefix}`` and looks for
the other 35 in the answer (k-anonymity: the prefix is shared by about a millionth of all
hashes). A hit means the password is in the corpus; the login or password-change event then
carries ``password_compromised: true`` and the count, and a rule can force a reset.

The answer has one ``SUFFIX:COUNT`` line per hash of the corpus with that prefix, followed
by random suffixes of count 0 up to ``pad_to`` lines (as the Pwned Passwords service pads),
so the answer's length says nothing of how many real hashes the prefix has.

The corpus is imported from the operator's sorted ``HASH:COUNT`` file (the Pwned Passwords
download: hundreds of millions of lines) by ``fraudwatch passwords import``, streaming, in
constant memory, into two files: ``ranges.txt``, every prefix's answer lines already written
(``SUFFIX:COUNT`` and CRLF, prefix after prefix), and ``index.bin``, 2**20 + 1 byte offsets
into it (one per prefix). A lookup reads one offset pair and one slice: nothing is formatted
or sorted while the caller waits.

>>> import hashlib, tempfile
>>> sha = hashlib.sha1(b"password").hexdigest().upper()
>>> folder = tempfile.mkdtemp()
>>> report = import_corpus([f"{sha}:3861493", "FFFFF0000000000000000000000000000000000A:1"], folder)
>>> corpus = PasswordCorpus(folder)
>>> corpus.count(sha)
3861493
>>> lines = corpus.range_answer(sha[:5], pad_to=10).decode().split("\\r\\n")
>>> len(lines), lines[0] == f"{sha[5:]}:3861493", lines[1].endswith(":0")
(10, True, True)
"""

from __future__ import annotations

import json
import mmap
import os
import re
import secrets
import shutil
import time
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path
from typing import Any

from fraudwatch.errors import ValidationFailed

__all__ = ["PasswordCorpus", "CorpusError", "ImportReport", "import_corpus", "check_prefix", "PAD_TO"]

PREFIXES = 1 << 20
PAD_TO = 1000  # lines in every answer at least (real prefixes of the full corpus hold ~800-1,000)
_MAX_PAD = 10_000  # the most padding lines an answer is given (ato.password_pad_to's bound)
_PAD_LINE = 35 + 4  # bytes of one padding line: suffix, ":0", CRLF
FORMAT = 2  # of the files below; a corpus of another format is imported again
_PREFIX = re.compile(r"^[0-9A-Fa-f]{5}$")
_LINE = re.compile(rb"^([0-9A-Fa-f]{40}):([0-9]{1,15})\r?$", re.M)
_FILES = ("ranges.txt", "index.bin", "corpus.json")


class CorpusError(ValidationFailed):
    """A corpus that cannot be read or imported, or a malformed prefix."""


def check_prefix(prefix: str) -> str:
    """The prefix in upper case, or CorpusError saying what is wrong."""
    if not isinstance(prefix, str) or not _PREFIX.match(prefix):
        shown = prefix[:16] if isinstance(prefix, str) else prefix
        raise CorpusError(
            f"prefix: expected the first 5 hexadecimal characters (0-9, A-F) of a SHA-1 hash, got {shown!r}",
            [{"loc": "prefix", "msg": f"expected 5 hexadecimal characters, got {shown!r}"}],
        )
    return prefix.upper()


class PasswordCorpus:
    """A read-only, memory-mapped corpus written by :func:`import_corpus`."""

    def __init__(self, folder: str | Path) -> None:
        folder = Path(folder)
        try:
            self.meta = json.loads((folder / "corpus.json").read_text())
            self._files = [open(folder / name, "rb") for name in _FILES[:2]]  # noqa: SIM115 - kept open, mapped
        except (OSError, ValueError) as exc:
            raise CorpusError(
                f"{folder}: not a password corpus ({exc}); import one with: fraudwatch passwords import"
            ) from None
        self.folder = folder
        if self.meta.get("format") != FORMAT:
            self.close()
            raise CorpusError(
                f"{folder}: password corpus of format {self.meta.get('format', 1)}, this version reads format "
                f"{FORMAT}; import it again with: fraudwatch passwords import"
            )
        ranges, index = (
            mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if os.fstat(f.fileno()).st_size else b""
            for f in self._files
        )
        self._ranges = ranges
        self._index = memoryview(index).cast("Q") if index else None
        self.entries = self.meta["entries"]
        if self._index is None or len(self._index) != PREFIXES + 1 or self._index[-1] != len(ranges):
            raise CorpusError(
                f"{folder}: damaged password corpus (index does not match {len(ranges):,} bytes of ranges)"
            )
        self._padding = _padding_lines(2 * _MAX_PAD)

    def close(self) -> None:
        for f in self._files:
            f.close()

    def block(self, prefix: str) -> bytes:
        """The answer lines of every corpus hash starting with ``prefix`` (``SUFFIX:COUNT``
        and CRLF each, in order), as imported."""
        assert self._index is not None
        p = int(check_prefix(prefix), 16)
        return self._ranges[self._index[p] : self._index[p + 1]]

    def lookup(self, prefix: str) -> list[tuple[str, int]]:
        """``(suffix, count)`` of every corpus hash starting with ``prefix``, in order."""
        lines = self.block(prefix).decode("ascii").split("\r\n")
        lines.pop()  # after the last CRLF
        return [(line[:35], int(line[36:])) for line in lines]

    def count(self, sha1_hex: str) -> int:
        """How often a full SHA-1 appears in the corpus (0 when it does not)."""
        sha1_hex = sha1_hex.upper()
        block = self.block(sha1_hex[:5])
        suffix = sha1_hex[5:].encode("ascii")
        # the only runs of 35 hexadecimal characters in a block are its suffixes
        at = block.find(suffix) if len(suffix) == 35 else -1
        if at < 0:
            return 0
        return int(block[at + 36 : block.index(b"\r", at)])

    def range_answer(self, prefix: str, pad_to: int = PAD_TO) -> bytes:
        """The range answer: the prefix's ``SUFFIX:COUNT`` lines, then random suffixes of count
        0 up to ``pad_to`` lines, joined by CRLF (one slice of the corpus and one of a pool of
        random lines drawn when the corpus was opened, at a random place)."""
        block = self.block(prefix)
        missing = min(pad_to, _MAX_PAD) - block.count(b"\n")
        if missing > 0:
            at = secrets.randbelow(len(self._padding) // _PAD_LINE - missing + 1) * _PAD_LINE
            block += self._padding[at : at + missing * _PAD_LINE]
        return block[:-2]


def _padding_lines(n: int) -> bytes:
    """``n`` lines of a random 35-hex-digit suffix and count 0, CRLF after each."""
    noise = secrets.token_hex(18 * n).upper().encode("ascii")
    return b"".join(noise[i : i + 35] + b":0\r\n" for i in range(0, 36 * n, 36))


@dataclass
class ImportReport:
    """What an import read: entries written, bad lines (number and reason, the first 100),
    how many bad lines in all, and the time taken."""

    entries: int = 0
    lines: int = 0
    bad: list[tuple[int, str]] = field(default_factory=list)
    bad_total: int = 0
    seconds: float = 0.0

    def note(self, line: int, why: str) -> None:
        self.bad_total += 1
        if len(self.bad) < 100:
            self.bad.append((line, why))


def import_corpus(
    source: Iterable[str | bytes] | str | Path,
    folder: str | Path,
    *,
    on_progress: Callable[[int], None] | None = None,
    on_bad_line: Callable[[int, str], None] | None = None,
    chunk_bytes: int = 8 << 20,
) -> ImportReport:
    """Import a sorted ``HASH:COUNT`` file (or lines) into ``folder``.

    Streams in chunks of ``chunk_bytes`` (memory stays constant: a few chunks' worth and the
    8 MB index), writes to a new folder beside ``folder`` and swaps it in at the end, so a reader
    of the old corpus is never disturbed. A line that is malformed or out of order is
    reported (``on_bad_line(number, reason)``) and skipped; the import goes on.
    ``on_progress(bytes)`` is called after each chunk."""
    started = time.perf_counter()
    folder = Path(folder)
    work = folder.with_name(folder.name + ".importing")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    report = ImportReport()
    index = array("Q", bytes(8 * (PREFIXES + 1)))
    state: dict[str, Any] = {"last": b"", "prefix": -1, "bytes": 0}

    def bad(number: int, why: str) -> None:
        report.note(number, why)
        if on_bad_line is not None:
            on_bad_line(number, why)

    with open(work / "ranges.txt", "wb") as out:
        for first_line, chunk in _chunks(source, chunk_bytes):
            _import_chunk(chunk, first_line, report, index, state, out, bad)
            if on_progress is not None:
                on_progress(len(chunk))
    # prefixes after the last entry (and any never seen) point at the end
    for p in range(state["prefix"] + 1, PREFIXES + 1):
        index[p] = state["bytes"]
    with open(work / "index.bin", "wb") as f:
        index.tofile(f)
    report.seconds = time.perf_counter() - started
    meta = {
        "format": FORMAT,
        "entries": report.entries,
        "lines": report.lines,
        "bad_lines": report.bad_total,
        "imported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "source": str(source) if isinstance(source, (str, Path)) else "<lines>",
    }
    (work / "corpus.json").write_text(json.dumps(meta, indent=1))
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    work.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
    return report


def _chunks(source: Iterable[str | bytes] | str | Path, size: int) -> Iterable[tuple[int, bytes]]:
    """``(number of the chunk's first line, whole lines)``."""
    line = 1
    if isinstance(source, (str, Path)):
        with open(source, "rb") as f:
            rest = b""
            while True:
                block = f.read(size)
                if not block:
                    break
                block = rest + block
                cut = block.rfind(b"\n") + 1
                if cut == 0:  # one line longer than the chunk: keep reading it
                    rest = block
                    continue
                chunk, rest = block[:cut], block[cut:]
                yield line, chunk
                line += chunk.count(b"\n")
            if rest:
                yield line, rest + b"\n"
        return
    buf: list[bytes] = []
    n = 0
    for item in source:
        data = item.encode() if isinstance(item, str) else item
        buf.append(data.rstrip(b"\r\n") + b"\n")
        n += 1
        if n >= 100_000:
            yield line, b"".join(buf)
            line += n
            buf, n = [], 0
    if buf:
        yield line, b"".join(buf)


def _import_chunk(
    chunk: bytes,
    first_line: int,
    report: ImportReport,
    index: Any,
    state: dict[str, Any],
    out: Any,
    bad: Callable[[int, str], None],
) -> None:
    lines = chunk.count(b"\n")
    report.lines += lines
    matches: list[tuple[bytes, bytes, int]]
    found = _LINE.findall(chunk)
    if len(found) != lines:  # some line is malformed: find which, line by line
        matches = []
        for i, raw in enumerate(chunk.split(b"\n")[:lines]):
            m = _LINE.match(raw)
            if m is None:
                if raw.strip():
                    bad(first_line + i, _why(raw))
                continue
            matches.append((m.group(1), m.group(2), first_line + i))
    else:
        matches = [(h, c, 0) for h, c in found]
    hashes = [m[0].upper() for m in matches]
    # order: each hash after the previous one (the file must be sorted); skip those that are not
    keep = []
    last = state["last"]
    for k, h in enumerate(hashes):
        if h <= last:
            number = matches[k][2] or _line_of(chunk, first_line, h)
            bad(number, "out of order or repeated (the file must be sorted by hash)")
            continue
        keep.append(k)
        last = h
    state["last"] = last
    if len(keep) != len(hashes):
        hashes = [hashes[k] for k in keep]
        matches = [matches[k] for k in keep]
    if not hashes:
        return
    # the answer lines, written once here so that a lookup only reads them
    answer = [b"%s:%d\r\n" % (h[5:], int(m[1])) for h, m in zip(hashes, matches, strict=True)]
    offsets = list(accumulate(map(len, answer), initial=state["bytes"]))
    # prefix offsets: every prefix from the last one seen up to this chunk's last
    p_last = int(hashes[-1][:5], 16)
    p = state["prefix"] + 1
    lo = 0
    while p <= p_last:
        key = b"%05X" % p
        lo = bisect_left(hashes, key, lo)
        index[p] = offsets[lo]
        p += 1
    state["prefix"] = p_last
    out.write(b"".join(answer))
    state["bytes"] = offsets[-1]
    report.entries += len(hashes)


def _line_of(chunk: bytes, first_line: int, hash_hex: bytes) -> int:
    at = chunk.upper().find(hash_hex)
    return first_line + chunk.count(b"\n", 0, at) if at >= 0 else first_line


def _why(raw: bytes) -> str:
    text = raw.rstrip(b"\r").decode("utf-8", "replace")
    head, sep, count = text.partition(":")
    if not sep:
        return f"expected HASH:COUNT, got {text[:60]!r}"
    if len(head) != 40 or not all(c in "0123456789abcdefABCDEF" for c in head):
        return f"hash: expected 40 hexadecimal characters, got {head[:60]!r}"
    return f"count: expected a whole number, got {count[:30]!r}"
