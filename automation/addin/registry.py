"""The ribbon's actions as one registry: the ribbon XML, the VBA dispatcher and the
Python entry point are all generated from or checked against this list."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from automation.addin import actions


@dataclass(frozen=True)
class Action:
    id: str  # the button's tag: what the VBA dispatcher passes to Python
    label: str
    icon: str  # an Office imageMso name
    function: Callable  # (Session) -> Outcome
    needs_selected_row: bool
    group: str
    tip: str


SELECTED, TRACKER = "Selected inspection", "Whole tracker"

ACTIONS: tuple[Action, ...] = (
    Action("send_plan", "Send contact plan", "FileSendAsAttachment", actions.send_contact_plan, True, SELECTED,
           "Sends the contact plan for the inspection on the selected row, if it is due and not already sent."),
    Action("record_concern", "Record concern and escalate", "HighImportance", actions.record_concern, True, SELECTED,
           "Marks Concerns raised = Yes on the selected row and tells the SIM, AI and CEM at once."),
    Action("learning_review", "Learning review", "ReviewNewComment", actions.learning_review, True, SELECTED,
           "Produces the learning-review checklist for the inspection on the selected row."),
    Action("preview", "Preview emails", "FilePrintPreview", actions.preview, False, TRACKER,
           "Shows every email a run would send now, to whom and why. Sends nothing."),
    Action("compile_followups", "Compile follow-ups", "CreateTask", actions.compile_follow_ups, False, TRACKER,
           "Brings the Follow-ups sheet up to date. Your Done and Notes are kept."),
    Action("validate", "Validate tracker", "DataValidation", actions.validate, False, TRACKER,
           "Checks the tracker and lists its problems on the Problems sheet."),
    Action("run_now", "Run now", "Refresh", actions.run_now, False, TRACKER,
           "Does what the scheduled run does, now: sends what is due and updates the tracker."),
)

BY_ID = {a.id: a for a in ACTIONS}

_SAFE_ID = re.compile(r"^[a-z][a-z0-9_]*$")


def check_registry(actions_: tuple[Action, ...] = ACTIONS) -> None:
    """Ids are unique and safe to put in VBA and Python string literals."""
    seen = set()
    for a in actions_:
        if not _SAFE_ID.match(a.id) or a.id in seen:
            raise ValueError(f"ribbon action id {a.id!r} must be unique lower_case letters, digits and _")
        seen.add(a.id)


# Checked once at import: the ids are spliced into generated VBA and Python, so a bad one
# must stop the add-in build (and every test importing the ribbon), not a user's click.
check_registry()
