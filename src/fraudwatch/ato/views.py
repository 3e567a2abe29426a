"""HTTP routes of the account-takeover domain: the breached-password range API.

``GET /v1/passwords/range/{prefix}`` answers like the Pwned Passwords range API: one
``SUFFIX:COUNT`` line per corpus hash with that SHA-1 prefix, CRLF-separated, followed by
zero-count lines up to 1,000 in all (``ato.password_pad_to``). It takes an API key with the
``ingest`` scope (the integrator's login code calls it) and answers 503 until a corpus was
imported (``fraudwatch passwords import``).
"""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from fraudwatch.ato.passwords import CorpusError, PasswordCorpus, check_prefix
from fraudwatch.errors import FraudwatchError

router = APIRouter(prefix="/v1/passwords", tags=["passwords"])
_bearer = HTTPBearer(auto_error=False, description="an API key with the ingest scope")


def _ingest(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> object:
    """The caller's principal: 401 without a valid key, 403 without the ``ingest`` scope."""
    return request.app.state.auth.principal(credentials.credentials if credentials else None, "ingest")


Ingest = Annotated[object, Depends(_ingest)]


class CorpusMissing(FraudwatchError):
    status_code = 503


_lock = threading.Lock()


def _corpus(request: Request) -> PasswordCorpus:
    state = request.app.state
    corpus = getattr(state, "password_corpus", None)
    if corpus is not None:
        return corpus
    folder = state.settings.ato.passwords
    if folder is None:
        folder = state.settings.data_dir / "passwords"
    with _lock:
        if getattr(state, "password_corpus", None) is None:
            try:
                state.password_corpus = PasswordCorpus(folder)
            except CorpusError as exc:
                raise CorpusMissing(f"no breached-password corpus: {exc}") from None
    return state.password_corpus


@router.get(
    "/range/{prefix}",
    summary="Breached passwords: SHA-1 suffixes and counts for a 5-character prefix (Pwned Passwords range API)",
    response_class=PlainTextResponse,
    responses={
        200: {"content": {"text/plain": {"example": "0018A45C4D1DEF81644B54AB7F969B88D65:10\r\n..."}}},
        422: {"description": "the prefix is not 5 hexadecimal characters"},
        503: {"description": "no corpus imported"},
    },
)
def password_range(
    request: Request, prefix: Annotated[str, Path(min_length=1, max_length=64)], who: Ingest
) -> PlainTextResponse:
    # a plain function: FastAPI runs it in its thread pool, so a read of a corpus page that
    # is not in memory yet never holds up the event loop
    prefix = check_prefix(prefix)
    corpus = _corpus(request)
    answer = corpus.range_answer(prefix, pad_to=request.app.state.settings.ato.password_pad_to)
    return PlainTextResponse(answer, headers={"Cache-Control": "public, max-age=86400"})
