"""Events checked on the sender's side with the server's own models and messages.

:func:`build` turns a kind and its fields into an :class:`Event`, or raises
:class:`EventInvalid` with exactly the ``errors`` the service would answer with (``{"loc":
"amount", "msg": "Input should be greater than or equal to 0"}``), before anything is sent.
The validation is the service's: the same pydantic models (``fraudwatch.events``), the same
card-number handling (a ``pan`` is checked as the service's tokenizer would see it, and sent
as given: only the service holds the token key) and the same error formatting.

The keyword builders in :mod:`fraudwatch.client.builders` (``payment_attempt(...)``,
``login(...)``, ...) are generated from those models by :func:`builder_source`; a test keeps
the generated file equal to it.

>>> e = build("payment.attempt", {"id": "p1", "time": "2026-11-21T13:00:00+09:00", "card": "tok_1",
...                               "amount": 17600, "currency": "JPY"})
>>> e.id, e.kind, e.data["amount"]
('p1', 'payment.attempt', 17600)
>>> build("payment.attempt", {"id": "p2", "amount": -5, "currency": "JPY"})
Traceback (most recent call last):
...
fraudwatch.client.events.EventInvalid: amount: Input should be greater than or equal to 0
"""

from __future__ import annotations

import types
import typing
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal, get_args, get_origin

from pydantic import ValidationError

from fraudwatch.errors import ValidationFailed
from fraudwatch.events import EVENT_ADAPTER, TYPE_BY_KIND, Tokenizer, format_errors

__all__ = ["Event", "EventInvalid", "build", "builder_source", "validate"]

# Only the shape of a card number matters for checking an event; its token is the service's.
_SHAPE_ONLY = Tokenizer(b"client-side-check-only-no-real-token")
_ENVELOPE_FIRST = ("id", "time")
_NOT_ARGUMENTS = frozenset({"kind", "version"})


class EventInvalid(ValidationFailed):
    """An event the service would refuse with 422; ``errors`` as the service gives them."""

    def __init__(self, errors: list[dict[str, str]]):
        super().__init__("; ".join(f"{e['loc']}: {e['msg']}" for e in errors), errors)


@dataclass(frozen=True, slots=True)
class Event:
    """A checked event: ``data`` is the JSON object sent (a ``pan`` stays in it; the
    service tokenizes it on arrival)."""

    data: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.data["id"])

    @property
    def kind(self) -> str:
        return str(self.data["kind"])


def _json_value(value: Any) -> Any:
    if isinstance(value, date):  # a naive datetime is refused below with the service's message
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: _json_value(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    return value


def validate(data: Mapping[str, Any]) -> Event:
    """Check one event given as a dict (``id`` and ``time`` included) the way the service does."""
    payload = {k: _json_value(v) for k, v in data.items() if v is not None}
    try:
        EVENT_ADAPTER.validate_python(_SHAPE_ONLY.sanitize(dict(payload)))
    except ValidationError as exc:
        raise EventInvalid(format_errors(exc)) from None
    return Event(payload)


def build(kind: str, fields: Mapping[str, Any]) -> Event:
    """An event of ``kind``: ``id`` defaults to a new random id (kept across retries, so a
    resend is recognised), ``time`` to now (UTC). Fields given as ``None`` are left out."""
    data: dict[str, Any] = {"kind": kind}
    data.update((k, v) for k, v in fields.items() if v is not None)
    data.setdefault("id", f"evt_{uuid.uuid4().hex}")
    data.setdefault("time", datetime.now(UTC))
    return validate(data)


# ------------------------------------------------------------------ generation
def _type_text(annotation: Any) -> str:
    if annotation is type(None):
        return "None"
    origin = get_origin(annotation)
    if origin is Literal:
        return "Literal[" + ", ".join(repr(a) for a in get_args(annotation)) + "]"
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_text(a) for a in get_args(annotation))
    if origin is typing.Annotated:
        return _type_text(get_args(annotation)[0])
    if origin is list:
        return f"list[{_type_text(get_args(annotation)[0])}]"
    if origin is dict:  # the integrator's custom fields (metadata)
        return f"Mapping[str, {_type_text(get_args(annotation)[1])}]"
    if annotation is datetime:
        return "datetime | str"
    if isinstance(annotation, type):
        if annotation.__module__ == "builtins":
            return annotation.__name__
        return "Mapping[str, Any]"  # a nested model (an order's items) is given as a dict
    raise TypeError(f"no builder type for {annotation!r}")


def _function_name(kind: str) -> str:
    name = kind.split(".", 1)[-1] if kind.startswith("account.") else kind.replace(".", "_")
    return {"login": "login", "2fa_enrolled": "two_factor_enrolled", "2fa_removed": "two_factor_removed"}.get(
        name, name
    )


def builder_source() -> str:
    """The source of :mod:`fraudwatch.client.builders`: one keyword-only function per event kind."""
    out = [
        '"""Event builders, one per kind, generated from the event models by',
        "``fraudwatch.client.events.builder_source()`` (do not edit: ``python -m fraudwatch.client.events``",
        "writes this file; ``ruff format`` then formats it). Each checks its event as the service would and raises",
        "``EventInvalid`` with the service's messages; ``id`` defaults to a new random id and",
        "``time`` to now. A card number may be given as ``pan``: the service tokenizes it.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from collections.abc import Mapping",
        "from datetime import datetime",
        "from typing import Any, Literal",
        "",
        "from fraudwatch.client.events import Event, build",
        "",
    ]
    names: list[str] = []
    functions: list[str] = []
    for kind, model in TYPE_BY_KIND.items():
        name = _function_name(kind)
        names.append(name)
        fields = [(n, f) for n, f in model.model_fields.items() if n not in _NOT_ARGUMENTS]
        required = [(n, f) for n, f in fields if f.is_required() and n not in _ENVELOPE_FIRST]
        optional = [(n, f) for n, f in fields if not f.is_required() or n in _ENVELOPE_FIRST]
        optional.sort(key=lambda nf: _ENVELOPE_FIRST.index(nf[0]) if nf[0] in _ENVELOPE_FIRST else len(_ENVELOPE_FIRST))
        params = [f"    {n}: {_type_text(f.annotation)}," for n, f in required]
        for n, f in optional:
            text = _type_text(f.annotation)
            if "None" not in text.split(" | "):
                text += " | None"
            params.append(f"    {n}: {text} = None,")
        params.append("    pan: str | None = None,")
        own = (model.__dict__.get("__doc__") or "").strip()
        doc = own.splitlines()[0] if own else ""
        functions += [
            "",
            f"def {name}(",
            "    *,",
            *params,
            ") -> Event:",
            f'    """``{kind}``{": " + doc if doc else ""}"""',
            f"    return build({kind!r}, locals())",
            "",
        ]
    out += ["__all__ = [" + ", ".join(repr(n) for n in names) + "]", "", *functions]
    return "\n".join(out)


if __name__ == "__main__":  # regenerate the builders after a change of the event models
    from pathlib import Path

    Path(__file__).with_name("builders.py").write_text(builder_source())
