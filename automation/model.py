"""Domain dataclasses: what the tracker says, once read and checked."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from automation.errors import Problem


@dataclass(frozen=True)
class Staff:
    name: str
    role: str
    email: str
    phone: str = ""
    phase: str = ""
    row: int = 0


@dataclass(frozen=True)
class School:
    urn: str
    name: str
    governance: str
    phase: str
    email: str
    sim: str
    ai: str
    district: str = ""
    headteacher: str = ""
    headteacher_email: str = ""
    context_notes: str = ""
    row: int = 0
    trust: str = ""  # the academy trust (responsible body of an academy)
    diocese: str = ""  # for a church school
    chair: str = ""  # chair of governors (or of the local governing body)
    chair_email: str = ""

    @property
    def maintained(self) -> bool:
        return self.governance == "Maintained"

    @property
    def responsible_body(self) -> str:
        """Who answers for the school: the trust for an academy, else the LA (named by the caller)."""
        return self.trust if not self.maintained and self.trust else ""


@dataclass(frozen=True)
class Inspection:
    row: int
    inspection_id: str  # as in the sheet, or the one the tool assigns
    id_is_new: bool  # the sheet's cell is still blank
    urn: str
    inspection_type: str
    framework: str
    notified_at: datetime  # aware, Europe/London
    start_date: date
    status: str = ""
    lead_inspector: str = ""
    deferral: str = ""
    concerns_raised: str = ""
    concern_notes: str = ""
    contact_plan_sent: datetime | None = None
    final_feedback_at: datetime | None = None
    safeguarding: str = ""
    category_of_concern: str = ""
    grades: dict[str, str] = field(default_factory=dict)
    conduct_concerns: str = ""
    complaint_made: str = ""  # Yes: the school has made a formal complaint to Ofsted
    draft_report_received: date | None = None
    feedback_form_completed: date | None = None
    report_published: date | None = None
    learning_review: str = ""
    la_support_accepted: str = ""  # Yes / No / blank: an academy's answer to the LA's offer of support
    nominee: str = ""  # the school's inspection nominee (renewed framework)
    planning_call_at: datetime | None = None  # the lead inspector's planning call (renewed framework)
    # Plain columns declared in schema.py (Column.attr) that have no attribute above, by attr:
    # read as insp.<attr> all the same, so such a column needs no change here.
    fields: dict[str, object] = field(default_factory=dict)

    def __getattr__(self, name: str):
        # Called only when ordinary lookup fails.
        extra = self.__dict__.get("fields") or {}
        if name in extra:
            return extra[name]
        raise AttributeError(f"Inspection has no attribute {name!r} (nor a schema column with attr={name!r})")


@dataclass(frozen=True)
class FollowUp:
    inspection_id: str
    school_name: str
    action: str
    owner: str
    due: date | None
    done: str = ""
    reason: str = ""
    state: str = "Open"
    notes: str = ""
    key: str = ""
    row: int = 0


@dataclass(frozen=True)
class Holiday:
    name: str
    first: date
    last: date


@dataclass(frozen=True)
class SupportOffer:
    name: str
    provider: str = ""
    detail: str = ""
    access: str = ""


@dataclass
class Tracker:
    """Everything read from the workbook, with the problems found on the way."""

    schools: dict[str, School] = field(default_factory=dict)
    staff: dict[str, Staff] = field(default_factory=dict)
    inspections: list[Inspection] = field(default_factory=list)
    follow_ups: list[FollowUp] = field(default_factory=list)
    holidays: list[Holiday] = field(default_factory=list)
    support_offers: list[SupportOffer] = field(default_factory=list)
    logged_message_ids: set[str] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)
    header_rows: dict[str, int] = field(default_factory=dict)  # sheet -> the row its headers are on

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    def cem_for(self, school: School, cem_for_phase: dict[str, str]) -> Staff | None:
        """The County Education Manager who covers the school's phase."""
        want = cem_for_phase.get(school.phase, school.phase)
        cems = [s for s in self.staff.values() if s.role == "CEM"]
        for s in cems:
            if s.phase == want:
                return s
        return next((s for s in cems if s.phase == "All"), None)
