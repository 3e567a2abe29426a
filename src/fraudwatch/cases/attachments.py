"""Attachments of a case file, stored by content hash beside the cases database
(``attachments/<first 2 hex>/<sha256>``): the same file attached twice, or to two cases, is
kept once. Each is at most ``cases.attachment_max_bytes`` (413 beyond, naming the limit).

Upload the raw bytes: ``POST /v1/cases/{id}/attachments?name=receipt.pdf`` with the file's
``Content-Type``.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from fraudwatch.api import Analyst
from fraudwatch.cases import store
from fraudwatch.cases.views import Bench, CaseId, load, work
from fraudwatch.errors import FraudwatchError, NotFound, ValidationFailed

router = APIRouter(prefix="/v1/cases", tags=["cases"])


def BODY_LIMIT(settings) -> int:  # noqa: N802 - read by create_app like the other routers' BODY_LIMIT
    """The router's own body limit: above the attachment limit, so that the route answers
    with its own message."""
    return 2 * settings.cases.attachment_max_bytes


class TooLarge(FraudwatchError):
    status_code = 413

    def __init__(self, message: str):
        super().__init__(message)
        self.errors = [{"loc": "body", "msg": message}]


def blob_path(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256


def attachments_root(bench) -> Path:
    return Path(bench.db.path).resolve().parent / "attachments"


def save_blob(root: Path, data: bytes) -> str:
    """Write ``data`` under its SHA-256 (atomically; kept once); returns the hash."""
    digest = hashlib.sha256(data).hexdigest()
    path = blob_path(root, digest)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    return digest


@router.post(
    "/{case_id}/attachments",
    status_code=201,
    summary="Attach a file (raw body, its Content-Type; stored by content hash)",
    responses={413: {"description": "over cases.attachment_max_bytes"}},
)
async def upload(
    case_id: CaseId,
    request: Request,
    bench: Bench,
    who: Analyst,
    name: Annotated[str, Query(min_length=1, max_length=200, description="file name shown in the case file")],
) -> dict[str, Any]:
    limit = bench.settings.attachment_max_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"the attachment is {int(declared)} bytes; the limit is {limit} (cases.attachment_max_bytes)")
    check_name(name)
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise TooLarge(f"the attachment is over {limit} bytes (cases.attachment_max_bytes)")
    content_type = request.headers.get("content-type", "application/octet-stream")
    return await run_in_threadpool(attach, bench, who, case_id, name=name, content_type=content_type, data=bytes(data))


def check_name(name: str) -> None:
    if re.search(r"[\x00-\x1f/\\]", name):
        raise ValidationFailed("name: control characters or slashes", [{"loc": "name", "msg": "a plain file name"}])


def attach(bench, who, case_id: str, *, name: str, content_type: str, data: bytes) -> dict[str, Any]:
    """Store ``data`` (by content hash) and add it to the case file, with its log and audit
    lines; the upload route and the console's form both come here."""
    check_name(name)
    limit = bench.settings.attachment_max_bytes
    if len(data) > limit:
        raise TooLarge(f"the attachment is {len(data)} bytes; the limit is {limit} (cases.attachment_max_bytes)")
    if not data:
        raise ValidationFailed("body: empty", [{"loc": "body", "msg": "an attachment needs content"}])
    content_type = content_type[:128]
    case = load(bench, case_id)  # 404 before anything is written
    digest = save_blob(attachments_root(bench), data)

    def record(conn, i, now):
        row = {
            "case_id": i,
            "sha256": digest,
            "name": name,
            "content_type": content_type,
            "size": len(data),
            "at": now,
            "actor": who.name,
        }
        if store.add_attachment(conn, row):
            store.add_log(
                conn, i, at=now, actor=who.name, type="attachment", data={k: row[k] for k in row if k != "case_id"}
            )
        return {k: v for k, v in row.items() if k != "case_id"}

    return work(bench, who, "attachment", case.id, record)


@router.get("/{case_id}/attachments/{sha256}", response_class=Response, summary="Download an attachment")
def download(case_id: CaseId, sha256: str, bench: Bench, who: Analyst) -> Response:
    case = load(bench, case_id)
    row = store.attachment(bench.read(), case.id, sha256)
    if row is None:
        raise NotFound(f"no attachment {sha256!r} in case {case.id}")
    data = blob_path(attachments_root(bench), sha256).read_bytes()
    return Response(
        data,
        media_type=row["content_type"],
        headers={
            "Content-Disposition": f'attachment; filename="{row["name"].replace(chr(34), "_")}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


def purge_unreferenced(conn, root: Path) -> int:
    """Remove stored files no attachment refers to any more (after a purge); returns how many."""
    removed = 0
    if not root.exists():
        return 0
    for path in root.glob("*/*"):
        if path.is_file() and len(path.name) == 64 and not store.blob_in_use(conn, path.name):
            path.unlink()
            removed += 1
    return removed
