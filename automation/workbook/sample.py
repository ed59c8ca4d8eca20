"""A realistic sample tracker for an invented county: about 40 schools, their officers and
inspections at every stage in both frameworks, dated around a given day. Invented names and
example.org addresses only. Built from the template, so it always matches the contract."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

from openpyxl.utils import get_column_letter

from automation.calendar import WorkingCalendar
from automation.rules import Rules
from automation.rules_schema import TypeTiming
from automation.plausibility import WEEKDAYS
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
    ("Rosa Lindqvist", "Safeguarding lead", "01632 960161", ""), ("Lucy Barnes", "Admin", "01632 960151", ""),
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
TRUSTS = ("Northvale Learning Trust", "Eastmere Academies Trust", "Southbrook Schools Partnership")
DIOCESES = {"CofE": "Diocese of Exampleford", "Catholic": "Roman Catholic Diocese of Exampleford"}
CHAIRS = ("Janet Moore", "Raymond Obi", "Celia Haworth", "Imran Siddiqui", "Gwen Tallis", "Derek Alder", "Maya Rennie")
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
               "SIM": sims[i % len(sims)], "AI": ais[i % len(ais)], "Context notes": CONTEXT.get(i),
               "Trust": TRUSTS[i % len(TRUSTS)] if gov == "Academy" else None,
               "Diocese": next((d for k, d in DIOCESES.items() if k in name), None),
               "Chair of governors": CHAIRS[i % len(CHAIRS)]}
        if i % 2:
            row["Chair of governors email"] = f"chair@{slug}.sch.example.org"
        if i % 3:  # a third of schools have no headteacher email: office address used
            row["Headteacher email"] = f"head@{slug}.sch.example.org"
        yield row


def _notification_days(today: date, cal: WorkingCalendar, spec: TypeTiming):
    """Routine notification days (rules data: Monday, Tuesday in a bank-holiday week), this week's
    first: yields them going back, skipping weeks whose days on site are not all school days."""
    from automation.plausibility import expected_notification_day

    monday = today - timedelta(days=today.weekday())
    while True:
        want = expected_notification_day(monday, spec, cal)
        day = monday + timedelta(days=WEEKDAYS.index(want))
        on_site = [day + timedelta(days=i) for i in (1, 2)]
        if cal.is_school_day(day) and all(cal.is_school_day(d) for d in on_site):
            yield day
        monday -= timedelta(days=7)


def _inspections(today: date, cal: WorkingCalendar, urns: list[str], rules: Rules):
    """One row per stage of an inspection's life, dated around today (school days: the sample's
    own Holidays are skipped; routine renewed Full inspections are notified on their weekday)."""
    sd = lambda n: cal.add_working_days(cal.on_or_after(today, school=True), n, school=True)  # noqa: E731
    nxt = lambda d, n=1: cal.add_working_days(d, n, school=True)  # noqa: E731 - n school days after d
    at = lambda d, h, m=0: datetime.combine(d, time(h, m))  # noqa: E731
    sent = lambda d: at(d, 11, 20)  # noqa: E731 - the plan went the morning it was notified
    spec = rules.contact_plan.type_timing("renewed", "Full") or TypeTiming(on_site_days=2, notify_on="Monday")
    weeks = _notification_days(today, cal, spec)
    nd = [next(weeks) for _ in range(12)]  # nd[0] this week's notification day, nd[k] k usable weeks back
    # Two consecutive school days ending today, or ending yesterday if a school holiday lies between.
    k = -1 if cal.add_working_days(sd(-1), 1) == sd(0) else -2
    rows = [
        # Just notified this week: the run sends the contact plan. Nominee and planning call not yet known.
        dict(URN=urns[0], t="Full", n=at(nd[0], 9, 40), s=nxt(nd[0]), li="HMI Carol Jenkins"),
        # Just notified, an academy that has not (yet) accepted the LA's offer of support; head asks to defer.
        dict(URN=urns[2], t="Full", n=at(nd[0], 10, 5), s=nxt(nd[0]), li="HMI Raj Mehta", Deferral="Requested"),
        # Monitoring: Ofsted called the previous school day after 16:30 (a request in the call is still possible).
        dict(URN=urns[5], t="Monitoring", n=at(sd(-1), 16, 45), s=sd(0), li="OI Steve Barker"),
        # A deferred inspection re-notified on another day: day 2 on site with concerns raised (the day
        # before, when a school holiday would split the two days).
        dict(URN=urns[10], t="Full", n=at(sd(k - 1), 10, 20), s=sd(k), li="HMI Dawn Peters", plan=sent(sd(k - 1)),
             Deferral="Granted", Nominee="Deputy head, Priya Anand",
             **{"Concerns raised": "Yes", "Concern notes": "HT reports the lead inspector questioned her for three hours "
                "without a break on day 1; HT tearful at the end-of-day call. AI has spoken to the LI this morning."}),
        # Monitoring (one day), on site today, of an academy that accepted the LA's support.
        dict(URN=urns[7], t="Monitoring", n=at(sd(-1), 11, 0), s=sd(0), li="HMI Paul Fisher", plan=sent(sd(-1)),
             **{"LA support accepted": "Yes"}),
        # Deferral granted: the start moved to next week.
        dict(URN=urns[12], t="Full", n=at(nd[1], 9, 15), s=nxt(nd[0], 6), li="HMI Grace Oduya", plan=sent(nd[1]),
             Deferral="Granted"),
        # Awaiting report: feedback given last week, form completed; nominee and planning call recorded.
        dict(URN=urns[15], t="Full", n=at(nd[1], 12, 5), s=nxt(nd[1]), li="HMI Alan Briggs", plan=sent(nd[1]),
             fb=at(nxt(nd[1], 2), 15, 30), Safeguarding="Met", form=nxt(nd[1], 3), Nominee="Assistant head, Tom Reyes",
             **{"Planning call at": at(nd[1], 14, 30)}, **RENEWED_OK),
        # Awaiting report, an academy that accepted support: feedback done, form not yet completed (overdue).
        dict(URN=urns[6], t="Full", n=at(nd[1], 13, 30), s=nxt(nd[1]), li="HMI Ruth Salter", plan=sent(nd[1]),
             fb=at(nxt(nd[1], 2), 14, 0), Safeguarding="Met", **{"LA support accepted": "Yes"}),
        # Adverse outcome at an academy that accepted support: needs attention, draft report in, published.
        dict(URN=urns[20], t="Full", n=at(nd[5], 12, 15), s=nxt(nd[5]), li="HMI Carol Jenkins", plan=sent(nd[5]),
             fb=at(nxt(nd[5], 2), 15, 0), Safeguarding="Met", form=nxt(nd[5], 3), draft=nxt(nd[5], 10), pub=sd(-8),
             **{**RENEWED_OK, "Achievement": "Needs attention", "Curriculum and teaching": "Needs attention",
                "LA support accepted": "Yes"}),
        # Special measures, renewed framework: concerns, conduct concerns and a learning review.
        dict(URN=urns[26], t="Full", n=at(nd[6], 10, 45), s=nxt(nd[6]), li="HMI Dawn Peters", plan=sent(nd[6]),
             fb=at(nxt(nd[6], 2), 16, 0), Safeguarding="Not met", form=nxt(nd[6], 4), draft=nxt(nd[6], 10),
             pub=cal.add_working_days(today, -10),
             **{**RENEWED_OK, "Leadership and governance": "Urgent improvement", "Inclusion": "Urgent improvement",
                "Category of concern": "Special measures", "Concerns raised": "Yes", "Conduct concerns": "Yes",
                "Concern notes": "Inspector dismissive of SEND context; HT felt outcome pre-judged.",
                "Learning review": "Requested"}),
        # A maintained nursery school in a category: the LA's statement of action, no academy order, monitoring.
        dict(URN=urns[8], t="Full", n=at(nd[9], 9, 50), s=nxt(nd[9]), li="HMI Grace Oduya", plan=sent(nd[9]),
             fb=at(nxt(nd[9], 2), 14, 30), Safeguarding="Met", form=nxt(nd[9], 3), draft=nxt(nd[9], 12),
             pub=cal.add_working_days(today, -4),
             **{"Inclusion": "Expected standard", "Curriculum and teaching": "Urgent improvement",
                "Achievement": "Needs attention", "Attendance and behaviour": "Expected standard",
                "Personal development and wellbeing": "Expected standard", "Leadership and governance": "Needs attention",
                "Early years": "Urgent improvement", "Category of concern": "Requires significant improvement"}),
        # Closed: a good renewed-framework inspection from last spring.
        dict(URN=urns[30], t="Full", n=datetime(2026, 3, 9, 10, 30), s=date(2026, 3, 10), li="HMI Alan Briggs",
             plan=datetime(2026, 3, 9, 11, 0), fb=datetime(2026, 3, 11, 15, 0), Safeguarding="Met",
             form=date(2026, 3, 12), draft=date(2026, 3, 30), pub=date(2026, 4, 24),
             **{**RENEWED_OK, "Achievement": "Strong standard", "Learning review": "Complete"}),
        # Across the autumn half term: a monitoring call on the Thursday before, on site the Monday after
        # (2 school days' notice, ¶70: the half term is not counted).
        dict(URN=urns[9], t="Monitoring", n=datetime(2026, 10, 22, 12, 0), s=date(2026, 11, 2), li="HMI Raj Mehta",
             plan=datetime(2026, 10, 22, 13, 30), fb=datetime(2026, 11, 2, 15, 0), form=date(2026, 11, 3),
             pub=date(2026, 11, 20)),
        # EIF 2024: graded, requires improvement (2025): Ofsted may monitor (leadership and management is not good).
        dict(URN=urns[13], t="Graded", n=datetime(2025, 3, 3, 12, 0), s=date(2025, 3, 4), li="HMI Paul Fisher",
             plan=datetime(2025, 3, 3, 13, 0), fb=datetime(2025, 3, 5, 14, 30), Safeguarding="Effective",
             form=date(2025, 3, 7), pub=date(2025, 4, 11),
             **{"Quality of education": "3", "Behaviour and attitudes": "2 Good", "Personal development": "2",
                "Leadership and management": "3 Requires improvement"}),
        # EIF 2024: good apart from the early years provision judgement (RI): not normally monitored (¶51).
        dict(URN=urns[3], t="Graded", n=datetime(2025, 6, 9, 11, 0), s=date(2025, 6, 10), li="HMI Alan Briggs",
             plan=datetime(2025, 6, 9, 12, 30), fb=datetime(2025, 6, 11, 15, 0), Safeguarding="Effective",
             form=date(2025, 6, 12), pub=date(2025, 7, 14),
             **{"Quality of education": "2", "Behaviour and attitudes": "2", "Personal development": "1",
                "Leadership and management": "2", "Early years": "3"}),
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
    cal = WorkingCalendar(school_holidays=tuple((a, b) for _, a, b in HOLIDAYS))
    schools = list(_school_rows())
    _fill(wb["Staff"], schema.STAFF, list(_staff_rows()))
    _fill(wb["Schools"], schema.SCHOOLS, schools)
    _fill(wb["Inspections"], schema.INSPECTIONS, list(_inspections(today, cal, [s["URN"] for s in schools], rules)))
    _fill(wb["Holidays"], schema.HOLIDAYS, [{"Name": n, "First day": a, "Last day": b} for n, a, b in HOLIDAYS])
    wb.properties.title = "Sample Ofsted inspection tracker (invented data)"
    wb.save(path)
    return Path(path)
