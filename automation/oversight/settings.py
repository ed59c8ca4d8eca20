"""Where the review checklists and oversight reports go: config [reports], relative to the
workbook's folder unless absolute; and when the run refreshes the oversight workbook."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from pathlib import Path

from automation.config import Config
from automation.config_schema import EVERY_RUN, Reports
from automation.errors import ConfigError

# "{tracker}" is the tracker's file name without .xlsx: two trackers in one folder keep apart.
DEFAULTS = {"reviews_dir": "reviews", "oversight": "reports/{tracker} oversight.xlsx", "summaries_dir": "reports"}
DEFAULT_REFRESH_AT = Reports().oversight_refresh_at


@dataclass(frozen=True)
class ReportPaths:
    reviews: Path
    oversight: Path
    summaries: Path


def report_paths(cfg: Config, workbook: Path) -> ReportPaths:
    """The configured (or default) places for checklists, the oversight workbook and summaries."""
    section = cfg.section("reports")
    got = {}
    for key, default in DEFAULTS.items():
        value = section.get(key, default)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{cfg.source}: key 'reports.{key}' = {value!r} should be a folder or file name "
                              f"like \"{default}\" — correct it.")
        got[key] = cfg.resolve(Path(workbook), value.replace("{tracker}", Path(workbook).stem))
    return ReportPaths(got["reviews_dir"], got["oversight"], got["summaries_dir"])


def refresh_time(cfg: Config) -> time | None:
    """When the run rebuilds the oversight workbook each day ([reports] oversight_refresh_at,
    local time), or None for "every run" (whenever its inputs changed)."""
    value = cfg.section("reports").get("oversight_refresh_at", DEFAULT_REFRESH_AT)
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0)
    text = " ".join(str(value).lower().replace("-", " ").split())
    if text == EVERY_RUN:
        return None
    try:
        h, m = text.split(":")
        return time(int(h), int(m))
    except ValueError:
        raise ConfigError(f"{cfg.source}: key 'reports.oversight_refresh_at' = {value!r} should be a time like "
                          f"\"{DEFAULT_REFRESH_AT}\", or \"{EVERY_RUN}\" — correct it.") from None
