#!/usr/bin/env bash
# The demo: sets up, starts the gitopsd daemon with the default config on a temporary data
# dir, creates the article's Application from Argo CD YAML, shows it, and keeps serving until
# Ctrl-C, which stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python scripts/demo.py "$@"
