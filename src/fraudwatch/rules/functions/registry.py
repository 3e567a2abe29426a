"""The function registry: one small module per function, Osprey UDF style.

A function declares typed parameters (checked when a rule is compiled), a return
type, and ``execute``; its docstring is the user documentation
(``fraudwatch rules functions`` prints it). Arguments arrive already converted to
their declared type; if one is missing or of the wrong type at run time, the call
gives MISSING without calling ``execute`` (unless ``missing_aware``). ``execute``
returning None or raising also gives MISSING.

>>> from fraudwatch.rules.values import NUMBER
>>> class Double(Function):
...     '''double(x) is 2 * x.'''
...     name = "double"
...     params = (Param("x", NUMBER),)
...     returns = NUMBER
...     def execute(self, x):
...         return 2 * x
>>> registry = Registry()
>>> registry.register(Double)
<class 'fraudwatch.rules.functions.registry.Double'>
>>> registry.register(Double)
Traceback (most recent call last):
...
ValueError: function 'double' is already registered (by Double)
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from fraudwatch.rules.lexer import KEYWORDS
from fraudwatch.rules.values import ANY, TYPES

__all__ = ["Function", "Param", "Registry", "REGISTRY", "register", "NOT_CONSTANT"]

NOT_CONSTANT = object()  # marks an argument that is not a literal in ``bind``'s consts
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter: its name, the types it accepts (``"number|string"``), whether
    it must be a literal (``const``, e.g. a regex compiled once) and its default
    when it may be left out (``optional``)."""

    name: str
    type: str = ANY
    const: bool = False
    optional: bool = False
    default: Any = None

    @property
    def types(self) -> frozenset[str]:
        return frozenset(self.type.split("|"))


class Function:
    """Base class of rule functions; see the module docstring."""

    name: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = ()
    returns: ClassVar[str] = ANY
    variadic: ClassVar[bool] = False  # the last parameter repeats
    missing_aware: ClassVar[bool] = False  # receives MISSING instead of short-circuiting

    def result_type(self, arg_types: list[str]) -> str:
        """Static type of the result given the argument types."""
        return self.returns

    def bind(self, consts: tuple[Any, ...]) -> Callable[..., Any]:
        """The callable run for each evaluation. ``consts`` holds each argument's
        literal value or NOT_CONSTANT; raise ValueError to reject them at compile time."""
        return self.execute

    def execute(self, *args: Any) -> Any:  # pragma: no cover - each function defines it
        raise NotImplementedError

    @classmethod
    def signature(cls) -> str:
        parts = []
        for p in cls.params:
            text = f"{p.name}: {p.type}" + (" literal" if p.const else "")
            if p.optional:
                text += f" = {p.default!r}"
            parts.append(text)
        if cls.variadic:
            parts.append("...")
        return f"{cls.name}({', '.join(parts)}) -> {cls.returns}"

    @classmethod
    def doc(cls) -> str:
        return f"{cls.signature()}\n\n{inspect.cleandoc(cls.__doc__ or '')}"


class Registry:
    """Name -> function. Registration rejects clashes, keywords and bad signatures."""

    def __init__(self) -> None:
        self._functions: dict[str, Function] = {}

    def register(self, cls: type[Function]) -> type[Function]:
        name = cls.name
        if not _NAME.match(name) or name in KEYWORDS:
            raise ValueError(f"bad function name {name!r}: lower-case identifier, not a keyword")
        if name in self._functions:
            raise ValueError(f"function {name!r} is already registered (by {type(self._functions[name]).__name__})")
        for p in cls.params:
            if not p.types <= TYPES:
                raise ValueError(f"{name}: unknown type in {p.type!r}")
        if not cls.__doc__:
            raise ValueError(f"{name}: the docstring is the user documentation; write one")
        self._functions[name] = cls()
        return cls

    def get(self, name: str) -> Function | None:
        return self._functions.get(name)

    def names(self) -> list[str]:
        return sorted(self._functions)

    def __contains__(self, name: str) -> bool:
        return name in self._functions


REGISTRY = Registry()
register = REGISTRY.register
