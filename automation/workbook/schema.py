"""The tracker contract (shared/TRACKER_CONTRACT.md) as data: one change here changes
the template, the reader and the validator together."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = "text"  # text urn email date datetime choice staff grade yesno long
    required: bool = False
    width: int = 16
    hint: str = ""
    choices: str = ""  # the vocabulary key (rules/frameworks.toml) for kind=choice
    framework: str = ""  # kind=grade: whose scale; kind=choice, "row": the row's framework's own list
    tool: bool = False  # written by the tool, not typed
    # The Inspection attribute a plain column fills, read by its kind alone (rowread.plain_value):
    # a new such column is this one line plus the code that uses it. Blank: read by its own code
    # (the columns the checks of a row are built on, and the grades).
    attr: str = ""
    severity: str = ""  # how a bad value is reported; blank: by kind (WARNING_KINDS)

    @property
    def bad_value(self) -> str:
        """How a bad value here is listed on the Problems sheet: "error" or "warning"."""
        return self.severity or ("warning" if self.kind in WARNING_KINDS else "error")


# A misread outcome, date or choice should not stop the emails an inspection still needs.
WARNING_KINDS = frozenset({"choice", "yesno", "date", "grade"})


@dataclass(frozen=True)
class Sheet:
    name: str
    columns: tuple[Column, ...]
    table: str = ""  # Excel table name in the template
    tool: bool = False  # the whole sheet is the tool's
    key: str = ""  # header that identifies a row (for duplicates)
    hint: str = ""

    def headers(self) -> list[str]:
        return [c.header for c in self.columns]

    def column(self, header: str) -> Column:
        try:
            return self._by_header[header.strip().lower()]
        except KeyError:
            raise KeyError(header) from None

    @cached_property
    def required_headers(self) -> frozenset[str]:
        """The headers a row must fill (looked up for every blank cell the validator reads)."""
        return frozenset(c.header for c in self.columns if c.required)

    @cached_property
    def _by_header(self) -> dict[str, Column]:
        # Looked up for every cell the validator reads: a dict, not a scan.
        return {c.header.lower(): c for c in self.columns}


C = Column
EIF_AREAS = ("Quality of education", "Behaviour and attitudes", "Personal development",
             "Leadership and management")
RENEWED_AREAS = ("Inclusion", "Curriculum and teaching", "Achievement", "Attendance and behaviour",
                 "Personal development and wellbeing", "Leadership and governance")
# Provision judgements (EIF 2024, graded 1-4) and renewed-framework evaluation areas share a name
# and a column: the row's framework decides which scale the value is read on.
SHARED_AREAS = ("Early years", "Sixth form")

SCHOOLS = Sheet("Schools", (
    C("URN", "urn", True, 10, "DfE unique reference number: 6 or 7 digits."),
    C("School name", "text", True, 34),
    C("Governance", "choice", True, 14, "Maintained, Academy, Independent or Other.", "governance"),
    C("Phase", "choice", True, 12, "Primary, Secondary, Special, Nursery, All-through or PRU.", "phase"),
    C("District", "text", False, 14, "Optional: used to group the oversight figures."),
    C("School email", "email", True, 30, "The school office address for LA acknowledgements."),
    C("Headteacher", "text", False, 22),
    C("Headteacher email", "email", False, 30, "Optional: when filled, school emails go here with the office in copy."),
    C("SIM", "staff", True, 20, "A name from the Staff sheet."),
    C("AI", "staff", True, 20, "A name from the Staff sheet (attached inspector / LLP)."),
    C("Context notes", "long", False, 40, "INTERNAL: seen by the SIM and AI only, never sent to a school."),
    C("Trust", "text", False, 28, "An academy's trust (filled from GIAS by import-schools): it holds the statutory duties."),
    C("Diocese", "text", False, 22, "A church school's diocese (filled from GIAS by import-schools)."),
    C("Chair of governors", "text", False, 22, "Named in the combined LA and governors support after concerns."),
    C("Chair of governors email", "email", False, 30, "Optional."),
), table="SchoolsTable", key="URN")

STAFF = Sheet("Staff", (
    C("Name", "text", True, 22, "Unique: the name used in the SIM, AI and Owner columns."),
    C("Role", "choice", True, 18, "SIM, AI, CEM, Governor Services, EPS, Safeguarding lead or Admin.", "staff_role"),
    C("Email", "email", True, 32),
    C("Phone", "text", False, 16, "Shown to schools for SIMs and AIs."),
    C("Phase", "choice", False, 12, "For CEMs: Primary, Secondary or All.", "cem_phase"),
), table="StaffTable", key="Name")

INSPECTIONS = Sheet("Inspections", (
    C("Inspection ID", "text", False, 21, "Filled in by the tool.", tool=True),
    C("Status", "text", False, 22, "Filled in by the tool.", tool=True, attr="status"),
    C("URN", "urn", True, 10, "The school's URN, as on the Schools sheet."),
    C("Inspection type", "choice", True, 18, "Graded, Ungraded, Monitoring, Urgent (2024); Full, Monitoring, Focused monitoring (renewed).", "inspection_type"),
    C("Notified at", "datetime", True, 17, "When Ofsted called: dd/mm/yyyy hh:mm."),
    C("Start date", "date", True, 12, "First day on site: dd/mm/yyyy."),
    C("Lead inspector", "text", False, 20, attr="lead_inspector"),
    C("Deferral", "choice", False, 12, "Blank, Requested, Granted or Refused.", "deferral"),
    C("LA support accepted", "yesno", False, 12, "Academies and other non-maintained schools: Yes when the school "
      "accepts the LA's offer of support (daily contact, feedback attendance); blank or No: acknowledge and offer only.",
      attr="la_support_accepted"),
    C("Nominee", "text", False, 20, "Renewed framework: the school's inspection nominee.", attr="nominee"),
    C("Planning call at", "datetime", False, 17, "Renewed framework: the lead inspector's planning call, dd/mm/yyyy hh:mm.", attr="planning_call_at"),
    C("Concerns raised", "yesno", False, 10, "Yes when the school or the AI raises a concern.", attr="concerns_raised"),
    C("Concern notes", "long", False, 36, "INTERNAL: never sent to a school.", attr="concern_notes"),
    C("Contact plan sent", "datetime", False, 17, "Filled in by the tool.", tool=True),
    C("Final feedback at", "datetime", False, 17, "dd/mm/yyyy hh:mm"),
    # framework="row": the values are the row's framework's own list (Framework.safeguarding).
    C("Safeguarding", "choice", False, 13, "Effective/Ineffective (2024) or Met/Not met (renewed).", "safeguarding",
      framework="row", attr="safeguarding"),
    C("Category of concern", "choice", False, 22, "Blank, Serious weaknesses, Requires significant improvement, Special measures.", "category_of_concern", attr="category_of_concern"),
    *(C(a, "grade", False, 14, "1-4 or the words (2024 framework).", framework="eif2024") for a in EIF_AREAS),
    *(C(a, "grade", False, 14, "Exceptional ... Urgent improvement (renewed framework).", framework="renewed") for a in RENEWED_AREAS),
    *(C(a, "grade", False, 14, "Provision judgement 1-4 (2024) or Exceptional ... Urgent improvement (renewed).",
        framework="any") for a in SHARED_AREAS),
    C("Conduct concerns", "yesno", False, 10, attr="conduct_concerns"),
    C("Complaint made", "yesno", False, 10, "Yes when the school has made a formal complaint to Ofsted.", attr="complaint_made"),
    C("Draft report received", "date", False, 12, "dd/mm/yyyy: starts the 5 working days for factual-accuracy comments.", attr="draft_report_received"),
    C("Feedback form completed", "date", False, 12, attr="feedback_form_completed"),
    C("Report published", "date", False, 12, attr="report_published"),
    C("Learning review", "choice", False, 14, "Blank, Requested, In progress or Complete.", "learning_review", attr="learning_review"),
    # Last, so the typed columns keep their places in existing trackers (users may move it beside URN).
    C("School", "text", False, 30, "Filled in by the tool: the school's name for the URN.", tool=True),
), table="InspectionsTable", key="Inspection ID")

FOLLOW_UPS = Sheet("Follow-ups", (
    C("Inspection ID", "text", True, 21, tool=True),
    C("School name", "text", False, 30, tool=True),
    C("Action", "long", True, 44, tool=True),
    C("Owner", "staff", False, 20, tool=True),
    C("Due", "date", False, 12, tool=True),
    C("Done", "text", False, 12, "Type the date you did it, or Yes."),
    C("Reason", "long", False, 40, tool=True),
    C("State", "text", False, 16, "Open, Done or No longer needed: kept by the tool.", tool=True),
    C("Notes", "long", False, 30, "Your notes: the tool keeps them."),
    C("Key", "text", False, 28, "The tool's reference for this action: please leave as it is.", tool=True),
), table="FollowUpsTable", tool=True, key="Key")

EMAIL_LOG = Sheet("Email log", (
    C("When", "datetime", False, 17, tool=True),
    C("Inspection ID", "text", False, 21, tool=True),
    C("Template", "text", False, 20, tool=True),
    C("Recipients", "long", False, 40, tool=True),
    C("Subject", "long", False, 44, tool=True),
    C("Transport", "text", False, 10, tool=True),
    C("Result", "text", False, 24, tool=True),
    C("Message ID", "text", False, 40, tool=True),
), table="EmailLogTable", tool=True, key="Message ID")

PROBLEMS = Sheet("Problems", (
    C("Found at", "datetime", False, 17, tool=True),
    C("Severity", "text", False, 9, tool=True),
    C("Sheet", "text", False, 13, tool=True),
    C("Row", "text", False, 6, tool=True),
    C("Column", "text", False, 20, tool=True),
    C("Value", "text", False, 22, tool=True),
    C("Problem", "long", False, 50, tool=True),
    C("What to do", "long", False, 50, tool=True),
), table="ProblemsTable", tool=True)

HOLIDAYS = Sheet("Holidays", (
    C("Name", "text", True, 28, "e.g. Autumn half term 2026"),
    C("First day", "date", True, 12),
    C("Last day", "date", True, 12),
), table="HolidaysTable", hint="School holidays: not school days. Bank holidays are known already.")

SUPPORT = Sheet("Support offers", (
    C("Offer", "text", True, 36),
    C("Provider", "text", False, 30),
    C("What it is", "long", False, 60),
    C("How to access", "long", False, 40),
    C("Include in school emails", "yesno", False, 12, "Yes or No: No leaves the offer out of emails."),
), table="SupportTable", key="Offer")

# Sheets the contract requires (reader refuses a workbook without them).
REQUIRED = (SCHOOLS, STAFF, INSPECTIONS, FOLLOW_UPS, EMAIL_LOG)
# Sheets the tool adds when missing (older trackers).
OPTIONAL = (PROBLEMS, HOLIDAYS, SUPPORT)
ALL = REQUIRED + OPTIONAL
BY_NAME = {s.name: s for s in ALL}
