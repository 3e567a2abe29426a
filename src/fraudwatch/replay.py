"""Replay on every core: the features partitioned per entity key, the decisions in order.

Each feature depends on the history of one entity key, so ``workers`` processes each keep
the windows of the keys of one partition (:func:`fraudwatch.features.partition.partition_of`)
and compute their first-pass features for every event; this process joins an event's
values from all partitions and computes the rest in event order (the stateful kinds, the
derived features and features of features, the rules, the model, the response lists),
since those read several keys or the decisions before. The decisions are the ones
:meth:`Engine.process <fraudwatch.engine.Engine.process>` gives on one core, value for
value; :func:`decision_record` writes them the same way whatever the number of workers.

The workers are forked: they share the parsed events with this process (POSIX only).
"""

from __future__ import annotations

import multiprocessing
import pickle
import traceback
from collections.abc import Iterator, Sequence
from typing import Any

from fraudwatch.decisions import Decision
from fraudwatch.engine import Engine
from fraudwatch.errors import FraudwatchError, InvalidValue
from fraudwatch.features.partition import owner

__all__ = ["replay", "decision_record", "BATCH"]

BATCH = 2048  # events per message from a worker


def replay(engine: Engine, events: Sequence[Any], workers: int = 1) -> Iterator[tuple[Any, Decision]]:
    """``(event, decision)`` for each of ``events`` (parsed, in event-time order), through
    ``engine``; with ``workers`` > 1 its features are computed by that many partitions in
    parallel processes."""
    if workers < 1:
        raise InvalidValue(f"workers: at least 1, not {workers}")
    if workers == 1:
        process = engine.process
        for event in events:
            yield event, process(event)
        return
    yield from _partitioned(engine, events, workers)


def _partitioned(engine: Engine, events: Sequence[Any], workers: int) -> Iterator[tuple[Any, Decision]]:
    try:
        context = multiprocessing.get_context("fork")
    except ValueError:
        raise FraudwatchError("--workers needs a platform with fork (Linux, macOS)") from None
    pipes, procs = [], []
    for w in range(workers):
        receive, send = context.Pipe(duplex=False)
        proc = context.Process(target=_worker, args=(engine, events, w, workers, send), daemon=True)
        proc.start()
        send.close()
        pipes.append(receive)
        procs.append(proc)
    # the joined values in one order (the feature set's): the rules generate code per order
    # of the features present, and the partitions' union would give a new order per event
    fs = engine.feature_set
    later = set(fs.second_pass) | {s.name for s in fs.derived} | {s.name for s in fs.stateful}
    order = [name for name in fs.names if name not in later]
    absent = object()
    try:
        process = engine.process
        for start in range(0, len(events), BATCH):
            parts = [_receive(pipe) for pipe in pipes]
            for i, event in enumerate(events[start : start + BATCH]):
                values = None
                if parts[0][i] is not None:  # None: a repeated id, which process answers
                    joined: dict[str, Any] = {}
                    for part in parts:
                        joined.update(part[i])
                    values = {n: v for n in order if (v := joined.get(n, absent)) is not absent}
                yield event, process(event, values)
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
            proc.join()
        for pipe in pipes:
            pipe.close()


def _receive(pipe: Any) -> list[dict[str, Any] | None]:
    try:
        message = pipe.recv_bytes()
    except EOFError:
        raise FraudwatchError("a replay worker stopped without a word (killed, or out of memory)") from None
    batch = pickle.loads(message)
    if isinstance(batch, str):
        raise FraudwatchError(f"a replay worker failed:\n{batch}")
    return batch  # type: ignore[no-any-return]


def _worker(engine: Engine, events: Sequence[Any], partition: int, partitions: int, send: Any) -> None:
    """One partition: an engine with the same features, lateness and dedup horizon that
    keeps only its keys' windows, over every event (the clock, labels and repeated ids
    move as in the whole engine)."""
    from fraudwatch.rules import RuleSet

    try:
        mine = Engine(
            engine.feature_set,
            RuleSet.parse("", version="partition"),
            lateness=engine.lateness,
            dedup_horizon=engine.dedup_horizon,
            owns=owner(partition, partitions),
        )
        partial = mine.partial_features
        for start in range(0, len(events), BATCH):
            batch = [partial(event) for event in events[start : start + BATCH]]
            send.send_bytes(pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL))
    except BaseException:  # noqa: BLE001 - told to the parent, which raises it
        send.send_bytes(pickle.dumps(traceback.format_exc()))
    finally:
        send.close()


def decision_record(decision: Decision, names: Sequence[str]) -> dict[str, Any]:
    """A decision as replay writes it: ``to_dict`` with the features in the feature set's
    order (the partitions compute them in another order) and without the processing time
    (which differs from run to run), so that the same events give the same bytes."""
    values = decision.features
    ordered = {name: values[name] for name in names if name in values}
    if len(ordered) < len(values):
        ordered.update((k, v) for k, v in values.items() if k not in ordered)
    record = decision.to_dict(features=ordered)
    del record["processing_us"]
    return record
