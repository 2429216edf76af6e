"""Synthetic claims with labelled hospital fraud schemes (see ``docs/simulator.md``).

Entry points: :func:`simulator.generate.simulate` (dicts),
:func:`simulator.generate.simulate_lines` (JSON Lines) and ``yibao simulate``.
"""
