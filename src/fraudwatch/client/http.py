"""The HTTP client, sync (:class:`Client`) and async (:class:`AsyncClient`), one set of
operations.

Each operation is written once as a flow: a generator that yields the requests to send (and
the pauses between retries) and returns the result. ``Client`` runs flows with
``httpx.Client`` and ``time.sleep``; ``AsyncClient`` with ``httpx.AsyncClient`` and
``asyncio.sleep``. So retries, deadlines and fallbacks behave the same in both.

Retries: a connection error, a timeout or a 5xx (and 429) is retried with exponential
backoff, half fixed and half random (``backoff`` doubled per attempt up to ``max_backoff``),
with the same body and so the same event id: the service decides an event once and answers
a resend with the original decision. A 4xx is not retried: the request itself is wrong.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Generator, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import orjson

from fraudwatch.client.events import Event, EventInvalid, validate
from fraudwatch.client.results import BatchResult, ClientError, Decision, Outcome, Unavailable

__all__ = ["AsyncClient", "Client", "DEFAULT_DEADLINE"]

DEFAULT_DEADLINE = 0.3  # seconds: a fraud check inside a card authorization or checkout
DEFAULT_TIMEOUT = 10.0  # seconds per request off the payment path
MAX_BATCH_BYTES = 4_000_000  # half the service's default max_batch_bytes
_JSON = {"Content-Type": "application/json", "Accept": "application/json"}


@dataclass(frozen=True, slots=True)
class _Send:
    method: str
    url: str
    headers: dict[str, str]
    content: bytes | None = None
    params: dict[str, Any] | None = None
    timeout: float = DEFAULT_TIMEOUT


@dataclass(frozen=True, slots=True)
class _Sleep:
    seconds: float


Flow = Generator[_Send | _Sleep, Any, Any]


def _errors(response: httpx.Response) -> list[dict[str, str]]:
    try:
        body = response.json()
    except ValueError:
        return [{"loc": "", "msg": response.text[:500] or response.reason_phrase}]
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list):
        return errors
    detail = body.get("detail") if isinstance(body, dict) else None
    return [{"loc": "", "msg": str(detail if detail is not None else body)}]


def _retryable(status: int) -> bool:
    return status >= 500 or status == 429


def _checked(event: Event | Mapping[str, Any]) -> Event:
    return event if isinstance(event, Event) else validate(event)


class _Operations:
    """The operations as flows; the subclasses run them."""

    def __init__(
        self,
        url: str,
        key: str | None = None,
        *,
        deadline: float = DEFAULT_DEADLINE,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = 3,
        backoff: float = 0.05,
        max_backoff: float = 2.0,
        fallback_outcome: Outcome = "allow",
        batch_size: int = 500,
    ):
        if fallback_outcome not in ("allow", "review", "challenge", "block"):
            raise ValueError(f"fallback_outcome must be allow, review, challenge or block, not {fallback_outcome!r}")
        self.url = url.rstrip("/")
        self.deadline = deadline
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.fallback_outcome: Outcome = fallback_outcome
        self.batch_size = batch_size
        self._auth = {"Authorization": f"Bearer {key}"} if key else {}

    def _pause(self, attempt: int) -> float:
        delay = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return delay / 2 + random.uniform(0, delay / 2)

    def _fallback(self, event: Event, why: str) -> Decision:
        return Decision(event_id=event.id, outcome=self.fallback_outcome, fallback=why)

    # ------------------------------------------------------------------ events
    def _decide(self, event: Event | Mapping[str, Any], deadline: float | None) -> Flow:
        checked = _checked(event)
        body = orjson.dumps(checked.data)
        limit = time.monotonic() + (self.deadline if deadline is None else deadline)
        attempt = 0
        while True:
            remaining = limit - time.monotonic()
            if remaining <= 0:
                return self._fallback(checked, "deadline")
            try:
                response = yield _Send("POST", "/v1/events", {**_JSON, **self._auth}, body, timeout=remaining)
            except httpx.TimeoutException:
                return self._fallback(checked, "deadline")
            except httpx.TransportError:
                why = "unavailable"
            else:
                if response.status_code == 200:
                    resent = response.headers.get("fraudwatch-resent") == "true"
                    return Decision.from_json(response.json(), resent=resent)
                if response.status_code == 422:
                    raise EventInvalid(_errors(response))
                if not _retryable(response.status_code):
                    raise ClientError(response.status_code, _errors(response))
                why = "unavailable"
            attempt += 1
            if attempt > self.retries:
                return self._fallback(checked, why)
            pause = min(self._pause(attempt), limit - time.monotonic())
            if pause > 0:
                yield _Sleep(pause)

    def _send_batch(self, events: Iterable[Event | Mapping[str, Any]], chunk_size: int | None) -> Flow:
        size = chunk_size or self.batch_size
        results: list[BatchResult] = []
        chunk: list[tuple[int, Event, bytes]] = []
        chunk_bytes = 0
        for index, event in enumerate(events):
            try:
                checked = _checked(event)
            except EventInvalid as exc:
                event_id = event.get("id") if isinstance(event, Mapping) else None
                results.append(BatchResult(index, event_id, 422, errors=exc.errors))
                continue
            encoded = orjson.dumps(checked.data)
            if chunk and (len(chunk) >= size or chunk_bytes + len(encoded) > MAX_BATCH_BYTES):
                results += yield from self._send_chunk(chunk)
                chunk, chunk_bytes = [], 0
            chunk.append((index, checked, encoded))
            chunk_bytes += len(encoded) + 1
        if chunk:
            results += yield from self._send_chunk(chunk)
        results.sort(key=lambda r: r.index)
        return results

    def _send_chunk(self, chunk: list[tuple[int, Event, bytes]]) -> Flow:
        """One ``POST /v1/events/batch``; the events answered 5xx (or the whole request, on a
        connection error or 5xx) are sent again, same ids, until ``retries`` run out."""
        done: dict[int, BatchResult] = {}
        todo = chunk
        attempt = 0
        while True:
            body = b'{"events":[' + b",".join(e for _, _, e in todo) + b"]}"
            failure: str
            try:
                response = yield _Send("POST", "/v1/events/batch", {**_JSON, **self._auth}, body, timeout=self.timeout)
            except httpx.TransportError as exc:
                failure = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code == 200:
                    again = []
                    for item, (index, event, encoded) in zip(response.json()["results"], todo, strict=True):
                        status = item["status"]
                        if _retryable(status):
                            again.append((index, event, encoded))
                            failure = f"{status}: {item.get('errors')}"
                            continue
                        decision = item.get("decision")
                        done[index] = BatchResult(
                            index,
                            event.id,
                            status,
                            Decision.from_json(decision, resent=bool(item.get("resent"))) if decision else None,
                            item.get("errors") or [],
                        )
                    todo = again
                    if not todo:
                        return [done[i] for i, _, _ in chunk]
                elif _retryable(response.status_code):
                    failure = f"{response.status_code}: {_errors(response)}"
                else:
                    raise ClientError(response.status_code, _errors(response))
            attempt += 1
            if attempt > self.retries:
                raise Unavailable(f"{len(todo)} events not decided after {self.retries} retries ({failure})")
            yield _Sleep(self._pause(attempt))

    def _get_json(self, path: str, params: dict[str, Any] | None = None, *, missing_ok: bool = False) -> Flow:
        response = yield from self._request("GET", path, params=params)
        if missing_ok and response.status_code == 404:
            return None
        return self._json_or_raise(response)

    def _request(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: dict[str, Any] | None = None,
        *,
        auth: bool = True,
        once: bool = False,
    ) -> Flow:
        """A request off the payment path: retried on connection errors and 5xx, then
        :class:`Unavailable`. ``path`` may be a whole URL (an answer link). ``once``: a
        request that must not be applied twice (an answer) is sent again only if it never
        reached the service; after a timeout it may have been applied, so that is
        :class:`Unavailable` at once."""
        content = None if body is None else orjson.dumps(body)
        headers = {**_JSON, **self._auth} if auth else dict(_JSON)
        attempt = 0
        while True:
            try:
                response = yield _Send(method, path, headers, content, params, self.timeout)
            except httpx.TransportError as exc:
                failure = f"{type(exc).__name__}: {exc}"
                if once and not isinstance(exc, httpx.ConnectError):
                    raise Unavailable(f"{method} {path}: {failure}; it may have been applied") from None
            else:
                if not _retryable(response.status_code):
                    return response
                failure = f"{response.status_code}: {_errors(response)}"
            attempt += 1
            if attempt > self.retries:
                raise Unavailable(f"{method} {path}: {failure}")
            yield _Sleep(self._pause(attempt))

    @staticmethod
    def _json_or_raise(response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise ClientError(response.status_code, _errors(response))
        return response.json() if response.content else None

    def _ready(self) -> Flow:
        try:
            response = yield _Send("GET", "/readyz", {}, timeout=min(self.timeout, 2.0))
        except httpx.TransportError:
            return False
        return response.status_code == 200

    def _decision(self, event_id: str) -> Flow:
        data = yield from self._get_json(f"/v1/decisions/{quote(event_id, safe='')}", missing_ok=True)
        return None if data is None else Decision.from_json(data)

    def _event(self, event_id: str) -> Flow:
        return (yield from self._get_json(f"/v1/events/{quote(event_id, safe='')}", missing_ok=True))

    # ------------------------------------------------------------------ answers and alerts
    def _answer_url(self, link: str) -> str:
        return link if "://" in link else f"{self.url}/v1/answers/{quote(link, safe='')}"

    def _answer(self, link: str, confirm: bool) -> Flow:
        # answer links are public: the API key never goes with them (they may point elsewhere)
        response = yield from self._request(
            "POST" if confirm else "GET", self._answer_url(link), auth=False, once=confirm
        )
        return self._json_or_raise(response)

    def _subscribe(self, subject: str, email: str | None, usage_alerts: bool, language: str | None) -> Flow:
        body = {"email": email, "usage_alerts": usage_alerts, "language": language}
        path = f"/v1/alerts/subscriptions/{quote(subject, safe='')}"
        return self._json_or_raise(
            (yield from self._request("PUT", path, {k: v for k, v in body.items() if v is not None}))
        )

    def _unsubscribe(self, subject: str) -> Flow:
        response = yield from self._request("DELETE", f"/v1/alerts/subscriptions/{quote(subject, safe='')}")
        if response.status_code != 404:
            self._json_or_raise(response)

    def _list_change(self, name: str, values: list[str], change: str) -> Flow:
        path = f"/v1/lists/{quote(name, safe='')}/{change}"
        return self._json_or_raise((yield from self._request("POST", path, {"values": list(values)})))


class Client(_Operations):
    """The fraudwatch service from Python, synchronously.

    ``url`` is the service's base URL and ``key`` an API key (``ingest`` to send events,
    ``read`` to read decisions, ``admin`` for lists and alert subscriptions). ``deadline`` is
    the most ``decide`` waits, retries included, before answering with the fallback
    decision; ``timeout`` bounds each request of the other calls. Use it as a context manager
    or call :meth:`close`; one instance is safe to share between threads and keeps its
    connections open."""

    def __init__(
        self, url: str, key: str | None = None, *, transport: httpx.BaseTransport | None = None, **options: Any
    ):
        super().__init__(url, key, **options)
        self._http = httpx.Client(base_url=self.url, transport=transport)

    def _run(self, flow: Flow) -> Any:
        reply: Any = None
        error: BaseException | None = None
        while True:
            try:
                step = flow.throw(error) if error is not None else flow.send(reply)
            except StopIteration as stop:
                return stop.value
            reply, error = None, None
            if isinstance(step, _Sleep):
                time.sleep(step.seconds)
                continue
            try:
                reply = self._http.request(
                    step.method,
                    step.url,
                    headers=step.headers,
                    content=step.content,
                    params=step.params,
                    timeout=step.timeout,
                )
            except httpx.TransportError as exc:
                error = exc

    def decide(self, event: Event | Mapping[str, Any], *, deadline: float | None = None) -> Decision:
        """Send one event and return its decision, or the fallback decision once ``deadline``
        (default: the client's) has passed or the service is unavailable. Raises
        :class:`EventInvalid` before sending an invalid event, :class:`ClientError` on a
        refused request (bad key, id reused with another body)."""
        return self._run(self._decide(event, deadline))

    def send_batch(
        self, events: Iterable[Event | Mapping[str, Any]], *, chunk_size: int | None = None
    ) -> list[BatchResult]:
        """Send many events (history, backfills) in chunks of ``chunk_size`` (default
        ``batch_size``, 500) through ``POST /v1/events/batch``; one result per event, in input
        order. An invalid event is not sent: its result has status 422 and the service's
        errors. Raises :class:`Unavailable` when a chunk cannot be delivered; sending the same
        events again is safe (already decided ones come back with ``resent``)."""
        return self._run(self._send_batch(events, chunk_size))

    def ready(self, wait: float = 0.0) -> bool:
        """True once the service accepts events (``/readyz``); waits up to ``wait`` seconds."""
        deadline = time.monotonic() + wait
        while not self._run(self._ready()):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.2)
        return True

    def decision(self, event_id: str) -> Decision | None:
        """The decision the service gave for an event id, or None if it has none."""
        return self._run(self._decision(event_id))

    def event(self, event_id: str) -> dict[str, Any] | None:
        """The logged event (card numbers tokenized) with its decision and log position."""
        return self._run(self._event(event_id))

    def answer(self, link: str) -> dict[str, Any]:
        """Apply a cardholder's answer: ``link`` is the yes or no URL of a risk alert (or its
        token). Returns the service's result (the label events, the case a "no" queued);
        raises :class:`ClientError` 403 (not valid), 409 (already answered), 410 (expired),
        and :class:`Unavailable` after a timeout without sending it again (the answer may
        have been applied: :meth:`check_answer` tells)."""
        return self._run(self._answer(link, confirm=True))

    def check_answer(self, link: str) -> dict[str, Any]:
        """What an answer link would do, without applying it."""
        return self._run(self._answer(link, confirm=False))

    def subscribe(
        self, subject: str, *, email: str | None = None, usage_alerts: bool = False, language: str | None = None
    ) -> dict[str, Any]:
        """Alert subscription of a card token or account: e-mail, usage alerts for every
        payment attempt, language of the messages (admin key)."""
        return self._run(self._subscribe(subject, email, usage_alerts, language))

    def subscription(self, subject: str) -> dict[str, Any] | None:
        return self._run(self._get_json(f"/v1/alerts/subscriptions/{quote(subject, safe='')}", missing_ok=True))

    def unsubscribe(self, subject: str) -> None:
        self._run(self._unsubscribe(subject))

    def list_add(self, name: str, values: list[str]) -> dict[str, Any]:
        """Add values to a named list (``@blocked_cards`` in rules); live at once (admin key)."""
        return self._run(self._list_change(name, values, "add"))

    def list_remove(self, name: str, values: list[str]) -> dict[str, Any]:
        return self._run(self._list_change(name, values, "remove"))

    def case(self, case_id: str) -> dict[str, Any] | None:
        """A case (the one a cardholder's "no" queued, say) by its id or its FW-XXXX-XXXX
        reference, with its episode and log; None if unknown (analyst or admin key)."""
        return self._run(self._get_json(f"/v1/cases/{quote(case_id, safe='')}", missing_ok=True))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient(_Operations):
    """:class:`Client` for asyncio: the same methods, awaited. The deadline of ``decide``
    bounds the whole exchange (``asyncio.timeout``)."""

    def __init__(
        self, url: str, key: str | None = None, *, transport: httpx.AsyncBaseTransport | None = None, **options: Any
    ):
        super().__init__(url, key, **options)
        self._http = httpx.AsyncClient(base_url=self.url, transport=transport)

    async def _run(self, flow: Flow) -> Any:
        reply: Any = None
        error: BaseException | None = None
        while True:
            try:
                step = flow.throw(error) if error is not None else flow.send(reply)
            except StopIteration as stop:
                return stop.value
            reply, error = None, None
            if isinstance(step, _Sleep):
                await asyncio.sleep(step.seconds)
                continue
            try:
                async with asyncio.timeout(step.timeout):
                    reply = await self._http.request(
                        step.method,
                        step.url,
                        headers=step.headers,
                        content=step.content,
                        params=step.params,
                        timeout=step.timeout,
                    )
            except TimeoutError:
                error = httpx.TimeoutException(f"no answer within {step.timeout:.3f} s")
            except httpx.TransportError as exc:
                error = exc

    async def decide(self, event: Event | Mapping[str, Any], *, deadline: float | None = None) -> Decision:
        return await self._run(self._decide(event, deadline))

    async def send_batch(
        self, events: Iterable[Event | Mapping[str, Any]], *, chunk_size: int | None = None
    ) -> list[BatchResult]:
        return await self._run(self._send_batch(events, chunk_size))

    async def ready(self, wait: float = 0.0) -> bool:
        deadline = time.monotonic() + wait
        while not await self._run(self._ready()):
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.2)
        return True

    async def decision(self, event_id: str) -> Decision | None:
        return await self._run(self._decision(event_id))

    async def event(self, event_id: str) -> dict[str, Any] | None:
        return await self._run(self._event(event_id))

    async def answer(self, link: str) -> dict[str, Any]:
        return await self._run(self._answer(link, confirm=True))

    async def check_answer(self, link: str) -> dict[str, Any]:
        return await self._run(self._answer(link, confirm=False))

    async def subscribe(
        self, subject: str, *, email: str | None = None, usage_alerts: bool = False, language: str | None = None
    ) -> dict[str, Any]:
        return await self._run(self._subscribe(subject, email, usage_alerts, language))

    async def subscription(self, subject: str) -> dict[str, Any] | None:
        return await self._run(self._get_json(f"/v1/alerts/subscriptions/{quote(subject, safe='')}", missing_ok=True))

    async def unsubscribe(self, subject: str) -> None:
        await self._run(self._unsubscribe(subject))

    async def list_add(self, name: str, values: list[str]) -> dict[str, Any]:
        return await self._run(self._list_change(name, values, "add"))

    async def list_remove(self, name: str, values: list[str]) -> dict[str, Any]:
        return await self._run(self._list_change(name, values, "remove"))

    async def case(self, case_id: str) -> dict[str, Any] | None:
        return await self._run(self._get_json(f"/v1/cases/{quote(case_id, safe='')}", missing_ok=True))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
