"""Everything a step needs, handed in by the edge: no clock, files or mail inside the core."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from automation.calendar import WorkingCalendar
from automation.config import Config
from automation.mail.states import SendState
from automation.model import Inspection, Tracker
from automation.rules import Rules

if TYPE_CHECKING:  # only named here: a look at the tracker need not import the mail code (jinja2)
    from automation.mail.journal import Record
    from automation.mail.message import Renderer


@dataclass
class Context:
    tracker: Tracker
    rules: Rules
    config: Config
    calendar: WorkingCalendar
    now: datetime  # aware, Europe/London
    history: list[Record]
    renderer: Renderer
    notes: list[str] = field(default_factory=list)  # lines for the run summary
    logged_sent: set[str] = field(default_factory=set)  # Message-IDs the Email log shows as sent
    forms: list = field(default_factory=list)  # completed feedback forms read by the edge (automation/forms)

    def sent(self, inspection_id: str, purpose_prefix: str) -> list[Record]:
        """Journal records of a purpose for an inspection that were sent, oldest first. Only sent:
        a message that may have gone is held back by the delivery layer, not treated as sent here."""
        return [r for r in self.history if r.inspection_id == inspection_id
                and r.purpose.startswith(purpose_prefix) and r.state == SendState.SENT]

    def on_site_days(self, insp: Inspection) -> int:
        """How many days the inspection type lasts on site (rules data; default 2)."""
        return self.rules.contact_plan.on_site_days(insp.framework, insp.inspection_type)
