"""Check the raw workbook and build the domain Tracker: every problem reported by
sheet, row, column and value with what to do; a bad row never stops the good ones."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from automation import values as V
from automation.calendar import LONDON
from automation.errors import Problem, WorkbookError, visible
from automation.model import FollowUp, Holiday, Inspection, School, Staff, SupportOffer, Tracker
from automation.plausibility import how_read, long_date, neighbour_slip, notice_slips, other_reading, schedule_problems
from automation.rules import Rules
from automation.workbook import schema
from automation.workbook.raw import Formula, RawSheet, RawWorkbook

ASSUMED_NOTIFICATION_TIME = time(12, 0)


def inspection_id(urn: str, notified: datetime) -> str:
    """The stable id of an inspection: the same whoever assigns it, on whichever run."""
    return f"OFS-{urn}-{notified:%Y%m%d}"


# The tool's own ids (OFS-<URN>-<yyyymmdd>) and a hand-kept tracker's older references alike:
# letters, digits and hyphens, starting with a letter or digit. Such an id can never climb
# out of a folder, be read as a formula, or act as a wildcard when forms are looked up by it.
SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,39}")


def safe_inspection_id(v) -> str:
    """A typed Inspection ID, checked safe for file names and workbooks (else BadValue)."""
    s = V.text(v)
    if not SAFE_ID.fullmatch(s):
        raise V.BadValue("is not an Inspection ID the tool can use (letters, digits and hyphens only, at most 40)",
                         "clear the cell so the tool assigns one (OFS-<URN>-<yyyymmdd>), or type the id with "
                         "letters, digits and hyphens only; the row is skipped until then.")
    return s


class _Row:
    """Reads one row's cells, collecting problems instead of raising."""

    def __init__(self, sheet: RawSheet, spec: schema.Sheet, number: int, cells: dict, problems: list):
        self.sheet, self.spec, self.number, self.cells, self.problems = sheet, spec, number, cells, problems
        self.bad = False

    def report(self, column, value, message, fix, severity="error"):
        self.problems.append(Problem(severity, self.spec.name, self.number, column,
                                     V.text(value) if not isinstance(value, Formula) else value.text, message, fix))
        if severity == "error":
            self.bad = True

    def get(self, header, parse=V.text, required=None, severity="error"):
        v = self.cells.get(header)
        required = self.spec.column(header).required if required is None else required
        if isinstance(v, Formula):
            self.report(header, v, "holds a formula; the tool reads typed values only",
                        "replace the formula with the value itself (Copy, then Paste Values).", severity)
            return None
        if v is None:
            if required:
                self.report(header, "", "is empty", f"fill in the {header}.", severity)
            return None
        try:
            return parse(v)
        except V.BadValue as exc:
            self.report(header, v, f"'{visible(V.text(v))}' {exc.message}", exc.fix, severity)
            return None

    def choice(self, header, values, severity="error"):
        raw = self.get(header, severity=severity)
        if raw is None:
            return ""
        for c in values:
            if c.lower() == " ".join(raw.split()).lower():
                return c
        self.report(header, raw, f"'{visible(raw)}' is not one of the allowed values",
                    f"choose one of: {', '.join(values)} (use the cell's dropdown).", severity)
        return ""


def build_tracker(raw: RawWorkbook, rules: Rules, now: datetime | None = None) -> Tracker:
    """The domain Tracker and its problems from a raw workbook. `now` (from the edge's clock)
    lets a Notified at in the future hold its row back; without it dates are not checked against
    the clock."""
    missing = [s.name for s in schema.REQUIRED if s.name not in raw.sheets]
    if missing:
        raise WorkbookError(f"The tracker has no sheet named {', '.join(repr(m) for m in missing)} — "
                            "add it (copy it from workbook_templates/tracker_template.xlsx) and run again.")
    t = Tracker(header_rows={name: s.header_row for name, s in raw.sheets.items()})
    for spec in schema.ALL:
        if spec.name in raw.sheets:
            _sheet_problems(raw.sheets[spec.name], spec, t.problems)
    _staff(raw.sheets["Staff"], rules, t)
    _schools(raw.sheets["Schools"], rules, t)
    _inspections(raw.sheets["Inspections"], rules, t, _london(now))
    _follow_ups(raw.sheets["Follow-ups"], t)
    if "Holidays" in raw.sheets:
        _holidays(raw.sheets["Holidays"], t)
    if "Support offers" in raw.sheets:
        _support(raw.sheets["Support offers"], rules, t)
    if not t.support_offers:
        # Schools must always be told where to find support: fall back to the shipped list.
        if "Support offers" in raw.sheets:
            t.problems.append(Problem("warning", "Support offers", None, None, "",
                                      "no support offers are listed (or all are marked No)",
                                      "list the wellbeing offers schools should hear about; the shipped list is used meanwhile."))
        t.support_offers = [SupportOffer(o["name"], o.get("provider", ""), o.get("detail", ""), o.get("contact", ""))
                            for o in rules.support_offers]
    # Dates against Ofsted's pattern and the Holidays sheet (warnings only).
    t.problems += schedule_problems(t, rules)
    log = raw.sheets["Email log"]
    t.logged_message_ids = {V.text(c.get("Message ID")) for _, c in log.rows if c.get("Message ID")}
    return t


def _sheet_problems(sheet: RawSheet, spec: schema.Sheet, problems: list) -> None:
    if not sheet.header_found:
        # Nothing is read from the sheet, and nothing is written to it (workbook/store.py).
        looked = ", ".join(f"'{h}'" for h in spec.headers()[:4])
        problems.append(Problem("error", spec.name, None, None, "",
                                f"no header row found: none of the first {sheet.searched_rows} rows names the "
                                f"sheet's columns ({looked}…), so the tool neither reads nor writes this sheet",
                                "put the column headers in one row near the top (the template's headers), "
                                "with at most a title and a few notes above them."))
        return
    problems.extend(getattr(sheet, "problems", ()))  # the reader's notes on headers (near misses, duplicates)
    for col in spec.columns:
        if col.header not in sheet.columns and (col.required and not col.tool):
            problems.append(Problem("error", spec.name, sheet.header_row, col.header, "",
                                    f"the column '{col.header}' is missing",
                                    f"add a column headed exactly '{col.header}' (the tool finds columns by their header)."))
    for ref in sheet.merged:
        problems.append(Problem("warning", spec.name, int("".join(ch for ch in ref.split(":")[0] if ch.isdigit())),
                                None, ref, f"cells {ref} are merged; only the first cell's value is read",
                                "unmerge the cells (Home > Merge & Center > Unmerge) and fill each one."))
    numbers = [n for n, cells in sheet.rows if cells]
    last = numbers[-1] if numbers else 0
    for n, cells in sheet.rows:
        if not cells and n < last and not spec.tool:
            problems.append(Problem("warning", spec.name, n, None, "", "the row is blank between rows of data; it is skipped",
                                    "delete the blank row to keep the table tidy."))


def _required_missing(sheet: RawSheet, spec: schema.Sheet) -> bool:
    return any(c.required and not c.tool and c.header not in sheet.columns for c in spec.columns)


def _rows(sheet: RawSheet, spec: schema.Sheet, problems: list):
    if _required_missing(sheet, spec):
        return
    for n, cells in sheet.rows:
        if cells:
            yield _Row(sheet, spec, n, cells, problems)


def _staff(sheet, rules: Rules, t: Tracker) -> None:
    for r in _rows(sheet, schema.STAFF, t.problems):
        name = r.get("Name")
        role = r.choice("Role", rules.choices("staff_role"))
        mail = r.get("Email", V.email)
        phone = r.get("Phone") or ""
        phase = r.choice("Phase", rules.choices("cem_phase"), severity="warning")
        if role == "CEM" and not phase:
            r.report("Phase", "", "a CEM needs the phase they cover", "choose Primary, Secondary or All.", "warning")
        if name and name.lower() in {k.lower() for k in t.staff}:
            r.report("Name", name, f"'{visible(name)}' appears twice on the Staff sheet", "keep one row per officer (names must be unique).")
        if r.bad:
            continue
        t.staff[name] = Staff(name, role, mail, phone, phase, r.number)


def _staff_ref(r: _Row, header: str, t: Tracker, want_role: str | None = None):
    name = r.get(header)
    if name is None:
        return ""
    match = next((s for s in t.staff.values() if s.name.lower() == name.lower()), None)
    if match is None:
        r.report(header, name, f"'{visible(name)}' is not on the Staff sheet", "type a Name exactly as it is on the Staff sheet (use the dropdown), or add the officer to Staff.")
        return ""
    if want_role and match.role != want_role:
        r.report(header, name, f"{name} is listed on Staff as {match.role}, not {want_role}",
                 "check the right officer is named, or correct their Role on the Staff sheet.", "warning")
    return match.name


def _schools(sheet, rules: Rules, t: Tracker) -> None:
    for r in _rows(sheet, schema.SCHOOLS, t.problems):
        urn = r.get("URN", V.urn)
        if urn and urn in t.schools:
            r.report("URN", urn, f"URN {urn} is already on row {t.schools[urn].row}", "keep one row per school; delete or correct the duplicate.")
        name = r.get("School name")
        gov = r.choice("Governance", rules.choices("governance"))
        phase = r.choice("Phase", rules.choices("phase"))
        office = r.get("School email", V.email)
        head_mail = r.get("Headteacher email", V.email, severity="warning") or ""
        sim = _staff_ref(r, "SIM", t, "SIM")
        ai = _staff_ref(r, "AI", t, "AI")
        if r.bad:
            continue
        t.schools[urn] = School(urn, name, gov, phase, office, sim, ai, r.get("District") or "",
                                r.get("Headteacher") or "", head_mail, r.get("Context notes") or "", r.number,
                                trust=r.get("Trust") or "", diocese=r.get("Diocese") or "",
                                chair=r.get("Chair of governors") or "",
                                chair_email=r.get("Chair of governors email", V.email, severity="warning") or "")


def _london(now: datetime | None) -> datetime | None:
    if now is None:
        return None
    return now.astimezone(LONDON) if now.tzinfo else now.replace(tzinfo=LONDON)


def _notified(r: _Row, now: datetime | None, sense: dict):
    got = r.get("Notified at", V.parse_datetime)
    if got is None:
        return None
    dt, has_time = got
    if now is not None and _in_future(dt.replace(tzinfo=LONDON), has_time, now, sense):
        _future(r, dt, has_time, now)
        return None
    if not has_time:
        r.report("Notified at", dt.strftime("%d/%m/%Y"), "has no time of day; 12:00 is assumed",
                 "type the time Ofsted called, as dd/mm/yyyy hh:mm (it decides the deferral deadline).", "warning")
        dt = datetime.combine(dt.date(), ASSUMED_NOTIFICATION_TIME)
    return dt.replace(tzinfo=LONDON)


def _in_future(dt: datetime, has_time: bool, now: datetime, sense: dict) -> bool:
    # A date typed without a time is "today" all day: only a later day is in the future.
    if not has_time:
        return dt.date() > now.date()
    return dt > now + timedelta(minutes=int(sense.get("future_grace_minutes", 30)))


def _future(r: _Row, dt: datetime, has_time: bool, now: datetime) -> None:
    """An error, so the row waits: nothing is sent for a notification that has not happened."""
    shown = dt.strftime("%d/%m/%Y %H:%M" if has_time else "%d/%m/%Y")
    alt = other_reading(dt.date())
    hint = f"; did you mean {long_date(alt)}?" if alt and alt <= now.date() else ""
    r.report("Notified at", shown,
             f"Notified at is in the future ({long_date(dt.date())}{dt:, %H:%M}; it is now {now:%d/%m/%Y %H:%M}) — "
             f"nothing is sent for this inspection until then{hint}",
             "check the date (day first: dd/mm/yyyy hh:mm) and correct it; if Ofsted really called for then, "
             "leave it: the row is held back until that time.")


def _grades(r: _Row, fw, rules: Rules) -> dict[str, str]:
    out = {}
    seen: set[str] = set()
    for key, other in rules.frameworks.items():
        # An area both frameworks use (Early years, Sixth form) is read on the row's own scale.
        for area in (fw.areas if other is fw else [a for a in other.areas if a not in fw.areas]):
            if area in seen:
                continue
            seen.add(area)
            value = r.get(area)
            if value is None:
                continue
            if other is not fw:
                r.report(area, value, f"'{area}' is a {other.label} area but this inspection is under the {fw.label}",
                         f"record grades in the {fw.label} columns ({', '.join(fw.areas[:3])}, ...).", "warning")
                continue
            grade = fw.grade(value)
            if grade is None:
                r.report(area, value, f"'{visible(value)}' is not on the {fw.label} scale", f"choose one of: {', '.join(fw.scale)}.", "warning")
            else:
                out[area] = grade
    return out


def _inspections(sheet, rules: Rules, t: Tracker, now: datetime | None = None) -> None:
    seen_ids: dict[str, int] = {}
    seen_keys: dict[tuple, int] = {}
    sense = rules.extra.get("date_sense", {})
    dated: list[tuple[_Row, date, date | None, set[str]]] = []  # new rows' dates, for the neighbour check
    for r in _rows(sheet, schema.INSPECTIONS, t.problems):
        urn = r.get("URN", V.urn)
        if urn and urn not in t.schools:
            r.report("URN", urn, f"URN {urn} is not on the Schools sheet (or its row there has errors)",
                     "add the school to the Schools sheet, or correct the URN.")
        elif urn:
            _school_matches(r, t.schools[urn])
        notified = _notified(r, now, sense)
        start = r.get("Start date", V.parse_date)
        fw = rules.framework_on(notified.date()) if notified else None
        itype = r.choice("Inspection type", fw.types if fw else rules.choices("inspection_type"))
        warned: set[str] = set()  # columns already warned about a day/month slip
        if notified and start and start < notified.date():
            r.report("Start date", start.strftime("%d/%m/%Y"), f"the start date is before Ofsted's notification ({notified:%d/%m/%Y})"
                     + _slip_hint(r, notified.date(), start, rules, warned),
                     "check both dates: the inspection starts on or after the day Ofsted calls.")
        if notified and not r.cells.get("Inspection ID") and not r.cells.get("Contact plan sent"):
            dated.append((r, notified.date(), start, warned))
        feedback = _opt_datetime(r, "Final feedback at")
        if feedback and start and feedback.date() < start:
            r.report("Final feedback at", feedback.strftime("%d/%m/%Y %H:%M"), "final feedback is before the start date",
                     "check the final feedback date and time.")
        existing_id = r.get("Inspection ID", safe_inspection_id) or ""
        iid = existing_id or (inspection_id(urn, notified) if urn and notified else "")
        if iid and iid in seen_ids:
            r.report("Inspection ID", iid, f"the same inspection is already on row {seen_ids[iid]}",
                     "delete the duplicate row (if it was copied, clear its Inspection ID and correct its dates).")
        key = (urn, notified.date() if notified else None)
        if urn and notified and key in seen_keys and not existing_id:
            r.report("Notified at", notified.strftime("%d/%m/%Y %H:%M"), f"school {urn} already has an inspection notified that day on row {seen_keys[key]}",
                     "delete the duplicate row.")
        if r.bad:
            continue
        seen_ids[iid], seen_keys[key] = r.number, r.number
        deferral = r.choice("Deferral", rules.choices("deferral"), "warning")
        sent = _opt_datetime(r, "Contact plan sent")
        _implausible_dates(r, rules, fw, itype, notified, start, deferral, sent, warned)
        t.inspections.append(_inspection(r, rules, fw, iid, not existing_id, urn, itype, notified, start, feedback,
                                         deferral, sent))
    _out_of_place(dated, sense, _max_notice(rules), now.date() if now else None)


def school_label(school) -> str:
    """What the tool writes in an Inspections row's School cell: the name and governance."""
    return f"{school.name} ({school.governance})"


def _letters(text: str) -> str:
    return "".join(ch for ch in str(text).lower() if ch.isalnum())


def _school_matches(r: "_Row", school) -> None:
    """A School cell that names another school than the URN's (typed by an admin, or left from
    before the URN was changed) is an error: a wrong but existing URN would email the wrong school."""
    typed = str(r.cells.get("School") or "").strip()
    if not typed or typed == school_label(school):
        return
    said, real = _letters(typed.rsplit(" (", 1)[0]), _letters(school.name)
    if said and (said in real or real in said):
        return
    r.report("URN", school.urn, f"URN {school.urn} is {school.name}, but the row's School says {typed!r}",
             "correct the URN (or clear the School cell if the URN is right); nothing is sent for this row until then.")


def _max_notice(rules: Rules) -> int:
    return int(rules.extra.get("contact_plan", {}).get("timings", {}).get("max_notice_days", 10))


def _slip_hint(r: _Row, notified: date, start: date, rules: Rules, warned: set[str]) -> str:
    """"; did you mean ...?" when reading a date the other way round makes the row's dates fit."""
    slips = notice_slips(notified, start, _max_notice(rules))
    warned.update(slips)
    read = {"Notified at": notified, "Start date": start}
    return "".join(f"; did you mean {col} {long_date(d)}? {how_read(r.cells.get(col), read[col])}"
                   for col, d in slips.items())


def _out_of_place(dated: list, sense: dict, most: int, today: date | None) -> None:
    """Warn about a new row's Notified at far from the other new rows around it (and today) whose
    other reading fits them: read as long past, it would get no contact plan at all."""
    k, far, near = int(sense.get("neighbour_rows", 3)), int(sense.get("far_days", 60)), int(sense.get("near_days", 14))
    for i, (r, day, start, warned) in enumerate(dated):
        if "Notified at" in warned:
            continue
        around = [d for _, d, _, _ in dated[max(0, i - k):i] + dated[i + 1:i + 1 + k]] + ([today] if today else [])
        got = neighbour_slip(day, start, most, around, far, near, today)
        if got:
            alt, ref = got
            r.report("Notified at", day.strftime("%d/%m/%Y"),
                     f"Notified at {long_date(day)} is {abs((day - ref).days)} days from the other new rows{' and today' if today else ''} "
                     f"(about {long_date(ref)}); did you mean {long_date(alt)}? {how_read(r.cells.get('Notified at'), day)}",
                     "if so, retype it day first (dd/mm/yyyy hh:mm): a notification read as long past gets no contact plan.",
                     "warning")


def _implausible_dates(r: _Row, rules: Rules, fw, itype, notified, start, deferral, sent, warned: set[str]) -> None:
    """Warn about dates that are possible but unlikely (a typing slip is the usual cause)."""
    plan = rules.extra.get("contact_plan", {})
    notice = (start - notified.date()).days
    most = _max_notice(rules)
    if deferral != "Granted":
        hint = _slip_hint(r, notified.date(), start, rules, warned)
        if hint:  # day and month the wrong way round, not a long notice: say which date
            column = "Notified at" if "Notified at" in warned else "Start date"
            r.report(column, r.cells.get(column),
                     f"the start date ({long_date(start)}) is {notice} days from Ofsted's notification "
                     f"({long_date(notified.date())}), not within {most} days after it{hint}",
                     "if so, retype the date day first (dd/mm/yyyy), or pick it in Excel; if the dates are right, "
                     "ignore this warning (or set Deferral to Granted if a deferral moved the start).", "warning")
            return _sent_early(r, notified, sent)
    # A type with its notice in school days (¶70) is checked against the Holidays (automation/plausibility.py).
    in_school_days = "max_notice_school_days" in plan.get("types", {}).get(f"{fw.key}.{itype}", {})
    if notice > most and deferral != "Granted" and not in_school_days:
        r.report("Start date", start.strftime("%d/%m/%Y"),
                 f"the start date is {notice} days after Ofsted's notification ({notified:%d/%m/%Y}); "
                 f"Ofsted gives about a day's notice (more than {most} days is unlikely)",
                 "check the dates; if a deferral moved it, set Deferral to Granted.", "warning")
    same_day_unusual = plan.get("types", {}).get(f"{fw.key}.{itype}", {}).get("warn_same_day_start", False)
    if notice == 0 and same_day_unusual:
        r.report("Start date", start.strftime("%d/%m/%Y"),
                 f"a {itype} inspection normally starts the day after Ofsted's call, but this one starts "
                 f"the same day (notified {notified:%d/%m/%Y %H:%M})",
                 "check the Start date and Notified at; if the inspection really started the same day, ignore this warning.",
                 "warning")
    _sent_early(r, notified, sent)


def _sent_early(r: _Row, notified, sent) -> None:
    # With no time typed, Notified at is taken as 12:00: a plan sent that morning is not "early".
    time_assumed = notified.time() == ASSUMED_NOTIFICATION_TIME
    if sent and (sent.date() < notified.date() or (sent < notified and not time_assumed)):
        r.report("Contact plan sent", sent.strftime("%d/%m/%Y %H:%M"),
                 f"the contact plan is recorded as sent before Ofsted's notification ({notified:%d/%m/%Y %H:%M})",
                 "check Notified at (date and time of Ofsted's call) and correct whichever date is wrong.", "warning")


def _opt_datetime(r: _Row, header):
    got = r.get(header, V.parse_datetime, required=False)
    return got[0].replace(tzinfo=LONDON) if got else None


def _inspection(r, rules, fw, iid, new, urn, itype, notified, start, feedback, deferral, sent) -> Inspection:
    safeguarding = r.choice("Safeguarding", fw.safeguarding, severity="warning")
    return Inspection(
        row=r.number, inspection_id=iid, id_is_new=new, urn=urn, inspection_type=itype,
        framework=fw.key, notified_at=notified, start_date=start,
        status=r.get("Status") or "", lead_inspector=r.get("Lead inspector") or "",
        deferral=deferral,
        concerns_raised=r.choice("Concerns raised", rules.choices("yes_no"), "warning"),
        concern_notes=r.get("Concern notes") or "",
        contact_plan_sent=sent,
        final_feedback_at=feedback, safeguarding=safeguarding,
        category_of_concern=r.choice("Category of concern", rules.choices("category_of_concern"), "warning"),
        grades=_grades(r, fw, rules),
        conduct_concerns=r.choice("Conduct concerns", rules.choices("yes_no"), "warning"),
        complaint_made=r.choice("Complaint made", rules.choices("yes_no"), "warning"),
        draft_report_received=r.get("Draft report received", V.parse_date, severity="warning"),
        feedback_form_completed=r.get("Feedback form completed", V.parse_date, severity="warning"),
        report_published=r.get("Report published", V.parse_date, severity="warning"),
        learning_review=r.choice("Learning review", rules.choices("learning_review"), "warning"),
        la_support_accepted=r.choice("LA support accepted", rules.choices("yes_no"), "warning"),
        nominee=r.get("Nominee") or "",
        planning_call_at=_opt_datetime(r, "Planning call at"),
    )


def _follow_ups(sheet, t: Tracker) -> None:
    for r in _rows(sheet, schema.FOLLOW_UPS, t.problems):
        due = r.get("Due", V.parse_date, severity="warning")
        t.follow_ups.append(FollowUp(
            inspection_id=r.get("Inspection ID", required=False) or "", school_name=r.get("School name") or "",
            action=r.get("Action", required=False) or "", owner=r.get("Owner") or "", due=due,
            done=r.get("Done") or "", reason=r.get("Reason") or "", state=r.get("State") or "Open",
            notes=r.get("Notes") or "", key=r.get("Key") or "", row=r.number))


def _holidays(sheet, t: Tracker) -> None:
    for r in _rows(sheet, schema.HOLIDAYS, t.problems):
        first, last = r.get("First day", V.parse_date), r.get("Last day", V.parse_date)
        if first and last and last < first:
            r.report("Last day", last.strftime("%d/%m/%Y"), "the last day is before the first day", "correct the dates.")
        if not r.bad:
            t.holidays.append(Holiday(r.get("Name") or "", first, last))


def _support(sheet, rules: Rules, t: Tracker) -> None:
    for r in _rows(sheet, schema.SUPPORT, t.problems):
        include = r.choice("Include in school emails", rules.choices("yes_no"), "warning")
        if include == "No" or r.bad:
            continue
        t.support_offers.append(SupportOffer(r.get("Offer"), r.get("Provider") or "", r.get("What it is") or "", r.get("How to access") or ""))
