"""`python -m tests.bench [--quick]`: run every benchmark (see tests/bench/README.md)."""

from tests.bench.run_all import main

raise SystemExit(main())
