"""A realistic sample tracker for an invented county: about 40 schools, their officers and
inspections at every stage in both frameworks, dated around a given day. Invented names and
example.org addresses only. Built from the template, so it always matches the contract."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

from openpyxl.utils import get_column_letter

from automation.calendar import WorkingCalendar
from automation.rules import Rules
from automation.workbook import schema
from automation.workbook.template import FORMATS, new_tracker

LA = "county.example.org"
STAFF = [  # name, role, phone, phase
    ("Helen Marsh", "SIM", "01632 960101", ""), ("David Okafor", "SIM", "01632 960102", ""),
    ("Priya Shah", "SIM", "01632 960103", ""), ("Tom Caldwell", "SIM", "01632 960104", ""),
    ("Ruth Benning", "AI", "01632 960111", ""), ("Sanjay Patel", "AI", "01632 960112", ""),
    ("Claire Dunmore", "AI", "01632 960113", ""), ("Marcus Hale", "AI", "01632 960114", ""),
    ("Joanna Frith", "AI", "01632 960115", ""), ("Ian Lowther", "AI", "01632 960116", ""),
    ("Margaret Ellison", "CEM", "01632 960121", "Primary"), ("Graham Stroud", "CEM", "01632 960122", "Secondary"),
    ("Nadia Khan", "Governor Services", "01632 960131", ""), ("Owen Price", "EPS", "01632 960141", ""),
    ("Lucy Barnes", "Admin", "01632 960151", ""),
]
DISTRICTS = ("Northvale", "Eastmere", "Southbrook", "Westford")
# name, governance, phase, headteacher
SCHOOLS = [
    ("Ashcombe Primary School", "Maintained", "Primary", "Sarah Whitlock"),
    ("Birchfield Infant School", "Maintained", "Primary", "James Arden"),
    ("Castlebrook Academy", "Academy", "Secondary", "Fiona McLeod"),
    ("Dunmere CofE Primary School", "Maintained", "Primary", "Rebecca Thorne"),
    ("Elmstead Junior School", "Maintained", "Primary", "Michael Osei"),
    ("Foxhollow Special School", "Maintained", "Special", "Anita Desai"),
    ("Greywater Academy", "Academy", "Secondary", "Paul Henshaw"),
    ("Hartley Green Primary School", "Academy", "Primary", "Emma Lucas"),
    ("Ivybridge Nursery School", "Maintained", "Nursery", "Karen Doyle"),
    ("Juniper Hill Primary School", "Maintained", "Primary", "Daniel Frost"),
    ("Kingsmead School", "Maintained", "Secondary", "Alison Grant"),
    ("Larkspur Primary Academy", "Academy", "Primary", "Neil Parsons"),
    ("Meadowbank Primary School", "Maintained", "Primary", "Hannah Cole"),
    ("Northgate Pupil Referral Unit", "Maintained", "PRU", "Stephen Ward"),
    ("Oakridge All-through Academy", "Academy", "All-through", "Victoria Hume"),
    ("Pinecroft Infant School", "Maintained", "Primary", "Gemma Lake"),
    ("Queensway Primary School", "Maintained", "Primary", "Robert Nash"),
    ("Riverside Academy", "Academy", "Secondary", "Catherine Bell"),
    ("St Aldhelm's Catholic Primary School", "Maintained", "Primary", "Martin Keogh"),
    ("Thornbury Junior School", "Maintained", "Primary", "Lisa Mortimer"),
    ("Upton Vale Primary School", "Academy", "Primary", "Simon Reeve"),
    ("Valley Park School", "Maintained", "Secondary", "Jane Harrow"),
    ("Willowdene Primary School", "Maintained", "Primary", "Chris Tanner"),
    ("Yewtree Academy", "Academy", "Secondary", "Olivia Strand"),
    ("Ambleside Primary School", "Maintained", "Primary", "Peter Coombes"),
    ("Brackenwood Primary School", "Academy", "Primary", "Zoe Fenwick"),
    ("Coldharbour Community School", "Maintained", "Secondary", "Mark Ingram"),
    ("Deepdale Infant School", "Maintained", "Primary", "Sophie Akhtar"),
    ("Eastfield Academy", "Academy", "Secondary", "Andrew Lyle"),
    ("Fernhill Primary School", "Maintained", "Primary", "Rachel Dunn"),
    ("Glenmoor Special Academy", "Academy", "Special", "Gary Webb"),
    ("Hollybank Primary School", "Maintained", "Primary", "Nicola Price"),
    ("Kestrel Heath Primary School", "Academy", "Primary", "Ben Harper"),
    ("Longmead Primary School", "Maintained", "Primary", "Tessa Vaughan"),
    ("Marshside Junior School", "Maintained", "Primary", "Ahmed Rahman"),
    ("Netherby School", "Academy", "Secondary", "Louise Carter"),
    ("Orchard Lea Primary School", "Maintained", "Primary", "Philip Gray"),
    ("Parkstone Nursery School", "Maintained", "Nursery", "Diane Hill"),
    ("Redlands Primary School", "Maintained", "Primary", "Sean Murphy"),
    ("Summerfield Academy", "Academy", "All-through", "Harriet Cross"),
]
CONTEXT = {
    2: "Headteacher returned from long-term sick leave in September; chair of governors new this term.",
    5: "Two deaths in the school community last spring; staff still affected. Handle with care.",
    10: "Interim headteacher since Easter; substantive appointment made for January.",
    17: "Trust is rebrokering this academy; leadership turbulence expected.",
    26: "Head is in their first year of headship (new-headteacher induction).",
}
HOLIDAYS = [
    ("Autumn half term 2026", date(2026, 10, 26), date(2026, 10, 30)),
    ("Christmas holiday 2026", date(2026, 12, 21), date(2027, 1, 1)),
    ("Spring half term 2027", date(2027, 2, 15), date(2027, 2, 19)),
    ("Easter holiday 2027", date(2027, 3, 29), date(2027, 4, 9)),
    ("Summer half term 2027", date(2027, 5, 31), date(2027, 6, 4)),
    ("Summer holiday 2027", date(2027, 7, 23), date(2027, 9, 1)),
]
RENEWED_OK = {"Inclusion": "Expected standard", "Curriculum and teaching": "Expected standard",
              "Achievement": "Expected standard", "Attendance and behaviour": "Strong standard",
              "Personal development and wellbeing": "Strong standard", "Leadership and governance": "Expected standard"}


def _slug(name: str) -> str:
    words = [w for w in name.lower().replace("'", "").split() if w not in ("school", "primary", "the", "cofe")]
    return "-".join(words)[:30]


def _staff_rows():
    for name, role, phone, phase in STAFF:
        first, last = name.lower().split(" ", 1)
        yield {"Name": name, "Role": role, "Email": f"{first}.{last.replace(' ', '')}@{LA}",
               "Phone": phone, "Phase": phase}


def _school_rows():
    sims = [s[0] for s in STAFF if s[1] == "SIM"]
    ais = [s[0] for s in STAFF if s[1] == "AI"]
    for i, (name, gov, phase, head) in enumerate(SCHOOLS):
        slug = _slug(name)
        row = {"URN": str(116000 + 37 * i if gov == "Maintained" else 140000 + 53 * i), "School name": name,
               "Governance": gov, "Phase": phase, "District": DISTRICTS[i % 4],
               "School email": f"office@{slug}.sch.example.org", "Headteacher": head,
               "SIM": sims[i % len(sims)], "AI": ais[i % len(ais)], "Context notes": CONTEXT.get(i)}
        if i % 3:  # a third of schools have no headteacher email: office address used
            row["Headteacher email"] = f"head@{slug}.sch.example.org"
        yield row


def _inspections(today: date, cal: WorkingCalendar, urns: list[str]):
    """One row per stage of an inspection's life, dated around today."""
    wd = lambda n: cal.add_working_days(cal.on_or_after(today), n)  # noqa: E731 - n working days from today
    at = lambda d, h, m=0: datetime.combine(d, time(h, m))  # noqa: E731
    sent = lambda d: at(d, 11, 20)  # noqa: E731 - the plan went the morning it was notified
    rows = [
        # Just notified this morning: the run sends the contact plan.
        dict(URN=urns[0], t="Full", n=at(wd(0), 9, 40), s=wd(1), li="HMI Carol Jenkins"),
        # Just notified, academy with context, head asks to defer.
        dict(URN=urns[2], t="Full", n=at(wd(0), 10, 5), s=wd(1), li="HMI Raj Mehta", Deferral="Requested"),
        # Notified yesterday after 16:30: deferral window had closed; on site today.
        dict(URN=urns[5], t="Full", n=at(wd(-1), 16, 45), s=wd(0), li="OI Steve Barker"),
        # Day 2 on site with concerns raised.
        dict(URN=urns[10], t="Full", n=at(wd(-2), 10, 20), s=wd(-1), li="HMI Dawn Peters", plan=sent(wd(-2)),
             **{"Concerns raised": "Yes", "Concern notes": "HT reports the lead inspector questioned her for three hours "
                "without a break on day 1; HT tearful at the end-of-day call. AI has spoken to the LI this morning."}),
        # Monitoring (one day), on site today.
        dict(URN=urns[7], t="Monitoring", n=at(wd(-1), 11, 0), s=wd(0), li="HMI Paul Fisher", plan=sent(wd(-1))),
        # Deferral granted: the start moved to next week.
        dict(URN=urns[12], t="Full", n=at(wd(-3), 9, 15), s=wd(4), li="HMI Grace Oduya", plan=sent(wd(-3)),
             Deferral="Granted"),
        # Awaiting report: feedback given last week, form completed.
        dict(URN=urns[15], t="Full", n=at(wd(-8), 12, 5), s=wd(-7), li="HMI Alan Briggs", plan=sent(wd(-8)),
             fb=at(wd(-6), 15, 30), Safeguarding="Met", form=wd(-5), **RENEWED_OK),
        # Awaiting report, academy: feedback done, form not yet completed (overdue).
        dict(URN=urns[6], t="Full", n=at(wd(-6), 13, 30), s=wd(-5), li="HMI Ruth Salter", plan=sent(wd(-6)),
             fb=at(wd(-4), 14, 0), Safeguarding="Met"),
        # Adverse outcome: needs attention, draft report in, published.
        dict(URN=urns[20], t="Full", n=at(wd(-25), 12, 15), s=wd(-24), li="HMI Carol Jenkins", plan=sent(wd(-25)),
             fb=at(wd(-23), 15, 0), Safeguarding="Met", form=wd(-22), draft=wd(-15), pub=wd(-8),
             **{**RENEWED_OK, "Achievement": "Needs attention", "Curriculum and teaching": "Needs attention"}),
        # Category of concern, renewed framework: concerns, conduct concerns and a learning review.
        dict(URN=urns[26], t="Full", n=at(wd(-30), 10, 45), s=wd(-29), li="HMI Dawn Peters", plan=sent(wd(-30)),
             fb=at(wd(-28), 16, 0), Safeguarding="Not met", form=wd(-26), draft=wd(-20), pub=wd(-10),
             **{**RENEWED_OK, "Leadership and governance": "Urgent improvement", "Inclusion": "Needs attention",
                "Category of concern": "Special measures", "Concerns raised": "Yes", "Conduct concerns": "Yes",
                "Concern notes": "Inspector dismissive of SEND context; HT felt outcome pre-judged.",
                "Learning review": "Requested"}),
        # Closed: a good renewed-framework inspection from last spring.
        dict(URN=urns[30], t="Full", n=datetime(2026, 3, 9, 10, 30), s=date(2026, 3, 10), li="HMI Alan Briggs",
             plan=datetime(2026, 3, 9, 11, 0), fb=datetime(2026, 3, 11, 15, 0), Safeguarding="Met",
             form=date(2026, 3, 12), draft=date(2026, 3, 30), pub=date(2026, 4, 24),
             **{**RENEWED_OK, "Achievement": "Strong standard", "Learning review": "Complete"}),
        # EIF 2024: graded, requires improvement (2025).
        dict(URN=urns[13], t="Graded", n=datetime(2025, 3, 3, 12, 0), s=date(2025, 3, 4), li="HMI Paul Fisher",
             plan=datetime(2025, 3, 3, 13, 0), fb=datetime(2025, 3, 5, 14, 30), Safeguarding="Effective",
             form=date(2025, 3, 7), pub=date(2025, 4, 11),
             **{"Quality of education": "3", "Behaviour and attitudes": "2 Good", "Personal development": "2",
                "Leadership and management": "3 Requires improvement"}),
        # EIF 2024: inadequate, serious weaknesses, then a monitoring inspection.
        dict(URN=urns[22], t="Graded", n=datetime(2025, 1, 20, 11, 30), s=date(2025, 1, 21), li="HMI Raj Mehta",
             plan=datetime(2025, 1, 20, 12, 40), fb=datetime(2025, 1, 22, 15, 0), Safeguarding="Effective",
             form=date(2025, 1, 24), pub=date(2025, 2, 28), **{"Category of concern": "Serious weaknesses",
             "Quality of education": "4 Inadequate", "Behaviour and attitudes": "3", "Personal development": "3",
             "Leadership and management": "3"}),
        dict(URN=urns[22], t="Monitoring", n=datetime(2025, 10, 6, 12, 10), s=date(2025, 10, 8), li="HMI Raj Mehta",
             plan=datetime(2025, 10, 6, 13, 0), fb=datetime(2025, 10, 8, 15, 30), form=date(2025, 10, 9),
             pub=date(2025, 11, 3)),
        # EIF 2024: ungraded, closed.
        dict(URN=urns[33], t="Ungraded", n=datetime(2024, 11, 11, 12, 30), s=date(2024, 11, 12), li="OI Steve Barker",
             plan=datetime(2024, 11, 11, 13, 15), fb=datetime(2024, 11, 13, 14, 0), Safeguarding="Effective",
             form=date(2024, 11, 15), pub=date(2024, 12, 16)),
        # Renewed framework: focused monitoring in October.
        dict(URN=urns[37], t="Focused monitoring", n=datetime(2026, 10, 12, 12, 0), s=date(2026, 10, 14),
             li="HMI Grace Oduya", plan=datetime(2026, 10, 12, 13, 30), fb=datetime(2026, 10, 14, 15, 0),
             form=date(2026, 10, 15), pub=date(2026, 11, 6)),
    ]
    for r in rows:
        if r.get("plan"):  # the plan went out within the promised 2 working hours of the call
            r["plan"] = max(r["plan"], r["n"] + timedelta(minutes=70))
        out = {k: v for k, v in r.items() if k[0].isupper()}
        out.update({"Inspection type": r["t"], "Notified at": r["n"], "Start date": r["s"], "Lead inspector": r["li"],
                    "Contact plan sent": r.get("plan"), "Final feedback at": r.get("fb"),
                    "Feedback form completed": r.get("form"), "Draft report received": r.get("draft"),
                    "Report published": r.get("pub")})
        yield out


def _fill(ws, spec: schema.Sheet, rows: list[dict]) -> None:
    for r, values in enumerate(rows, start=2):
        for c, col in enumerate(spec.columns, start=1):
            v = values.get(col.header)
            if v in (None, ""):
                continue
            cell = ws.cell(r, c, v)
            if col.kind in FORMATS and isinstance(v, (date, datetime)):
                cell.number_format = FORMATS["datetime" if isinstance(v, datetime) and (v.hour or v.minute) else "date"]
    if spec.table and rows:
        ws.tables[spec.table].ref = f"A1:{get_column_letter(len(spec.columns))}{len(rows) + 1}"


def build_sample(path: Path, rules: Rules, today: date) -> Path:
    """Write the sample tracker, its inspections dated around `today`."""
    wb = new_tracker(rules)
    cal = WorkingCalendar()
    schools = list(_school_rows())
    _fill(wb["Staff"], schema.STAFF, list(_staff_rows()))
    _fill(wb["Schools"], schema.SCHOOLS, schools)
    _fill(wb["Inspections"], schema.INSPECTIONS, list(_inspections(today, cal, [s["URN"] for s in schools])))
    _fill(wb["Holidays"], schema.HOLIDAYS, [{"Name": n, "First day": a, "Last day": b} for n, a, b in HOLIDAYS])
    wb.properties.title = "Sample Ofsted inspection tracker (invented data)"
    wb.save(path)
    return Path(path)
