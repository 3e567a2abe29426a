"""Breached-password corpus: streaming import with bad lines, range lookups, padding."""

import hashlib
import random
import subprocess
import sys
from pathlib import Path

import pytest

from fraudwatch.ato.passwords import CorpusError, PasswordCorpus, check_prefix, import_corpus

FRAUDWATCH = str(Path(sys.executable).with_name("fraudwatch"))


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest().upper()


def corpus_lines(n: int, seed: int = 1, passwords=("password", "123456", "qwerty")) -> list[str]:
    rng = random.Random(seed)
    hashes = {f"{rng.getrandbits(160):040X}": rng.randrange(1, 10_000) for _ in range(n)}
    for i, p in enumerate(passwords):
        hashes[sha1(p)] = 1_000_000 + i
    return [f"{h}:{c}" for h, c in sorted(hashes.items())]


def test_import_then_lookups_find_every_hash(tmp_path):
    lines = corpus_lines(3000)
    report = import_corpus(lines, tmp_path / "c", chunk_bytes=4096)
    assert (report.entries, report.bad_total) == (3003, 0)
    corpus = PasswordCorpus(tmp_path / "c")
    assert corpus.count(sha1("password")) == 1_000_000
    assert corpus.count(sha1("a password nobody uses 9f8e7d")) == 0
    for line in random.Random(2).sample(lines, 200):
        h, c = line.split(":")
        assert corpus.count(h) == int(c)
        assert (h[5:], int(c)) in corpus.lookup(h[:5].lower())


def test_a_file_with_bad_lines_is_imported_and_each_bad_line_reported_by_number(tmp_path):
    lines = corpus_lines(50)
    lines.insert(10, "NOT-A-HASH:12")
    lines.insert(20, lines[19].split(":")[0] + ":many")
    lines.insert(30, lines[5])  # out of order
    lines.insert(40, "")
    source = tmp_path / "pwned.txt"
    source.write_text("\r\n".join(lines) + "\r\n")
    seen = []
    report = import_corpus(source, tmp_path / "c", on_bad_line=lambda n, why: seen.append((n, why)))
    assert [n for n, _ in seen] == [11, 21, 31]
    assert "hash: expected 40 hexadecimal characters" in seen[0][1]
    assert "count: expected a whole number" in seen[1][1]
    assert "out of order" in seen[2][1]
    assert report.entries == 53 and report.bad_total == 3
    assert PasswordCorpus(tmp_path / "c").count(sha1("qwerty")) == 1_000_002


def test_range_answers_are_the_real_lines_in_order_then_padding_to_a_fixed_size(tmp_path):
    lines = corpus_lines(20_000)
    import_corpus(lines, tmp_path / "c", chunk_bytes=50_000)
    corpus = PasswordCorpus(tmp_path / "c")
    prefix = sha1("password")[:5]
    real = [f"{line[5:40]}:{line[41:]}" for line in lines if line.startswith(prefix)]
    answers = [corpus.range_answer(prefix, pad_to=1000).decode().split("\r\n") for _ in range(5)]
    for answer in answers:
        assert len(answer) == 1000 and answer[: len(real)] == real
        assert f"{sha1('password')[5:]}:1000000" in answer
        padding = answer[len(real) :]
        assert all(len(line) == 37 and line.endswith(":0") and int(line[:35], 16) >= 0 for line in padding)
    assert len({tuple(a[len(real) :]) for a in answers}) > 1  # drawn afresh for each answer
    empty = corpus.range_answer("00000", pad_to=1000).decode().split("\r\n")
    assert len(empty) == 1000 and all(line.endswith(":0") for line in empty)
    # every prefix of the corpus answers exactly its own lines, across chunk boundaries
    by_prefix: dict[str, list[tuple[str, int]]] = {}
    for line in lines:
        by_prefix.setdefault(line[:5], []).append((line[5:40], int(line[41:])))
    for p in random.Random(3).sample(sorted(by_prefix), 300) + ["00000", "FFFFF"]:
        assert corpus.lookup(p) == by_prefix.get(p, [])


@pytest.mark.parametrize("prefix", ["ABCD", "ABCDEF", "XYZ12", "", "12 45", "../.."])
def test_a_malformed_prefix_is_refused_clearly(prefix):
    with pytest.raises(CorpusError, match="expected the first 5 hexadecimal characters"):
        check_prefix(prefix)


def test_a_missing_or_damaged_corpus_is_refused_clearly(tmp_path):
    with pytest.raises(CorpusError, match="not a password corpus"):
        PasswordCorpus(tmp_path / "nothing")
    import_corpus(corpus_lines(10), tmp_path / "c")
    (tmp_path / "c" / "index.bin").write_bytes(b"\0" * 16)
    with pytest.raises(CorpusError, match="damaged"):
        PasswordCorpus(tmp_path / "c")
    (tmp_path / "c" / "corpus.json").write_text('{"entries": 10}')  # written by an older version
    with pytest.raises(CorpusError, match="import it again"):
        PasswordCorpus(tmp_path / "c")


def test_a_reimport_replaces_the_corpus_whole(tmp_path):
    import_corpus(corpus_lines(10, seed=1, passwords=("password",)), tmp_path / "c")
    import_corpus(corpus_lines(10, seed=2, passwords=("qwerty",)), tmp_path / "c")
    corpus = PasswordCorpus(tmp_path / "c")
    assert corpus.count(sha1("password")) == 0 and corpus.count(sha1("qwerty")) == 1_000_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c"]


def test_the_import_command_reports_bad_lines_without_a_bar_in_a_pipe(tmp_path):
    lines = corpus_lines(200)
    lines.insert(3, "garbage")
    source = tmp_path / "pwned.txt"
    source.write_text("\n".join(lines) + "\n")
    done = subprocess.run(
        [FRAUDWATCH, "passwords", "import", str(source), "--out", str(tmp_path / "c")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"{source}:4: expected HASH:COUNT, got 'garbage' (skipped)" in done.stderr
    assert "importing" not in done.stderr  # the progress bar is for terminals, not logs
    assert "203 hashes from 204 lines" in done.stdout and "1 bad lines skipped" in done.stdout
    check = subprocess.run(
        [FRAUDWATCH, "passwords", "check", "--corpus", str(tmp_path / "c")],
        input="password\nnot in there at all\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    first, second = check.stdout.split("\n")[:2]
    assert first == "5BAA6...\t1000000" and second.endswith("...\t0")
