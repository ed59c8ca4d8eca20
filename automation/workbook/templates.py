"""Every shipped workbook template, built from code so a change to the contract is one
change. `python -m automation.workbook.templates` rebuilds them; a test checks the
committed files are up to date. Builds are deterministic: same code, same bytes."""

from __future__ import annotations

import importlib
import re
import sys
import zipfile
from io import BytesIO
from pathlib import Path

from automation.paths import workbook_templates_dir

# file name -> "module:function" taking the destination path. Each issue adds its own line.
TEMPLATES: dict[str, str] = {
    "tracker_template.xlsx": "automation.workbook.template:build_tracker_template",
    "learning_review.xlsx": "automation.review.checklist:build_learning_review_template",
}


def _feedback_forms() -> dict[str, str]:
    # One feedback form per inspection type in rules/frameworks.toml: data, not a list here.
    from automation.forms.templates import form_templates

    return {name: "automation.forms.templates:build_named" for name in form_templates()}


TEMPLATES.update(_feedback_forms())

FIXED_TIME = (2026, 1, 1, 0, 0, 0)
_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def normalise_zip(path: Path) -> None:
    """Rewrite an .xlsx with fixed timestamps, so rebuilding gives identical bytes."""
    data = Path(path).read_bytes()
    out = BytesIO()
    with zipfile.ZipFile(BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, FIXED_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                # openpyxl stamps the save time here: fix it, or every build differs.
                data = _MODIFIED.sub(rb"\g<1>2026-01-01T00:00:00Z\g<2>", data)
            dst.writestr(fixed, data)
    Path(path).write_bytes(out.getvalue())


def build(name: str, dest: Path) -> Path:
    """Build one registered template to dest (normalised for reproducibility)."""
    module, func = TEMPLATES[name].split(":")
    getattr(importlib.import_module(module), func)(Path(dest))
    normalise_zip(dest)
    return Path(dest)


def build_all(folder: Path | None = None) -> list[Path]:
    """Build every registered template into folder (default: workbook_templates/)."""
    folder = Path(folder or workbook_templates_dir())
    folder.mkdir(parents=True, exist_ok=True)
    return [build(name, folder / name) for name in TEMPLATES]


if __name__ == "__main__":
    for p in build_all(Path(sys.argv[1]) if len(sys.argv) > 1 else None):
        print(f"built {p}")
