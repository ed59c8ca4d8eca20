"""Where the review checklists and oversight reports go: config [reports], relative to the
workbook's folder unless absolute."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from automation.config import Config
from automation.errors import ConfigError

# "{tracker}" is the tracker's file name without .xlsx: two trackers in one folder keep apart.
DEFAULTS = {"reviews_dir": "reviews", "oversight": "reports/{tracker} oversight.xlsx", "summaries_dir": "reports"}


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
