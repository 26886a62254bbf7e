#!/usr/bin/env bash
# The whole test suite: set-up, generated-code freshness, lint, types, layering, then every test.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/foundation -x).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/python scripts/genproto.py --check
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/lint-imports  # the layering of DESIGN.md (contracts in pyproject.toml)
# Two workers (pytest-xdist), a test file each at a time: most of a test's time is spent waiting on the
# processes it started (daemon, sandbox, sidecars), so two files at once keep both cores busy.
# GITOPSD_TEST_WORKERS=0 runs everything in this process (for pdb, or -p no:xdist).
workers=${GITOPSD_TEST_WORKERS:-2}
set +e
if [ "$workers" = 0 ]; then
  .venv/bin/pytest "$@"
else
  .venv/bin/pytest -n "$workers" --dist loadfile "$@"
fi
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "test.sh: pytest collected no tests; that is a failure" >&2
  exit 1
fi
exit "$rc"
