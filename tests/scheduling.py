"""Longest files first, so that neither of the two xdist workers is left running a long file
alone at the end: the suite is a few files of console-script runs (minutes in all) and many
files of quick tests, and with `--dist loadfile` (pyproject.toml) a long file handed out last
decides the wall time.

A file's weight is the sum of its tests' last measured durations (pytest's cache, written by
every run) or, when one of its tests was never measured on this checkout (a fresh CI clone), the
file's seconds in tests/durations.json. Tests inside a file keep pytest's order. Ordering only:
nothing is skipped or changed.

To refresh durations.json after a full run: `python -m tests.scheduling` (from the checkout)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

CACHE_KEY = "ofsted-tracker/test-seconds"
DURATIONS = Path(__file__).with_name("durations.json")
UNKNOWN_FILE = 5.0  # a new test file: neither first nor left to the very end


def file_seconds() -> dict[str, float]:
    """Seconds per test file (relative to tests/), as measured when durations.json was written."""
    try:
        return {k: float(v) for k, v in json.loads(DURATIONS.read_text(encoding="utf-8")).items()}
    except (OSError, ValueError):
        return {}


def order(items: list, measured: dict[str, float], static: dict[str, float]) -> list:
    """The items, whole files at a time, heaviest file first (stable for equal weights)."""
    by_file: dict[str, list] = defaultdict(list)
    for item in items:
        by_file[item.nodeid.split("::", 1)[0]].append(item)
    weight = {}
    for name, group in by_file.items():
        short = name.split("/", 1)[-1]
        if all(i.nodeid in measured for i in group):
            weight[name] = sum(measured[i.nodeid] for i in group)
        else:
            weight[name] = static.get(short, UNKNOWN_FILE)
    names = sorted(by_file, key=lambda n: -weight[n])  # dicts keep collection order: sorted() is stable
    return [i for n in names for i in by_file[n]]


def _measured(config) -> dict[str, float]:
    # xdist workers use the controller's copy (pytest_configure_node): both must collect the same
    # order, and another pytest in the same checkout may rewrite the cache between their reads.
    given = getattr(config, "workerinput", {}).get("ofsted_test_seconds")
    if given is not None:
        return given
    cache = getattr(config, "cache", None)
    return dict(cache.get(CACHE_KEY, {})) if cache is not None else {}


@pytest.hookimpl(trylast=True)  # after pytest's own ordering by fixture scope, inside each file
def pytest_collection_modifyitems(session, config, items):
    """Whole files, heaviest first."""
    items[:] = order(items, _measured(config), file_seconds())


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """xdist (controller): hand each worker the durations this run orders by."""
    node.workerinput["ofsted_test_seconds"] = _measured(node.config)


class Recorder:
    """Collects each test's setup + call + teardown seconds and merges them into the cache."""

    def __init__(self, config):
        self.config, self.seconds = config, defaultdict(float)

    def pytest_runtest_logreport(self, report):
        self.seconds[report.nodeid] += report.duration

    def pytest_sessionfinish(self, session):
        cache = getattr(self.config, "cache", None)
        if cache is None or not self.seconds:
            return
        merged = dict(cache.get(CACHE_KEY, {}))
        merged.update({k: round(v, 3) for k, v in self.seconds.items()})
        cache.set(CACHE_KEY, merged)


def pytest_configure(config):
    """Record durations where every report arrives."""
    if not hasattr(config, "workerinput"):  # the controller (or a run without xdist) sees every report
        config.pluginmanager.register(Recorder(config), "ofsted-tracker-durations")


def main() -> None:
    """Write durations.json from this checkout's pytest cache: seconds per test file."""
    cache = Path(__file__).resolve().parents[1] / ".pytest_cache" / "v" / CACHE_KEY
    seconds = json.loads(cache.read_text(encoding="utf-8"))
    files: dict[str, float] = defaultdict(float)
    for nodeid, s in seconds.items():
        files[nodeid.split("::", 1)[0].split("/", 1)[-1]] += s
    table = {k: round(v) for k, v in sorted(files.items(), key=lambda kv: -kv[1]) if round(v) >= 1}
    DURATIONS.write_text(json.dumps(table, indent=1) + "\n", encoding="utf-8")
    print(f"{DURATIONS}: {len(table)} files, {sum(table.values())} s")


if __name__ == "__main__":
    main()
