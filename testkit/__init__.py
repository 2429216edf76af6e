"""Helpers for tests, benchmarks and smoke runs: never shipped, never imported by yibao itself.

- :mod:`testkit.workers`: real ``yibao stream`` workers as subprocesses, topic readers;
- :mod:`testkit.sample_claims`: fast, deterministic spec-valid (and broken) claims;
- :mod:`testkit.review_data`: a small review database for the web app's tests;
- :mod:`testkit.lockfile`: the lock files of requirements/ against an installed environment.
"""
