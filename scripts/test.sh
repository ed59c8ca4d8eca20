#!/usr/bin/env bash
# One command: set up a virtual environment with the test extras and run the whole suite
# (what CI runs). Quick loop while developing: .venv/bin/python -m pytest  (leaves out slow tests).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
# Everything, the slow tests included (a plain `pytest` leaves them out: see pyproject.toml);
# LibreOffice, when installed, lets the rendering tests run instead of skipping.
# Bytecode caches on (some shells turn them off): every console-script run the tests start then
# imports the package from its .pyc instead of compiling it, and each xdist worker reads the
# assertion-rewritten test modules from pytest's cache instead of rewriting all of them.
# The __pycache__ folders are git-ignored.
unset PYTHONDONTWRITEBYTECODE
exec .venv/bin/python -m pytest -q -m "slow or not slow" -n 2 "$@"
