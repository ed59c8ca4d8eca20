"""Where the shipped templates live (a checkout, or a wheel's shared data)."""

from __future__ import annotations

import sys
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]
_SHARE = Path(sys.prefix) / "share" / "ofsted-tracker"


def _find(name: str) -> Path:
    for base in (_REPO, _SHARE):
        if (base / name).is_dir():
            return base / name
    return _REPO / name


def email_templates_dir() -> Path:
    """The folder of jinja2 email templates shipped with the product."""
    return _find("email_templates")


def workbook_templates_dir() -> Path:
    """The folder of workbook templates shipped with the product."""
    return _find("workbook_templates")


def rules_dir() -> Path:
    """The folder of the default rules data (editable copies may be configured)."""
    return Path(__file__).resolve().parent / "rules"
