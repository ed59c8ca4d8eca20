"""Everything a step needs, handed in by the edge: no clock, files or mail inside the core."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

from automation.calendar import WorkingCalendar
from automation.config import Config
from automation.mail.states import SendState
from automation.model import Inspection, Tracker
from automation.rules import Rules
from automation.status import last_day

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
        return [r for r in self._records_of(inspection_id)
                if r.purpose.startswith(purpose_prefix) and r.state == SendState.SENT]

    def _records_of(self, inspection_id: str) -> list[Record]:
        # Asked for every inspection, several times a run: a scan of the whole journal each time
        # grew with rows x messages (years of a journal). Indexed once; a new history list, or one
        # grown since, is indexed again.
        index = self.__dict__.get("_by_inspection")
        if index is None or index[0] is not self.history or index[1] != len(self.history):
            by: dict[str, list[Record]] = {}
            for r in self.history:
                by.setdefault(r.inspection_id, []).append(r)
            index = self.__dict__["_by_inspection"] = (self.history, len(self.history), by)
        return index[2].get(inspection_id, [])

    def on_site_days(self, insp: Inspection) -> int:
        """How many days the inspection type lasts on site (rules data; default 2)."""
        return self.rules.contact_plan.on_site_days(insp.framework, insp.inspection_type)

    def last_day(self, insp: Inspection) -> date:
        """The inspection's last day on site (status.last_day), worked out once per start date and length."""
        days = self.on_site_days(insp)
        ends = self.__dict__.setdefault("_last_days", {})
        key = (insp.start_date, days)
        end = ends.get(key)
        if end is None:
            end = ends[key] = last_day(insp, days, self.calendar)
        return end
