#!/usr/bin/env bash
# One command: set up, make a sample tracker in demo/ (a folder of its own, never a
# committed file), and run the main job on the embedded default — messages land as
# .eml files in demo/outbox/, nothing leaves the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e .
rm -rf demo && mkdir demo
.venv/bin/ofsted-tracker sample demo/tracker.xlsx
.venv/bin/ofsted-tracker run demo/tracker.xlsx || true   # exit 1 = something needs attention: see above
echo
echo "Messages written to demo/outbox/:"
ls -1 demo/outbox | head -20
echo "Open demo/tracker.xlsx to see the Status, Email log and Problems sheets."
