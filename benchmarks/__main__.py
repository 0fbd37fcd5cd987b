"""`python -m benchmarks [--full] [--out BENCHMARKS.md]`."""

from benchmarks.runner import main

raise SystemExit(main())
