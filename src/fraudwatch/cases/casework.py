"""The work on cases for callers inside the service's process (the analyst console):
each method runs the code of the ``/v1/cases`` or ``/v1/disputes`` route of the same name,
with its checks, its unit of work, the case log and the audit line under the caller's
name, and answers what the route answers (dicts of the shapes in
``fraudwatch.cases.schemas``). A form's fields that do not validate are a
``ValidationFailed`` naming the field, as the API's 422.

    work = CaseWork(request, principal)         # principal: fraudwatch.api.Principal
    work.queue(status=["open"], sort="due")     # {"cases": [...], "next_offset": ...}
    await work.claim("FW-7TCK-QH1K")
    await work.verdict(case_id, verdict="fraud", fraud_type="account_takeover")
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from fraudwatch.cases import attachments, dispute_views, views
from fraudwatch.errors import ValidationFailed


def _body(model: type[BaseModel], **fields: Any) -> Any:
    try:
        return model(**fields)
    except ValidationError as exc:
        errors = [{"loc": ".".join(map(str, e["loc"])) or "body", "msg": e["msg"]} for e in exc.errors()]
        raise ValidationFailed("; ".join(f"{e['loc']}: {e['msg']}" for e in errors), errors) from None


class CaseWork:
    def __init__(self, request: Any, who: Any):
        self.request = request
        self.who = who
        self.bench = views.Workbench(request)

    # ------------------------------------------------------------------ reading
    def queue(self, **filters: Any) -> dict[str, Any]:
        """``GET /v1/cases`` with its query parameters as keywords."""
        return views.list_cases(self.bench, self.who, **filters)

    def counts(self, **filters: Any) -> dict[str, Any]:
        """``GET /v1/cases/counts``: how many cases per value of each of the queue's filters."""
        return views.counts(self.bench, self.who, **filters)

    def stats(self) -> dict[str, Any]:
        return views.stats(self.bench, self.who)

    def case(self, case_id: str) -> dict[str, Any]:
        return views.get_case(case_id, self.bench, self.who)

    def case_file(self, case_id: str) -> dict[str, Any]:
        return views.get_file(case_id, self.bench, self.who)

    def evidence(self, case_id: str, *, payment: str | None = None, format: str = "json") -> Any:
        """The evidence pack: a dict, or with ``format="html"`` the printable page (a response)."""
        return views.get_evidence(case_id, self.bench, self.who, payment=payment, format=format)

    def attachment(self, case_id: str, sha256: str) -> Any:
        """The stored file as a download response."""
        return attachments.download(case_id, sha256, self.bench, self.who)

    # ------------------------------------------------------------------ work
    async def claim(self, case_id: str) -> dict[str, Any]:
        return await views.claim(case_id, self.bench, self.who)

    async def release(self, case_id: str) -> dict[str, Any]:
        return await views.release(case_id, self.bench, self.who)

    async def assign(self, case_id: str, *, analyst: str) -> dict[str, Any]:
        return await views.assign(case_id, _body(views.AssignIn, analyst=analyst), self.bench, self.who)

    async def move(self, case_id: str, *, status: str, note: str = "") -> dict[str, Any]:
        return await views.move(case_id, _body(views.StatusIn, status=status, note=note), self.bench, self.who)

    async def note(self, case_id: str, *, text: str) -> dict[str, Any]:
        return await views.add_note(case_id, _body(views.NoteIn, text=text), self.bench, self.who)

    async def verdict(
        self, case_id: str, *, verdict: str, fraud_type: str | None = None, note: str = ""
    ) -> dict[str, Any]:
        body = _body(views.VerdictIn, verdict=verdict, fraud_type=fraud_type or None, note=note)
        return await views.verdict(case_id, body, self.request, self.bench, self.who)

    async def police_report(self, case_id: str, *, reference: str, authority: str) -> dict[str, Any]:
        body = _body(views.PoliceIn, reference=reference, authority=authority)
        return await views.police_report(case_id, body, self.bench, self.who)

    def attach(self, case_id: str, *, name: str, content_type: str, data: bytes) -> dict[str, Any]:
        return attachments.attach(self.bench, self.who, case_id, name=name, content_type=content_type, data=data)

    async def dispute_move(
        self, dispute_id: str, *, move: str, at: datetime | None = None, note: str = ""
    ) -> dict[str, Any]:
        body = _body(dispute_views.MoveIn, move=move, at=at, note=note)
        return await dispute_views.make_move(dispute_id, body, self.bench, self.who)

    def status_link(self, case_id: str) -> dict[str, Any]:
        return views.status_link(case_id, self.bench, self.who)
