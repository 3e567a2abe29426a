"""Tests of fraudwatch.features (a package, so test module names may repeat across domains)."""
