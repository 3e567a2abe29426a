"""Generated Python for the engine's hot paths, built in one place.

The feature plan of each event kind, the window and last-value stores, and the rules of
each event shape run as Python functions generated from fraudwatch's own validated
definitions: loops unrolled, slots and names turned into constants. What is passed to
``exec`` is text assembled by fraudwatch from:

* fixed templates written in fraudwatch's source (the statistics below, the store loops);
* integers (slot, column and window indexes) and floats emitted with ``repr``;
* feature and field names emitted with ``repr`` as string literals, after the rules parser
  and the feature-set validation accepted them (names match ``[A-Za-z_][A-Za-z0-9_.]*``);
* other values (strings from rule text, sets, functions) bound by reference in the
  function's globals, never spelled in the text.

Rule and feature text is never executed as Python: it is parsed into fraudwatch's own
syntax tree first, and only the tree's checked parts reach a template.

Generated source is named like ``fraudwatch-generated:window-store:12`` and given to
:mod:`linecache` on demand, so a traceback through a generated function shows its lines.

``set_enabled(False)`` (the ``engine.codegen`` setting, or ``pytest --no-codegen``) turns
generation off for what is built afterwards: the same work then runs as plain closures
and loops (slower; for debugging). The tests run both ways.

A statistic is written once, as a template function whose body is inlined into the
generated code (:func:`inline`) or called as a closure (:func:`bind`):

>>> def add(acc, v, slot, squares):
...     acc[slot] += v
...     if squares:
...         acc[slot + 1] += v * v
>>> inline(add, {}, slot=3, squares=False)
['acc[3] += v']
>>> acc = [0, 0, 0, 0, 0]; bind(add, slot=3, squares=True)(acc, 2); acc
[0, 0, 0, 2, 4]
>>> build("demo", ["def twice(x):", "    return 2 * x"], {})["twice"](21)
42
"""

from __future__ import annotations

import ast
import copy
import functools
import inspect
import itertools
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["bind", "build", "disabled", "enabled", "inline", "inline_expression", "set_enabled"]

_state = {"enabled": True}
_serial = itertools.count(1)
_LITERALS = (bool, int, float, str, type(None))


def enabled() -> bool:
    """Whether engines, stores and rule sets built now generate code."""
    return _state["enabled"]


def set_enabled(flag: bool) -> None:
    """Turn generation on or off for what is built from now on (a process-wide switch)."""
    _state["enabled"] = bool(flag)


@contextmanager
def disabled() -> Iterator[None]:
    """Build without generated code inside the block.

    >>> with disabled():
    ...     enabled()
    False
    """
    before = enabled()
    set_enabled(False)
    try:
        yield
    finally:
        set_enabled(before)


class _Source:
    """The generated text as a module loader gives it: :mod:`linecache` asks for it only
    when a traceback or debugger shows a generated line, so nothing piles up meanwhile."""

    def __init__(self, text: str) -> None:
        self.text = text

    def get_source(self, name: str) -> str:
        return self.text


def build(name: str, lines: list[str], env: dict[str, Any]) -> dict[str, Any]:
    """Execute the generated ``lines`` (function definitions) in ``env`` and return it.
    Tracebacks through the functions show their generated lines."""
    text = "\n".join(lines) + "\n"
    filename = f"fraudwatch-generated:{name}:{next(_serial)}"
    env["__name__"], env["__loader__"] = filename, _Source(text)  # read by linecache.lazycache
    exec(compile(text, filename, "exec"), env)  # noqa: S102 - fraudwatch's own templates and checked names
    return env


# ------------------------------------------------------------------ templates
def bind(template: Callable[..., Any], **constants: Any) -> Callable[..., Any]:
    """``template`` as a closure over ``constants`` (its remaining parameters are the call's)."""
    return functools.partial(template, **constants)


@functools.cache
def _template(template: Callable[..., Any]) -> ast.FunctionDef:
    tree = ast.parse(textwrap.dedent(inspect.getsource(template)))
    fn = tree.body[0]
    if not isinstance(fn, ast.FunctionDef):
        raise TypeError(f"{template.__qualname__} is not a plain function")
    for node in ast.walk(fn):
        if isinstance(node, ast.Return) and fn.body[-1] is not node:
            raise TypeError(f"{template.__qualname__}: an inlined template may return only at its end")
    return fn


def inline(template: Callable[..., Any], env: dict[str, Any], **constants: Any) -> list[str]:
    """The body of ``template`` as source lines, with the parameters given in ``constants``
    replaced by their values (literals by ``repr``, anything else by a name bound in
    ``env``) and branches on constant tests resolved. The other parameters keep their
    names: the generated code defines them. Globals the body reads are bound in ``env``."""
    fn = _template(template)
    body = [_Specialize(template, constants, env).visit(stmt) for stmt in copy.deepcopy(fn.body)]
    module = ast.fix_missing_locations(ast.Module(body=_flatten(body), type_ignores=[]))
    return ast.unparse(module).splitlines() or ["pass"]


def inline_expression(template: Callable[..., Any], env: dict[str, Any], **constants: Any) -> str:
    """The expression a one-line ``return`` template returns, specialized as by :func:`inline`.

    >>> def mean(acc, n, s):
    ...     return acc[s] / acc[n] if acc[n] else None
    >>> inline_expression(mean, {}, n=0, s=1)
    'acc[1] / acc[0] if acc[0] else None'
    """
    fn = _template(template)
    if len(fn.body) != 1 or not isinstance(fn.body[0], ast.Return) or fn.body[0].value is None:
        raise TypeError(f"{template.__qualname__} is not a one-line return")
    expr = _Specialize(template, constants, env).visit(copy.deepcopy(fn.body[0].value))
    return ast.unparse(ast.fix_missing_locations(expr))


def _flatten(nodes: list[Any]) -> list[ast.stmt]:
    out: list[ast.stmt] = []
    for node in nodes:
        out.extend(node if isinstance(node, list) else [node] if node is not None else [])
    return out


class _Specialize(ast.NodeTransformer):
    """Constants in, constant branches out."""

    def __init__(self, template: Callable[..., Any], constants: dict[str, Any], env: dict[str, Any]) -> None:
        self.constants = constants
        self.env = env
        self.globals: dict[str, Any] = getattr(template, "__globals__", {})
        self.params = set(inspect.signature(template).parameters)

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if isinstance(node.ctx, ast.Load):
            if node.id in self.constants:
                value = self.constants[node.id]
                if isinstance(value, _LITERALS):
                    return ast.copy_location(ast.Constant(value), node)
                alias = f"_k{id(value):x}"
                self.env[alias] = value
                return ast.copy_location(ast.Name(alias, ast.Load()), node)
            if node.id not in self.params and node.id in self.globals:
                self.env.setdefault(node.id, self.globals[node.id])
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.left, ast.Constant) and isinstance(node.right, ast.Constant):
            if isinstance(node.op, ast.Add) and all(type(c.value) is int for c in (node.left, node.right)):
                total = int(node.left.value) + int(node.right.value)  # type: ignore[arg-type]
                return ast.copy_location(ast.Constant(total), node)
        return node

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Not) and isinstance(node.operand, ast.Constant):
            return ast.copy_location(ast.Constant(not node.operand.value), node)
        return node

    def visit_IfExp(self, node: ast.IfExp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.test, ast.Constant):
            return node.body if node.test.value else node.orelse
        return node

    def visit_If(self, node: ast.If) -> Any:
        self.generic_visit(node)
        if isinstance(node.test, ast.Constant):
            taken = node.body if node.test.value else node.orelse
            return _flatten(list(taken)) or None
        if not node.body:
            node.body = [ast.Pass()]
        return node
