"""``fraudwatch demo --serve``: the simulator's month loaded into a running service, then the
console's address and two keys (admin, analyst) printed, ready to sign in.

The events go through the service as live traffic would (``DecisionService.submit``: the
engine decides, the log keeps them, the actions, cases and console followers see them),
so what the console shows is what an integrator's traffic would have produced. A data
folder that already holds events is served as it is.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import time
from pathlib import Path
from typing import IO

ADMIN_NAME, ANALYST_NAME = "demo-admin", "demo-analyst"
CHUNK = 2000


def _say(out: IO[str], text: str = "") -> None:
    print(text, file=out, flush=True)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0: a free one, read back from the socket)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class Cardholders:
    """The demo's cardholders answering "was this you?" about their stopped payments: about
    60 % answer, minutes later (log-normal, median 6 min); an attack's victim says no, a
    genuine customer yes. Their answers are ``cardholder.answer`` events, sent in time order
    with the rest."""

    def __init__(self, seed: int):
        import random

        self.rng = random.Random(f"{seed}:answers")
        self.pending: list[tuple[float, str, dict]] = []

    def heard(self, raw: dict, decision: bytes) -> None:
        import heapq
        from datetime import datetime

        import orjson

        if raw.get("kind") != "payment.attempt" or self.rng.random() > 0.6:
            return
        if orjson.loads(decision).get("outcome") not in ("block", "challenge"):
            return
        sent = datetime.fromisoformat(raw["time"])
        at = sent.timestamp() + 60 * self.rng.lognormvariate(1.8, 1.0)
        answer = {
            "id": f"answer-{raw['id']}",
            "time": datetime.fromtimestamp(at, sent.tzinfo).isoformat(),
            "kind": "cardholder.answer",
            "target": raw["id"],
            "answer": "no" if raw.get("scenario") else "yes",
            **{k: raw[k] for k in ("card", "account") if raw.get(k)},
        }
        heapq.heappush(self.pending, (at, answer["id"], answer))

    def due(self, until: str | None) -> list[dict]:
        """The answers given before ``until`` (an event's time; None: all that are left)."""
        import heapq
        from datetime import datetime

        limit = datetime.fromisoformat(until).timestamp() if until else float("inf")
        out = []
        while self.pending and self.pending[0][0] <= limit:
            out.append(heapq.heappop(self.pending)[2])
        return out


async def load_events(app, events: list[dict], out: IO[str], seed: int = 7) -> tuple[int, int]:
    """Submit ``events`` to the app's decision service in chunks, each awaited once durable,
    with the demo cardholders' answers in between. Returns ``(decided, refused)``."""
    from fraudwatch.errors import FraudwatchError

    service = app.state.service
    cardholders = Cardholders(seed)
    decided = refused = 0

    async def decision_of(pending) -> bytes:
        return pending if isinstance(pending, bytes) else await pending

    async def send(batch: list[dict]) -> None:
        nonlocal decided, refused
        sent, waits = [], []
        for raw in batch:
            try:
                _, pending = service.submit(service.parse(raw))
            except FraudwatchError:
                refused += 1
                continue
            sent.append(raw)
            waits.append(decision_of(pending))
        for raw, decision in zip(sent, await asyncio.gather(*waits), strict=True):
            cardholders.heard(raw, decision)
        decided += len(sent)

    began = last = time.perf_counter()
    for start in range(0, len(events), CHUNK):
        batch = []
        for raw in events[start : start + CHUNK]:
            batch.extend(cardholders.due(raw["time"]))
            batch.append(raw)
        await send(batch)
        now = time.perf_counter()
        if now - last > 5 or start + CHUNK >= len(events):
            done = min(len(events), start + CHUNK)
            rate = decided / max(now - began, 1e-9)
            _say(out, f"  {done:,} / {len(events):,} events decided and logged ({rate:,.0f}/s)")
            last = now
    await send(cardholders.due(None))  # answers to the last payments
    return decided, refused


async def wait_indexed(app, seconds: float = 600.0) -> bool:
    """Wait until the console's index and the actions follower (alerts, and the cases the
    queue shows) have caught up with the log."""
    state = app.state
    target = state.service.seq
    console = getattr(state, "console", None)
    actions = state.settings.server.actions
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        indexed = console is None or console.db.position()[0] >= target
        followed = not actions or (state.storage.cursors.get("actions") or 0) >= target
        if indexed and followed:
            return True
        await asyncio.sleep(0.25)
    return False


def train_models(events: list[dict], start: float, days: int, settings, out: IO[str]) -> None:
    """A champion and a smaller challenger trained on the first part of the simulated month
    (the engine's default features, labels known two days late), so the console has scores,
    reasons and a comparison to show. Scores only: no threshold turns them into outcomes."""
    from importlib import resources

    from fraudwatch.errors import FraudwatchError

    try:
        from fraudwatch.models.registry import ModelRegistry
        from fraudwatch.models.train import train
    except ImportError:
        _say(out, "no model (pip install 'fraudwatch[model]' to train one)")
        return
    if days < 12:
        return
    path = Path(settings.data_dir) / "demo-events.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    import orjson

    with open(path, "wb") as f:
        for raw in events:
            f.write(orjson.dumps(raw) + b"\n")
    features = str(resources.files("fraudwatch.features").joinpath("default.yaml"))
    common = {
        "as_of": start + max(12.0, 0.6 * days) * 86400,
        "train_days": 7.0,
        "calibration_days": 3.0,
        "label_delay_days": 2.0,
        "log": lambda message: None,
        "cache_dir": settings.cache_dir,
    }
    models = settings.models_dir
    try:
        train(path, features, models, rounds=80, version="demo-champion", **common)
        small = {"objective": "binary", "num_leaves": 7, "learning_rate": 0.1, "min_data_in_leaf": 20}
        train(path, features, models, rounds=30, params=small, version="demo-challenger", **common)
    except FraudwatchError as exc:
        _say(out, f"no model: {exc}")
        return
    registry = ModelRegistry(models)
    registry.promote("demo-champion")
    registry.promote("demo-challenger", challenger=True)
    _say(out, "trained a champion and a challenger model on the first part of the month")


def make_keys(app) -> dict[str, str]:
    from fraudwatch.api import create_key

    state = app.state
    pepper = state.settings.security.key_pepper.get_secret_value().encode()
    keys = {}
    with state.storage.unit() as uow:
        for name, scopes in ((ADMIN_NAME, ["admin"]), (ANALYST_NAME, ["analyst"])):
            clear, _ = create_key(uow, name=name, scopes=scopes, pepper=pepper, actor="demo")
            keys[name] = clear
    return keys


def serve_demo(
    *,
    seed: int = 7,
    cardholders: int = 2000,
    days: int = 30,
    host: str = "127.0.0.1",
    port: int = 8000,
    data_dir: Path = Path("fraudwatch-demo"),
    out: IO[str] = sys.stdout,
) -> None:
    import uvicorn

    from fraudwatch.api import create_app
    from fraudwatch.settings import load_settings

    # simulated cardholders: development placeholders are fine (production, the default, would
    # refuse to start without real secrets), and the month is replayed history, not live traffic
    overrides = {
        "env": "development",
        "data_dir": Path(data_dir),
        "server": {"host": host, "port": port},
        "ingest": {"history": True},
    }
    settings = load_settings(overrides=overrides)
    events: list[dict] = []
    if not (Path(data_dir) / "fraudwatch.db").exists():
        from datetime import datetime

        from fraudwatch.sim import DEMO_MIX, SimConfig, simulated_traffic

        _say(out, f"simulating {days} days of {cardholders:,} cardholders with attacks (seed {seed})...")
        cfg = SimConfig(seed=seed, cardholders=cardholders, days=days, warmup=3, mix=dict(DEMO_MIX))
        events, truth = simulated_traffic(cfg)
        _say(out, f"{len(events):,} events, {len(truth['instances'])} attack episodes")
        train_models(events, datetime.fromisoformat(cfg.start).timestamp(), days, settings, out)
    app = create_app(settings)
    sock = bind(host, port)
    address = sock.getsockname()
    shown_host = f"[{address[0]}]" if ":" in address[0] else address[0]
    url = f"http://{shown_host}:{address[1]}/console"
    sys.setswitchinterval(0.0005)  # as `fraudwatch serve`
    server = uvicorn.Server(
        uvicorn.Config(
            app, loop="uvloop", http="httptools", log_level="warning", access_log=False, timeout_graceful_shutdown=5
        )
    )

    async def main() -> None:
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            if serving.done():
                await serving  # raises what stopped it
                return
            await asyncio.sleep(0.05)
        storage = app.state.storage
        if events and storage.events.last_seq() == 0:
            _say(out, "sending them to the service:")
            await load_events(app, events, out, seed)
        else:
            _say(out, f"serving the {storage.events.last_seq():,} events already in {settings.data_dir}")
        if not await wait_indexed(app):
            _say(out, "the console's index and the review queue are still catching up; the pages fill in as they do")
        keys = make_keys(app)
        _say(out)
        _say(out, f"fraudwatch console: {url}")
        _say(out, f"  admin key:   {keys[ADMIN_NAME]}")
        _say(out, f"  analyst key: {keys[ANALYST_NAME]}")
        _say(out, f"  data in {settings.data_dir} (run again to serve it again); Ctrl-C stops")
        await serving

    import uvloop

    uvloop.run(main())
