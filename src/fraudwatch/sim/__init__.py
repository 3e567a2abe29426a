"""Simulated traffic with the attacks of DEVELOPERS.md, the backtest and the demo (docs/simulator.md)."""
