"""Features declared as data and computed over exact sliding windows of event time.

Semantics, for an event at time ``t`` (POSIX seconds):

- A window feature reads the matching events of its entity with time in
  ``(t - delay - window, t - delay]``: the current event counts when it matches and there
  is no delay; an event exactly ``window`` old is out. Empty windows read 0 for count,
  sum and distinct, None otherwise; ``std`` is the sample standard deviation (None below
  two values). Values of ``field`` that are absent are skipped; bools count as 0/1.
- ``time_since_last`` / ``previous`` read the latest matching event before the current
  one (by time, then arrival), within the lookback ``window``; ``age`` is the time since
  the first matching event; an entity idle for a whole lookback is forgotten.
- ``field: label.fraud`` (delayed features only) reads 1 for an earlier event when a
  ``label`` event with ``fraud: true`` for it is dated no later than the moment the event
  became as old as the delay (and was processed before the entity was next read from then
  on; a label carrying the entity fields is), else 0. A later label for the same event
  replaces the earlier one; a label processed after that moment is not counted.
- Every event reads every feature whose entity fields it has, whatever its kind; features
  of entities it lacks are left out of the result. Derived features are computed after
  the base ones, and left out when a feature they read is left out.
- Events up to ``lateness`` older than their entity's latest event are exact; see
  :class:`FeatureEngine` for later ones. The engine does not drop repeated event ids.

>>> fs = default_feature_set()
>>> fe = FeatureEngine(fs, lateness=3600)
>>> "card.declines_10m" in fs.names
True
"""

from fraudwatch.features.defaults import default_feature_set
from fraudwatch.features.engine import FeatureEngine, SnapshotError
from fraudwatch.features.featureset import FeatureSet, FeatureSetError
from fraudwatch.features.spec import AGGS, MAX_WINDOW, FeatureSpec, FeatureSpecError, format_duration, parse_duration

__all__ = [
    "AGGS",
    "FeatureEngine",
    "FeatureSet",
    "FeatureSetError",
    "FeatureSpec",
    "FeatureSpecError",
    "MAX_WINDOW",
    "SnapshotError",
    "default_feature_set",
    "format_duration",
    "parse_duration",
]
