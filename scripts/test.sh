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
set +e
.venv/bin/pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "test.sh: pytest collected no tests; that is a failure" >&2
  exit 1
fi
exit "$rc"
