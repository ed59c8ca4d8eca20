"""The blank feedback-form templates shipped in workbook_templates/, one per inspection type
(registered in automation/workbook/templates.py). An officer can copy one by hand for an
inspection the tool did not write a form for: type the Inspection ID and it reads back the same."""

from __future__ import annotations

from pathlib import Path

from automation.forms.spec import form_spec
from automation.forms.workbook import write_form
from automation.rules import load_rules


def build(framework: str, inspection_type: str, dest: Path) -> Path:
    """A blank form for one type, from the shipped rules (deterministic)."""
    return write_form(Path(dest), form_spec(load_rules(), framework, inspection_type))


def build_eif2024_graded(dest: Path) -> Path:
    return build("eif2024", "Graded", dest)


def build_eif2024_ungraded(dest: Path) -> Path:
    return build("eif2024", "Ungraded", dest)


def build_eif2024_monitoring(dest: Path) -> Path:
    return build("eif2024", "Monitoring", dest)


def build_eif2024_urgent(dest: Path) -> Path:
    return build("eif2024", "Urgent", dest)


def build_renewed_full(dest: Path) -> Path:
    return build("renewed", "Full", dest)


def build_renewed_monitoring(dest: Path) -> Path:
    return build("renewed", "Monitoring", dest)


def build_renewed_focused_monitoring(dest: Path) -> Path:
    return build("renewed", "Focused monitoring", dest)
