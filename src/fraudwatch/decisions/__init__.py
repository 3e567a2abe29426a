"""Decisions: outcome, score, fired rules with their values, features used, versions."""

from fraudwatch.decisions.decision import Decision, Outcome, Reason, RuleHit, allow_overrides, decided_by

__all__ = ["Decision", "Outcome", "Reason", "RuleHit", "allow_overrides", "decided_by"]
