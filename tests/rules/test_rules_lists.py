"""Named lists: changes while rules run concurrently."""

import threading

import pytest

from fraudwatch.rules import Context, ListStore, compile_expression


def test_store_operations():
    store = ListStore({"a": ["x"]})
    assert store.names() == ["a"]
    assert store.add("a", "y", 3) == 2
    assert store.get("a") == frozenset({"x", "y", 3})
    assert store.remove("a", "x", "not-there") == 3
    assert store.replace("a", []) == 4
    assert store.get("a") == frozenset()
    assert store.contains("a", "y") is False
    assert store.contains("a", ["unhashable"]) is False
    store.delete("a")
    assert store.get("a") is None and store.version("a") == 0
    with pytest.raises(KeyError):
        store.remove("a", "x")
    with pytest.raises(TypeError):
        store.add("a", True)
    with pytest.raises(TypeError):
        store.add("a", None)


def test_lists_changing_while_rules_run():
    """Readers on several threads never see an error or a value outside what was written."""
    store = ListStore({"blocked": []})
    expr = compile_expression("event_ip in @blocked")
    stop = threading.Event()
    start = threading.Barrier(4)  # three readers and this writer begin together
    seen, problems = set(), []

    def reader():
        ctxs = [Context(features={"event_ip": f"10.0.0.{i}"}, lists=store) for i in range(50)]
        start.wait()
        while True:
            done = stop.is_set()  # one more full pass after the writer stops
            for ctx in ctxs:
                v = expr(ctx)
                if v is not True and v is not False:
                    problems.append(v)
                seen.add(v)
            if done:
                return

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    start.wait()
    for round_ in range(300):
        store.add("blocked", f"10.0.0.{round_ % 50}")
        if round_ % 7 == 0:
            store.remove("blocked", f"10.0.0.{(round_ * 3) % 50}")
        if round_ % 50 == 0:
            store.replace("blocked", [f"10.0.0.{round_ % 50}"])
    stop.set()
    for t in threads:
        t.join()
    assert problems == []
    assert seen == {True, False}
    assert store.version("blocked") == 1 + 300 + len(range(0, 300, 7)) + len(range(0, 300, 50))
