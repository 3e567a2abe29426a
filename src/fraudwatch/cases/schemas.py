"""The shapes of the cases API's answers, for the OpenAPI document (``/openapi.json``) that
the console and integrators build on. Times are POSIX seconds: event times for what
happened (``started``, ``last_seen``, dispute dates), wall times for the analysts' work
(``queued_at``, ``due_at``, ``claimed_at``, ``verdict_at``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class CaseOut(BaseModel):
    id: str
    reference: str = Field(description="FW-XXXX-XXXX, what the cardholder quotes")
    status: str = Field(description="monitoring, open, in_review, recovering, closed")
    card: str | None
    account: str | None
    started: float = Field(description="event time of the episode's first flagged decision")
    last_seen: float = Field(description="event time of its latest")
    worst_outcome: str
    max_score: float | None
    escalation: int
    amount_at_risk: int = Field(description="minor units of currency")
    currency: str | None
    trigger: str | None = Field(description="what put it in the queue")
    priority: str = Field(description="low, normal, high, critical")
    queued_at: float | None
    due_at: float | None
    assignee: str | None
    claimed_at: float | None
    verdict: str | None
    fraud_type: str | None
    verdict_by: str | None
    verdict_at: float | None
    contained_at: float | None = Field(description="when every containment message was delivered")
    scenario: str | None = Field(description="the simulator's ground truth, for simulated data")
    police_reference: str | None
    police_authority: str | None
    created: float
    updated: float
    closed_at: float | None
    version: int
    rules: list[str] = Field(description="rules that flagged the episode")


class VerdictOut(CaseOut):
    labels: list[str] = Field(description="ids of the label events logged through the engine")
    releases: list[dict[str, str]] = Field(description="stopped payments a genuine verdict released")


class CaseList(BaseModel):
    cases: list[CaseOut]
    next_offset: int | None = Field(description="offset of the next page; null on the last")


class QueueCounts(BaseModel):
    total: int
    status: dict[str, int]
    priority: dict[str, int] = Field(description="most urgent first")
    trigger: dict[str, int]
    assignee: dict[str, int] = Field(description="analysts with the most cases first")
    unassigned: int
    scenario: dict[str, int]
    rule: dict[str, int] = Field(description="a case flagged by several rules counts under each")
    overdue: int = Field(description="past their due date")


class Attacker(BaseModel):
    devices: list[str]
    ips: list[str]
    sessions: list[str]


class EpisodeOut(BaseModel):
    id: str
    reference: str
    card: str | None
    account: str | None
    status: str
    started: float
    last_seen: float
    worst_outcome: str
    max_score: float | None
    escalation: int
    amount_at_risk: int
    currency: str | None
    attacker: Attacker = Field(description="devices, IPs and sessions of its flagged events and disputed payments")
    events: list[str] = Field(description="event ids, in event-time order")


class LogEntryOut(BaseModel):
    id: int
    at: float
    actor: str
    type: str = Field(description="status, assign, note, verdict, attachment, police_report, refund, dispute, ...")
    data: dict[str, Any]


class CaseDetail(CaseOut):
    episode: EpisodeOut
    history: list[LogEntryOut]


class StageOut(BaseModel):
    stage: str
    party: str
    started: float
    deadline: float
    ended: float | None
    move: str | None
    actor: str | None


class DisputeOut(BaseModel):
    id: str
    case_id: str
    payment: str
    opened_by: str = Field(description="the chargeback event")
    scheme: str
    flow: str
    reason_code: str | None
    acquirer: str | None
    amount: int
    currency: str
    stage: str | None = Field(description="null once decided")
    party: str | None = Field(description="whose turn it is: merchant, issuer or scheme")
    stage_started: float | None
    deadline: float | None
    outcome: str | None = Field(description="won, lost; null while open")
    breached: bool = Field(description="a deadline of the merchant's passed without a move")
    opened: float
    decided: float | None
    version: int
    moves: list[str] = Field(description="the moves allowed now")
    stages: list[StageOut]


class DisputeList(BaseModel):
    disputes: list[DisputeOut]
    next_offset: int | None


class CaseFile(BaseModel):
    case: CaseOut
    episode: EpisodeOut
    timeline: list[dict[str, Any]] = Field(description="entries with at and type: docs/cases.md#the-case-file")
    disputes: list[DisputeOut]
    money: dict[str, Any] = Field(description="refunded, reversed, charged_back, requested, disputes_won, currency")
    attachments: list[dict[str, Any]]
    police_report: dict[str, str] | None
    linked: list[dict[str, Any]] = Field(description="other cases sharing the card, account, or an attacker entity")
