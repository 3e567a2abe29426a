"""Commands of the account-takeover domain: offline IP data (``fraudwatch ip-data``) and the
breached-password corpus (``fraudwatch passwords``)."""

from __future__ import annotations

import sys
import time

import click

from fraudwatch.cli.config import config_option, settings

__all__ = ["commands"]


@click.group("ip-data")
def ip_data() -> None:
    """Offline IP context (country and autonomous system of an address)."""


@ip_data.command("import")
@click.argument("source", type=click.Path(dir_okay=False))
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="the .fwip file to write")
def import_cmd(source: str, out: str) -> None:
    """Convert a file you downloaded into the file the service reads.

    SOURCE is iptoasn.com's ip2asn-v4.tsv / ip2asn-combined.tsv (.gz too; AS numbers,
    countries and names) or a geoip2fast .dat.gz (countries and AS names). Point the service
    at the result with FRAUDWATCH_ATO__IP_DATA=OUT. Lines that cannot be read are reported
    with their number; the rest is imported."""
    from fraudwatch.ato.ipdata import IpDataError, import_file

    started = time.perf_counter()
    try:
        data = import_file(source)
    except IpDataError as exc:
        raise click.ClickException(str(exc)) from None
    for problem in data.problems[:20]:
        click.echo(f"{source}: {problem}", err=True)
    if len(data.problems) > 20:
        click.echo(f"{source}: ... and {len(data.problems) - 20} more lines skipped", err=True)
    data.save(out)
    click.echo(f"{out}: {data!r} in {time.perf_counter() - started:.1f} s")


@ip_data.command("lookup")
@click.argument("ips", nargs=-1, required=True)
@click.option("--data", "path", type=click.Path(exists=True, dir_okay=False), help="a .fwip file (default: bundled)")
def lookup_cmd(ips: tuple[str, ...], path: str | None) -> None:
    """Print the country and network of each IP."""
    import ipaddress

    from fraudwatch.ato.ipdata import IpData

    data = IpData.load(path) if path else IpData.bundled()
    failed = False
    for ip in ips:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            click.echo(f"{ip}: not an IPv4 or IPv6 address", err=True)
            failed = True
            continue
        info = data.lookup(str(address))
        if info is None:
            click.echo(f"{ip}\t-\t-\t-")
        else:
            click.echo(f"{ip}\t{info.country or '-'}\t{info.as_key or '-'}\t{info.as_org or '-'}")
    click.echo(f"# data: {data.version}", err=True)
    if failed:
        sys.exit(1)


@click.group("passwords")
def passwords() -> None:
    """Breached-password corpus for GET /v1/passwords/range/{prefix}."""


@passwords.command("import")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False),
    help="corpus folder (default: <data_dir>/passwords of the settings)",
)
@config_option
def passwords_import(source: str, out: str | None, config) -> None:
    """Import a sorted HASH:COUNT file (the Pwned Passwords SHA-1 download).

    Streams the file in constant memory with a progress bar; a malformed or out-of-order
    line is reported with its number and skipped, and the import goes on. The new corpus
    replaces the old one at the end; a running service picks it up at its next start."""
    import os

    from fraudwatch.ato.passwords import import_corpus
    from fraudwatch.progress import progress_bar

    if out is None:
        tree = settings(config)
        out = str(tree.ato.passwords or tree.data_dir / "passwords")
    bad_shown = 0

    def on_bad(number: int, why: str) -> None:
        nonlocal bad_shown
        bad_shown += 1
        if bad_shown <= 100:
            click.echo(f"\n{source}:{number}: {why} (skipped)", err=True)

    with progress_bar(total=os.path.getsize(source), unit="B", desc="importing") as bar:
        report = import_corpus(source, out, on_progress=bar.update, on_bad_line=on_bad)
    if report.bad_total > 100:
        click.echo(f"... {report.bad_total - 100} more bad lines skipped", err=True)
    rate = report.lines / report.seconds if report.seconds else 0
    click.echo(
        f"{out}: {report.entries:,} hashes from {report.lines:,} lines in {report.seconds:.1f} s "
        f"({rate:,.0f} lines/s), {report.bad_total} bad lines skipped"
    )


@passwords.command("check")
@click.option("--corpus", "folder", required=True, type=click.Path(exists=True, file_okay=False))
def passwords_check(folder: str) -> None:
    """Read passwords from standard input, one a line, and print how often each is in the corpus."""
    import hashlib

    from fraudwatch.ato.passwords import PasswordCorpus

    corpus = PasswordCorpus(folder)
    for line in sys.stdin:
        password = line.rstrip("\n")
        sha = hashlib.sha1(password.encode()).hexdigest().upper()  # noqa: S324 - the protocol's hash
        click.echo(f"{sha[:5]}...\t{corpus.count(sha)}")


commands = [ip_data, passwords]
