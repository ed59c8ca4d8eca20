"""The blank feedback-form templates shipped in workbook_templates/, one per inspection type
of every framework in rules/frameworks.toml (so a type added there gets its form with no code).
An officer can copy one by hand for an inspection the tool did not write a form for: type the
Inspection ID and it reads back the same."""

from __future__ import annotations

from pathlib import Path

from automation.forms.spec import FormSpec, form_spec
from automation.forms.workbook import write_form
from automation.rules import load_rules


def form_templates() -> dict[str, FormSpec]:
    """File name -> form, for every inspection type of the shipped rules."""
    rules = load_rules()
    specs = (form_spec(rules, fw.key, t) for fw in rules.frameworks.values() for t in fw.types)
    return {f"{s.file_stem}.xlsx": s for s in specs}


def build_named(dest: Path) -> Path:
    """Write the blank form whose file name `dest` has (deterministic)."""
    return write_form(Path(dest), form_templates()[Path(dest).name])
