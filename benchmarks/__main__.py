"""``python -m benchmarks``: run the benchmark suite and print a Markdown table."""

from benchmarks.runner import main

raise SystemExit(main())
