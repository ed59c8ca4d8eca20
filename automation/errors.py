"""One error hierarchy, and the Problem record that reports bad input by place."""

from __future__ import annotations

from dataclasses import dataclass


class TrackerError(Exception):
    """Base of every error the product reports to a person (never a traceback)."""

    exit_code = 2


class ConfigError(TrackerError):
    """The configuration file is missing a key or has a bad value."""

    exit_code = 3


class WorkbookError(TrackerError):
    """The workbook cannot be opened or lacks a required sheet or column."""

    exit_code = 4


class WorkbookUnreadable(WorkbookError):
    """The file is not a readable .xlsx: missing, a folder, .xls, CSV, encrypted, damaged."""


class WorkbookUnsafe(WorkbookError):
    """The file is refused before reading: a DOCTYPE/entities, or a part too big or too compressed."""


class WorkbookLocked(WorkbookError):
    """The workbook is open elsewhere or read-only; write-back waits for the next run."""

    exit_code = 5


class WorkbookNoRoom(WorkbookLocked):
    """Rows the tool must add are taken by something else; like a lock, the write-back waits."""


class GraphError(TrackerError):
    """Microsoft Graph (the SharePoint/OneDrive tracker) could not be reached or refused a request."""

    exit_code = 9


class GraphSignInExpired(GraphError):
    """The service account's sign-in has lapsed or needs MFA / conditional access: `graph login` again."""

    exit_code = 10


class GraphNotFound(GraphError):
    """The tracker, its folder or a sheet is not where the config says (moved, deleted, renamed)."""

    exit_code = 4  # as for a local tracker that cannot be opened


class GraphForbidden(GraphError):
    """The signed-in account may not read or write the tracker."""

    exit_code = 4


class GraphPreconditionFailed(GraphError):
    """An If-Match / If-None-Match write refused: someone else changed the item first (412)."""


class GraphCut(GraphError):
    """The connection dropped before Graph answered: the request may or may not have been applied."""


class GraphLocked(WorkbookLocked):
    """The tracker is locked (checked out, 423) or in an editing conflict (409): the write-back waits."""


class LeaseHeld(TrackerError):
    """Another machine runs the schedule for this tracker (its lease is live)."""

    exit_code = 11


class TemplateError(TrackerError):
    """An email or workbook template is missing or refers to an unknown field, or an email's
    purpose, template and step do not match (automation/purposes.py, email_templates/, automation/steps/)."""

    exit_code = 6


class MailError(TrackerError):
    """A message could not be built or handed to the mail transport."""

    exit_code = 7


class UnsafeFileName(TrackerError):
    """A file name made from tracker text would land outside the folder it belongs in."""

    exit_code = 2


class MissingExtra(TrackerError):
    """An optional backend is not installed; names the pip extra to install."""

    exit_code = 8

    def __init__(self, module: str, extra: str, purpose: str):
        super().__init__(
            f"{purpose} needs the '{module}' package, which is not installed. "
            f"Install it with: {install_command(extra)}"
        )
        self.extra = extra


def install_command(extra: str) -> str:
    """The pip command that adds an extra for how this copy was installed. The package is not
    on PyPI, so `pip install 'ofsted-tracker[x]'` would fetch nothing (or a squatter's package):
    from a checkout it is the editable install; otherwise the extra's own requirements."""
    from pathlib import Path

    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "pyproject.toml").is_file():
        return f"pip install -e '{checkout}[{extra}]'"
    try:
        from importlib.metadata import requires

        reqs = [r.split(";")[0].strip() for r in requires("ofsted-tracker") or ()
                if f'extra == "{extra}"' in r.replace("'", '"')]
    except Exception:  # metadata missing (a copied folder): say what the extra is called
        reqs = []
    return "pip install " + " ".join(f"'{r}'" for r in reqs) if reqs else f"install the '{extra}' extra of ofsted-tracker"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the tracker, said by place and with what to do."""

    severity: str  # "error" (the row is skipped) or "warning" (the row is used)
    sheet: str
    row: int | None
    column: str | None
    value: str
    message: str
    fix: str

    def where(self) -> str:
        """Sheet, row and column in the words an admin officer uses."""
        parts = [f"sheet '{self.sheet}'"]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column '{self.column}'")
        return ", ".join(parts)

    def __str__(self) -> str:
        shown = f" (value: '{visible(self.value)}')" if self.value not in ("", None) else ""
        return f"{self.severity.upper()}: {self.where()}{shown}: {self.message} — {self.fix}"


_INVISIBLE = {"\xa0": "[non-breaking space]", "\u202f": "[narrow non-breaking space]", "\u200b": "[zero-width space]",
              "\u200c": "[zero-width non-joiner]", "\u200d": "[zero-width joiner]", "\u2060": "[word joiner]",
              "\ufeff": "[byte-order mark]", "\r\n": " ", "\n": " ", "\r": " ", "\t": " "}


def visible(value) -> str:
    """A value as an officer would read it, on one line: the characters themselves (never
    Python escapes), with the invisible ones that cause mismatches named."""
    text = str(value)
    for ch, name in _INVISIBLE.items():
        text = text.replace(ch, name)
    return "".join(f"[U+{ord(c):04X}]" if ord(c) < 32 or 0x7f <= ord(c) < 0xa0 else c for c in text)


def require(module: str, extra: str, purpose: str):
    """Import an optional backend module or raise MissingExtra naming the extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtra(module, extra, purpose) from exc
