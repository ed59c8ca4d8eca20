"""The run's steps, found by data: every module here with a STEP (automation/steps/base.py)
is a step. Each is a plain function Context -> list of messages to send."""

from __future__ import annotations

from pathlib import Path

from automation.errors import TemplateError
from automation.mail.message import check_folder, check_templates
from automation.paths import email_templates_dir
from automation.purposes import templated
from automation.steps.base import Step, discover

try:
    REGISTRY: list[Step] = discover(__name__, __path__)
except TemplateError as exc:
    # The templates' problems too, so that someone adding an email sees every file still to do at once.
    raise TemplateError("\n".join([str(exc), *check_templates(email_templates_dir(), templated())])) from None
STEPS: list = [s.run for s in REGISTRY]  # in run order
# The run's stages in order, and the purposes each one sends (a call's purpose belongs to CONTACT_PLAN_CALL).
STAGES: tuple = tuple((s.stage, s.purposes) for s in REGISTRY)


def check_emails(folder: Path | None = None) -> None:
    """The emails checked as the run checks them, before anything is read or sent: each purpose's
    step (done when this package is imported), its template, and the layout; else a TemplateError."""
    check_folder(folder or email_templates_dir())
