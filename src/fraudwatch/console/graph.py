"""The link graph of an entity: the cards, accounts, devices and IPs seen in the same
events as it (from the console's index), and theirs, drawn as an SVG picture in which
every node links to its own entity page.

What an analyst should see at a glance is spelled out as ``signals`` beside it: a card on
several accounts (one of them new: the leaked-card story), a device with many cards, an
IP with many failed logins.

>>> import os, tempfile
>>> from fraudwatch.console.store import ConsoleDB
>>> db = ConsoleDB(os.path.join(tempfile.mkdtemp(), "c.db"))
>>> with db.transaction() as c:
...     _ = c.executemany("INSERT INTO nodes(id, events, fraud, first, last, accounts, cards)"
...                       " VALUES (?, ?, ?, 0, 0, ?, ?)",
...                       [("card:c1", 9, 0, 2, 0), ("account:a1", 8, 0, 0, 1), ("account:a2", 3, 2, 0, 1)])
...     _ = c.executemany("INSERT INTO edges(a, b, n, first, last) VALUES (?, ?, ?, 0, 0)",
...                       [("card:c1", "account:a1", 8), ("account:a1", "card:c1", 8),
...                        ("card:c1", "account:a2", 3), ("account:a2", "card:c1", 3)])
>>> g = neighbourhood(db.connection(), "card", "c1")
>>> [n.id for n in g.nodes], g.degree["account"]
(['card:c1', 'account:a2', 'account:a1'], 2)
>>> [s[0] for s in g.signals]
['card_on_accounts']
>>> draw(g, lambda key, **kw: key).count("<a href=")
3
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from urllib.parse import quote

TYPES = ("card", "account", "device", "ip")
RING1 = 18  # neighbours drawn around the centre (all are listed in the table)
RING2 = 3  # their own neighbours drawn, each
WIDTH, HEIGHT = 980, 600
ICON = {"card": "C", "account": "A", "device": "D", "ip": "IP"}


@dataclass
class Node:
    id: str
    events: int = 0
    declines: int = 0
    failed_logins: int = 0
    blocked: int = 0
    challenged: int = 0
    fraud: int = 0
    first: float | None = None
    last: float | None = None
    shared: int = 0  # events shared with the node it hangs from
    ring: int = 0
    parent: str | None = None
    degree: dict[str, int] = field(default_factory=dict)

    @property
    def type(self) -> str:
        return self.id.split(":", 1)[0]

    @property
    def value(self) -> str:
        return self.id.split(":", 1)[1]

    @property
    def href(self) -> str:
        return f"/console/entities/{self.type}/{quote(self.value, safe='')}"

    @property
    def state(self) -> str:
        if self.fraud:
            return "fraud"
        if self.blocked or self.challenged:
            return "stopped"
        return "plain"


@dataclass
class Graph:
    centre: Node
    nodes: list[Node]
    edges: list[tuple[str, str, int]]
    neighbours: list[Node]  # every neighbour of the centre, most shared events first
    degree: dict[str, int]  # the centre's neighbours by type
    signals: list[tuple[str, dict]]


_NODE_COLUMNS = "id, events, declines, failed_logins, blocked, challenged, fraud, first, last"


def _node(conn, node_id: str) -> Node:
    row = conn.execute(f"SELECT {_NODE_COLUMNS} FROM nodes WHERE id = ?", (node_id,)).fetchone()
    return Node(*row) if row else Node(node_id)


def _degree(conn, node_id: str) -> dict[str, int]:
    row = conn.execute("SELECT cards, accounts, devices, ips FROM nodes WHERE id = ?", (node_id,)).fetchone()
    return dict(zip(TYPES, row, strict=False)) if row else {}


def neighbourhood(conn, entity: str, value: str, limit: int = 200) -> Graph:
    centre = _node(conn, f"{entity}:{value}")
    centre.degree = _degree(conn, centre.id)
    rows = conn.execute(
        f"SELECT e.n, {', '.join('n.' + c.strip() for c in _NODE_COLUMNS.split(','))}"
        " FROM edges e JOIN nodes n ON n.id = e.b WHERE e.a = ? ORDER BY n.fraud > 0 DESC, e.n DESC LIMIT ?",
        (centre.id, limit),
    ).fetchall()
    neighbours = [Node(*row[1:], shared=row[0], ring=1, parent=centre.id) for row in rows]
    drawn = neighbours[:RING1]
    nodes = [centre, *drawn]
    edges = [(centre.id, n.id, n.shared) for n in drawn]
    seen = {n.id for n in nodes}
    for n in drawn:
        n.degree = _degree(conn, n.id)
        for row in conn.execute(
            f"SELECT e.n, {', '.join('x.' + c.strip() for c in _NODE_COLUMNS.split(','))}"
            " FROM edges e JOIN nodes x ON x.id = e.b WHERE e.a = ? AND e.b != ?"
            " ORDER BY x.fraud > 0 DESC, e.n DESC LIMIT ?",
            (n.id, centre.id, RING2 * 3),
        ):
            other = Node(*row[1:], shared=row[0], ring=2, parent=n.id)
            linked = {(a, b) for a, b, _ in edges}
            if other.id in seen:  # another drawn node: draw the link once
                if (other.id, n.id) not in linked and (n.id, other.id) not in linked:
                    edges.append((n.id, other.id, other.shared))
            elif sum(1 for x in nodes if x.parent == n.id and x.ring == 2) < RING2:
                seen.add(other.id)
                nodes.append(other)
                edges.append((n.id, other.id, other.shared))
    return Graph(centre, nodes, edges, neighbours, centre.degree, _signals(centre, neighbours))


def _signals(centre: Node, neighbours: list[Node]) -> list[tuple[str, dict]]:
    """What stands out, as message keys with their values (translated by the page)."""
    out: list[tuple[str, dict]] = []
    by_type: dict[str, list[Node]] = {t: [n for n in neighbours if n.type == t] for t in TYPES}
    accounts = by_type["account"]
    if centre.type == "card" and len(accounts) >= 2:
        newest = max(accounts, key=lambda n: n.first or 0)
        out.append(
            (
                "card_on_accounts",
                {"n": centre.degree.get("account", len(accounts)), "newest": newest.value, "fraud": newest.fraud},
            )
        )
    cards = centre.degree.get("card", 0)
    if centre.type in ("device", "ip", "account") and cards >= 5:
        out.append(("many_cards", {"n": cards}))
    if centre.type == "ip" and centre.failed_logins >= 20:
        out.append(("failed_logins", {"n": centre.failed_logins, "accounts": centre.degree.get("account", 0)}))
    if centre.fraud:
        out.append(("labelled_fraud", {"n": centre.fraud}))
    return out


def _short(value: str, width: int = 14) -> str:
    return value if len(value) <= width else value[: width - 1] + "…"


def _degree_text(node: Node, t: Callable[..., str]) -> str:
    ordered = sorted(node.degree.items(), key=lambda kv: TYPES.index(kv[0]))
    parts = [t(f"count_{k}_one" if v == 1 else f"count_{k}", n=v) for k, v in ordered if v]
    return " · ".join(parts)


def draw(graph: Graph, t: Callable[..., str]) -> str:
    """The graph as an SVG document (centre in the middle, its neighbours around it, theirs
    further out); every text is escaped."""
    cx, cy = WIDTH / 2, HEIGHT / 2
    place: dict[str, tuple[float, float]] = {graph.centre.id: (cx, cy)}
    ring1 = [n for n in graph.nodes if n.ring == 1]
    angle_of: dict[str, float] = {}
    step = 2 * math.pi / max(1, len(ring1))
    for i, n in enumerate(ring1):
        a = -math.pi / 2 + i * step
        angle_of[n.id] = a
        place[n.id] = (cx + 250 * math.cos(a), cy + 160 * math.sin(a))
    for parent in ring1:
        kids = [n for n in graph.nodes if n.parent == parent.id and n.ring == 2]
        spread = min(step * 0.8, 0.9)
        for j, n in enumerate(kids):
            a = angle_of[parent.id] + (j - (len(kids) - 1) / 2) * spread / max(1, len(kids))
            place[n.id] = (cx + 420 * math.cos(a), cy + 255 * math.sin(a))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" class="graph" role="img"'
        f' data-nodes="{len(graph.nodes)}" aria-label="{escape(t("graph_label"))}">'
    ]
    for a, b, n in graph.edges:
        if a in place and b in place:
            (x1, y1), (x2, y2) = place[a], place[b]
            width = 1 + min(5.0, math.log2(1 + n))
            out.append(
                f'<line class="edge" x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"'
                f' stroke-width="{width:.1f}"><title>{n}</title></line>'
            )
            if a == graph.centre.id:
                out.append(f'<text class="edge-label" x="{(x1 + x2) / 2:.1f}" y="{(y1 + y2) / 2 - 3:.1f}">{n}</text>')
    for node in graph.nodes:
        x, y = place[node.id]
        r = 30 if node.ring == 0 else 20 if node.ring == 1 else 14
        title = escape(f"{node.type} {node.value}")
        out.append(f'<a href="{escape(node.href)}" class="node {node.state} ring{node.ring}">')
        out.append(f"<title>{title}</title>")
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}"/>')
        out.append(f'<text class="icon" x="{x:.1f}" y="{y + 4:.1f}">{ICON[node.type]}</text>')
        out.append(f'<text class="name" x="{x:.1f}" y="{y + r + 13:.1f}">{escape(_short(node.value))}</text>')
        if node.ring < 2:
            detail = _degree_text(node, t)
            if node.fraud:
                detail = (detail + " · " if detail else "") + t("fraud_n", n=node.fraud)
            if detail:
                out.append(f'<text class="detail" x="{x:.1f}" y="{y + r + 26:.1f}">{escape(detail)}</text>')
        out.append("</a>")
    out.append("</svg>")
    return "".join(out)
