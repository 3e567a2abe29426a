"""``create_app(settings)``: the FastAPI decision service. Nothing is built at import time.

Domain routers are listed in ``ROUTERS`` (a module path each, with a module-level
``router``); adding a domain is one line. A listed module that does not exist yet is
skipped. Bodies are limited to ``server.max_body_bytes`` (413) unless the module names
another ``server`` setting in ``BODY_LIMIT`` (or makes it a function of the settings); a
module's ``install(app)``, if any, runs once its router is in. Routers find what they need on
``request.app.state``: ``settings``, ``storage`` (the loop thread's handle), ``service``
(the :class:`DecisionService`; its current engine is ``app.state.service.engine``),
``auth`` and ``metrics``.
"""

from __future__ import annotations

import importlib
import logging
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from fraudwatch import __version__, codegen
from fraudwatch.api.auth import Authenticator
from fraudwatch.api.body import JSONResponse
from fraudwatch.api.definitions import engine_factory
from fraudwatch.api.events import install_openapi
from fraudwatch.api.ingest import IngestFastPath
from fraudwatch.api.metrics import Metrics, MetricsMiddleware
from fraudwatch.api.service import DecisionService
from fraudwatch.errors import FraudwatchError, Unauthorized
from fraudwatch.events import Tokenizer
from fraudwatch.events.pan import redact_logs
from fraudwatch.settings import Settings
from fraudwatch.storage import open_storage

log = logging.getLogger("fraudwatch.api")

ROUTERS = (
    "fraudwatch.api.health",
    "fraudwatch.api.docs",
    "fraudwatch.api.events",
    "fraudwatch.api.definitions",
    "fraudwatch.api.lists",
    "fraudwatch.api.ml_models",
    "fraudwatch.api.admin",
    "fraudwatch.console.views",
    "fraudwatch.actions.views",
    "fraudwatch.ato.views",
    "fraudwatch.cases.views",
    "fraudwatch.cases.dispute_views",
    "fraudwatch.cases.attachments",
)


def create_app(settings: Settings) -> FastAPI:
    settings.check_secrets()  # placeholders only with env: development
    codegen.set_enabled(settings.engine.codegen)
    if settings.uses_placeholder_secrets:
        log.warning("placeholder secrets in use (env: development): never run like this with real data")
    storage = open_storage(settings)
    _use_ato_data(settings)
    metrics = Metrics()
    suppressions = _suppression_set()
    policy = _response_policy(settings) if settings.server.actions else None
    service = DecisionService(
        storage=storage,
        engine_factory=engine_factory(settings, storage, suppressions, _containment(policy)),
        tokenizer=Tokenizer(
            settings.security.token_key.get_secret_value().encode(),
            refuse=frozenset(settings.ingest.refuse_card_numbers_in),
        ),
        metrics=metrics,
        snapshot_every_events=settings.engine.snapshot_every_events,
        snapshot_interval_seconds=settings.engine.snapshot_interval_seconds,
        group_commit_max=settings.storage.group_commit_max,
        id_filter_capacity=settings.storage.id_filter_capacity,
        wal_limit_bytes=int(settings.storage.wal_limit_mb * 2**20),
        ingest=settings.ingest,
        writer_stuck_seconds=settings.storage.writer_stuck_seconds,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        redact_logs("uvicorn.access", "uvicorn.error")  # (uvicorn has set its handlers up by now)
        await service.start()
        try:
            responder = _start_actions(app, service) if settings.server.actions else None
        except BaseException:
            await service.stop()
            storage.close()
            raise
        consumer = _start_stream(service, settings)
        app.state.stream = consumer
        console = _start_console(app, service) if settings.server.console else None
        try:
            yield
        finally:
            if consumer is not None:
                await consumer.stop()  # before the service: nothing is acknowledged that is not durable
            await service.stop()
            if responder is not None:
                responder.close()
            if console is not None:
                console.close()
            storage.close()

    app = ServiceApp(
        title="fraudwatch decision service",
        version=__version__,
        description="Send events, get decisions; manage rules, lists, features and models. "
        "Authenticate with `Authorization: Bearer <API key>`.",
        lifespan=lifespan,
        default_response_class=JSONResponse,
        max_body_size=settings.server.max_body_bytes,
        docs_url=None,  # served by fraudwatch.api.docs, with local assets
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.storage = storage
    app.state.service = service
    app.state.metrics = metrics
    app.state.stream = None  # the stream consumer while one runs (stream.url)
    app.state.suppressions = suppressions  # filled from storage and by "yes" answers (actions domain)
    app.state.rule_checks = []  # called with a RuleSet before it goes live; raise to refuse it
    app.state.auth = Authenticator(storage.keys, settings.security.key_pepper.get_secret_value().encode())
    _install_error_handlers(app)
    for module_name in ROUTERS:
        module = importlib.import_module(module_name)
        limit = getattr(module, "BODY_LIMIT", None)  # a server setting's name, or a function of the settings
        size = limit(settings) if callable(limit) else getattr(settings.server, limit) if limit else None
        app.include_router(module.router, max_body_size=size)
        if hasattr(module, "install"):
            module.install(app)  # e.g. metrics collectors
    install_openapi(app)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.fast_path = IngestFastPath(
        super(ServiceApp, app).__call__, state=app.state, limit=settings.server.max_body_bytes
    )
    return app


class ServiceApp(FastAPI):
    """The FastAPI app behind the hot path: ``POST /v1/events`` is answered by
    ``IngestFastPath`` before FastAPI's own middleware (error page, telemetry hooks, body
    limit: about 40 us a request under cProfile); every other request goes to FastAPI."""

    fast_path: IngestFastPath

    async def __call__(self, scope, receive, send) -> None:
        await self.fast_path(scope, receive, send)


def _start_stream(service: DecisionService, settings: Settings):
    """The stream consumer (``stream.url``), reading beside the HTTP API into the same service."""
    if settings.stream.url is None:
        return None
    from fraudwatch.api.stream import open_consumer

    consumer = open_consumer(service, settings.stream, max_event_bytes=settings.server.max_body_bytes)
    consumer.start()
    return consumer


def _use_ato_data(settings: Settings) -> None:
    """The IP context file of the settings, loaded now (a bad file stops the start with its
    reason); the bundled data and the user-agent parser load in a background thread, so
    the first login does not wait for them."""
    import threading

    from fraudwatch import ato as ipdata
    from fraudwatch.ato import parse_user_agent

    ipdata.use_cache_dir(settings.cache_dir)
    ipdata.use(ipdata.IpData.load(settings.ato.ip_data) if settings.ato.ip_data else None)
    ipdata.use_hosting_list(settings.ato.hosting_list)

    def warm() -> None:
        try:
            ipdata.current()
            parse_user_agent("Mozilla/5.0")
        except Exception:  # noqa: BLE001 - reported again, with its cause, at the first lookup
            log.exception("IP context or user-agent parser failed to load")

    threading.Thread(target=warm, name="ato-data", daemon=True).start()


def _suppression_set():
    from fraudwatch.actions import SuppressionSet

    return SuppressionSet()


def _response_policy(settings: Settings):
    from fraudwatch.actions import load_policy

    return load_policy(settings.actions.policy)


def _containment(policy):
    if policy is None:
        return None
    from fraudwatch.actions import Containment

    return Containment(policy)


def _start_actions(app: FastAPI, service: DecisionService):
    """The actions domain (alerts, webhooks, answer links) follows the log: every decision,
    once durable, goes to ``Responder.on_logged`` (pages of log entries) in a follower
    process. This process keeps a responder of its own for the answers and the views."""
    from fraudwatch.actions import responder_for, started_responder

    responder = responder_for(app)
    responder.defer_answers = True  # the follower applies the answers, in log order
    # a response naming a rule that does not exist would silently never fire: refuse to start,
    # and refuse a rules change that would leave one
    check = partial(responder.policy.check_rules_of, source=responder.settings.policy or "the default response policy")
    check(service.engine.rules, rules="the active rules")
    app.state.rule_checks.append(check)
    service.follow("actions", partial(started_responder, responder.settings, cases=app.state.settings.cases))
    return responder


def _start_console(app: FastAPI, service: DecisionService):
    """The analyst console at /console: its index follows the log (see fraudwatch.console)."""
    from fraudwatch.console import start_console

    return start_console(app, service)


def error_body(errors: list[dict]) -> dict:
    return {"errors": errors}


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(FraudwatchError)
    async def fraudwatch_error(request: Request, exc: FraudwatchError):
        errors = getattr(exc, "errors", None) or [{"loc": "", "msg": str(exc)}]
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
        return JSONResponse(error_body(errors), status_code=exc.status_code, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):  # 404, 405, 413 ...
        return JSONResponse(
            error_body([{"loc": "", "msg": str(exc.detail)}]), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def request_invalid(request: Request, exc: RequestValidationError):
        errors, status = [], 422
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ())]
            if err.get("type") == "json_invalid":
                status = 400
                errors.append({"loc": "body", "msg": f"invalid JSON: {err.get('ctx', {}).get('error', err['msg'])}"})
                continue
            errors.append({"loc": ".".join(loc), "msg": err.get("msg", "invalid")})
        return JSONResponse(error_body(errors), status_code=status)
