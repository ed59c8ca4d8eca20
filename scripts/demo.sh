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
# A fixed, sensible clock, so the demo tells the same story whenever it is run: the sample's
# county dated around Tuesday 1 December 2026, and the run at 08:30 that morning, after every
# notification in it (none is "later today"), the day after Monday's routine notifications.
TODAY=2026-12-01
NOW=2026-12-01T08:30
.venv/bin/ofsted-tracker sample demo/tracker.xlsx --today "$TODAY"
echo "Running as if it were $NOW (London time): ofsted-tracker run demo/tracker.xlsx --now $NOW"
.venv/bin/ofsted-tracker run demo/tracker.xlsx --now "$NOW" || true   # exit 1 = something needs attention: see above
echo
echo "Messages written to demo/outbox/:"
ls -1 demo/outbox | head -20
echo "Open demo/tracker.xlsx to see the Status, Email log and Problems sheets."
