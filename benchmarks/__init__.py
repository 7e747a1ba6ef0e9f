"""Benchmarks of flask-otcauth's per-request cost; run with ``python -m benchmarks``.

Speed is measured here and only here, never in a timed unit test: a 2-core machine shared with
other work is too noisy for a pass/fail threshold, while ratios against a bare Flask route timed
in the same interleaved run are stable enough to compare settings and releases. The smoke
profile (``python -m benchmarks --smoke``) runs in seconds so CI proves the benchmark still
works without timing anything. See ``docs/performance.md``.
"""
