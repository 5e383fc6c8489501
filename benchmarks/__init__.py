"""Benchmark harness: greenlane against its peers, side by side, in one run.

Layout (the rules are in ``shared/BENCHMARKS.md``):

- ``python -m benchmarks`` (``runner``) plans the run, starts one fresh worker
  process per sample, interleaves the frameworks and prints a Markdown table
  (``report``).
- ``python -m benchmarks.worker FRAMEWORK WORKLOAD SIZE`` (``worker``) runs one
  sample and prints one JSON line: the metrics, CPU time and a ``check``.
- ``workloads/<name>.py`` holds one workload: one function per framework and a
  ``WORKLOAD`` spec, registered in ``workloads/__init__.py``.
- ``frameworks`` imports the frameworks (greenlane from ``src/`` if it is not
  installed); ``minihub`` is the minimal greenlet loop used as the floor.
"""
