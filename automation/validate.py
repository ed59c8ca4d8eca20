"""Check the raw workbook and build the domain Tracker: every problem reported by
sheet, row, column and value with what to do; a bad row never stops the good ones."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Iterable

from automation import values as V
from automation.calendar import LONDON
from automation.errors import Problem, WorkbookError, visible
from automation.model import FollowUp, Holiday, Inspection, School, Staff, SupportOffer, Tracker
from automation.plausibility import how_read, long_date, neighbour_slip, notice_slips, other_reading, schedule_problems
from automation.rules import Rules
from automation.rules_schema import DateSenseFile
from automation.rowread import Lookups, Pick, Row, build_inspection, row_plan, staff_ref
from automation.workbook import schema
from automation.workbook.raw import RawSheet, RawWorkbook

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


# The sheets one inspection's facts come from (build_tracker with only= or rows=): its emails
# are in the send journal, and the Email log is read apart only when the journal has none.
FOR_ONE = (schema.INSPECTIONS, schema.SCHOOLS, schema.STAFF, schema.FOLLOW_UPS, schema.HOLIDAYS, schema.SUPPORT)


def build_tracker(raw: RawWorkbook, rules: Rules, now: datetime | None = None, *,
                  only: Iterable[str] | None = None, rows: Iterable[int] | None = None) -> Tracker:
    """The domain Tracker and its problems from a raw workbook. `now` (from the edge's clock)
    lets a Notified at in the future hold its row back; without it dates are not checked against
    the clock. `only` (inspection ids) or `rows` (Inspections row numbers): read and check just
    those inspections, with their school's other rows (for the duplicate checks), their Schools
    rows and Follow-ups; each comes out as a whole read would give it (raw needs only FOR_ONE)."""
    some = only is not None or rows is not None
    needed = FOR_ONE if some else schema.REQUIRED
    missing = [s.name for s in needed if s in schema.REQUIRED and s.name not in raw.sheets]
    if missing:
        raise WorkbookError(f"The tracker has no sheet named {', '.join(repr(m) for m in missing)} — "
                            "add it (copy it from workbook_templates/tracker_template.xlsx) and run again.")
    t = Tracker(header_rows={name: s.header_row for name, s in raw.sheets.items()})
    for spec in schema.ALL:
        if spec.name in raw.sheets:
            _sheet_problems(raw.sheets[spec.name], spec, t.problems)
    pick = Pick(raw.sheets["Inspections"], only, rows) if some else None
    _staff(raw.sheets["Staff"], rules, t)
    _schools(raw.sheets["Schools"], rules, t, pick and pick.school)
    _inspections(raw.sheets["Inspections"], rules, t, _london(now), pick and pick.inspection)
    _follow_ups(raw.sheets["Follow-ups"], t, pick and pick.follow_up)
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
        t.support_offers = [SupportOffer(o.name, o.provider, o.detail, o.contact) for o in rules.offers]
    # Dates against Ofsted's pattern and the Holidays sheet (warnings only).
    t.problems += schedule_problems(t, rules)
    log = raw.sheets.get("Email log")
    t.logged_message_ids = {V.text(c.get("Message ID")) for _, c in log.rows if c.get("Message ID")} if log else set()
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


def _rows(sheet: RawSheet, spec: schema.Sheet, problems: list, keep=None):
    """Each filled row to read (keep(cells): only the rows it accepts)."""
    if _required_missing(sheet, spec):
        return
    for n, cells in sheet.rows:
        if cells and (keep is None or keep(cells)):
            yield Row(sheet, spec, n, cells, problems)


def _staff(sheet, rules: Rules, t: Tracker) -> None:
    roles, phases = rules.choices("staff_role"), rules.choices("cem_phase")
    seen: set[str] = set()
    for r in _rows(sheet, schema.STAFF, t.problems):
        name = r.get("Name")
        role = r.choice("Role", roles)
        mail = r.get("Email", V.email)
        phone = r.get("Phone") or ""
        phase = r.choice("Phase", phases, severity="warning")
        if role == "CEM" and not phase:
            r.report("Phase", "", "a CEM needs the phase they cover", "choose Primary, Secondary or All.", "warning")
        if name and name.lower() in seen:
            r.report("Name", name, f"'{visible(name)}' appears twice on the Staff sheet", "keep one row per officer (names must be unique).")
        if r.bad:
            continue
        seen.add(name.lower())
        t.staff[name] = Staff(name, role, mail, phone, phase, r.number)


def _by_lower_name(t: Tracker) -> dict[str, Staff]:
    return {s.name.lower(): s for s in t.staff.values()}  # unique: _staff refuses a second spelling


def _schools(sheet, rules: Rules, t: Tracker, keep=None) -> None:
    staff = _by_lower_name(t)
    governance, phases = rules.choices("governance"), rules.choices("phase")
    for r in _rows(sheet, schema.SCHOOLS, t.problems, keep):
        urn = r.get("URN", V.urn)
        if urn and urn in t.schools:
            r.report("URN", urn, f"URN {urn} is already on row {t.schools[urn].row}", "keep one row per school; delete or correct the duplicate.")
        name = r.get("School name")
        gov = r.choice("Governance", governance)
        phase = r.choice("Phase", phases)
        office = r.get("School email", V.email)
        head_mail = r.get("Headteacher email", V.email, severity="warning") or ""
        sim = staff_ref(r, "SIM", staff, "SIM")
        ai = staff_ref(r, "AI", staff, "AI")
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


def _notified(r: Row, now: datetime | None, sense: DateSenseFile):
    got = r.get("Notified at", V.parse_datetime)
    if got is None:
        return None
    dt, has_time = got
    aware = dt.replace(tzinfo=LONDON)
    if now is not None and _in_future(aware, has_time, now, sense):
        _future(r, dt, has_time, now)
        return None
    if not has_time:
        r.report("Notified at", dt.strftime("%d/%m/%Y"), "has no time of day; 12:00 is assumed",
                 "type the time Ofsted called, as dd/mm/yyyy hh:mm (it decides the deferral deadline).", "warning")
        aware = datetime.combine(dt.date(), ASSUMED_NOTIFICATION_TIME, tzinfo=LONDON)
    return aware


def _in_future(dt: datetime, has_time: bool, now: datetime, sense: DateSenseFile) -> bool:
    # A date typed without a time is "today" all day: only a later day is in the future.
    if not has_time:
        return dt.date() > now.date()
    return dt > now + timedelta(minutes=sense.future_grace_minutes)


def _future(r: Row, dt: datetime, has_time: bool, now: datetime) -> None:
    """An error, so the row waits: nothing is sent for a notification that has not happened."""
    shown = dt.strftime("%d/%m/%Y %H:%M" if has_time else "%d/%m/%Y")
    alt = other_reading(dt.date())
    hint = f"; did you mean {long_date(alt)}?" if alt and alt <= now.date() else ""
    r.report("Notified at", shown,
             f"Notified at is in the future ({long_date(dt.date())}{dt:, %H:%M}; it is now {now:%d/%m/%Y %H:%M}) — "
             f"nothing is sent for this inspection until then{hint}",
             "check the date (day first: dd/mm/yyyy hh:mm) and correct it; if Ofsted really called for then, "
             "leave it: the row is held back until that time.")


def _inspections(sheet, rules: Rules, t: Tracker, now: datetime | None = None, keep=None) -> None:
    seen_ids: dict[str, int] = {}
    seen_keys: dict[tuple, int] = {}
    sense = rules.date_sense
    dated: list[tuple[Row, date, date | None, set[str]]] = []  # new rows' dates, for the neighbour check
    look, plan = Lookups(rules, _by_lower_name(t)), row_plan(schema.INSPECTIONS)
    types, deferrals = rules.choices("inspection_type"), rules.choices("deferral")
    for r in _rows(sheet, schema.INSPECTIONS, t.problems, keep):
        urn = r.get("URN", V.urn)
        if urn and urn not in t.schools:
            r.report("URN", urn, f"URN {urn} is not on the Schools sheet (or its row there has errors)",
                     "add the school to the Schools sheet, or correct the URN.")
        elif urn:
            _school_matches(r, t.schools[urn])
        notified = _notified(r, now, sense)
        start = r.get("Start date", V.parse_date)
        fw = look.framework_on(notified.date()) if notified else None
        itype = r.choice("Inspection type", fw.types if fw else types)
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
        deferral = r.choice("Deferral", deferrals, "warning")
        sent = _opt_datetime(r, "Contact plan sent")
        _implausible_dates(r, rules, fw, itype, notified, start, deferral, sent, warned)
        t.inspections.append(build_inspection(r, look, plan, fw, iid, not existing_id, urn, itype, notified, start,
                                         feedback, deferral, sent))
    if keep is None:  # new rows against their neighbours: only when every row was read
        _out_of_place(dated, sense, _max_notice(rules), now.date() if now else None)


def school_label(school) -> str:
    """What the tool writes in an Inspections row's School cell: the name and governance."""
    return f"{school.name} ({school.governance})"


def _letters(text: str) -> str:
    return "".join(ch for ch in str(text).lower() if ch.isalnum())


def _school_matches(r: "Row", school) -> None:
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
    return rules.contact_plan.timings.max_notice_days


def _slip_hint(r: Row, notified: date, start: date, rules: Rules, warned: set[str]) -> str:
    """"; did you mean ...?" when reading a date the other way round makes the row's dates fit."""
    slips = notice_slips(notified, start, _max_notice(rules))
    if not slips:
        return ""
    warned.update(slips)
    read = {"Notified at": notified, "Start date": start}
    return "".join(f"; did you mean {col} {long_date(d)}? {how_read(r.cells.get(col), read[col])}"
                   for col, d in slips.items())


def _out_of_place(dated: list, sense: DateSenseFile, most: int, today: date | None) -> None:
    """Warn about a new row's Notified at far from the other new rows around it (and today) whose
    other reading fits them: read as long past, it would get no contact plan at all."""
    k, far, near = sense.neighbour_rows, sense.far_days, sense.near_days
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


def _implausible_dates(r: Row, rules: Rules, fw, itype, notified, start, deferral, sent, warned: set[str]) -> None:
    """Warn about dates that are possible but unlikely (a typing slip is the usual cause)."""
    timing = rules.contact_plan.type_timing(fw.key, itype)
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
    in_school_days = timing is not None and timing.max_notice_school_days is not None
    if notice > most and deferral != "Granted" and not in_school_days:
        r.report("Start date", start.strftime("%d/%m/%Y"),
                 f"the start date is {notice} days after Ofsted's notification ({notified:%d/%m/%Y}); "
                 f"Ofsted gives about a day's notice (more than {most} days is unlikely)",
                 "check the dates; if a deferral moved it, set Deferral to Granted.", "warning")
    same_day_unusual = timing is not None and timing.warn_same_day_start
    if notice == 0 and same_day_unusual:
        r.report("Start date", start.strftime("%d/%m/%Y"),
                 f"a {itype} inspection normally starts the day after Ofsted's call, but this one starts "
                 f"the same day (notified {notified:%d/%m/%Y %H:%M})",
                 "check the Start date and Notified at; if the inspection really started the same day, ignore this warning.",
                 "warning")
    _sent_early(r, notified, sent)


def _sent_early(r: Row, notified, sent) -> None:
    # With no time typed, Notified at is taken as 12:00: a plan sent that morning is not "early".
    time_assumed = notified.time() == ASSUMED_NOTIFICATION_TIME
    if sent and (sent.date() < notified.date() or (sent < notified and not time_assumed)):
        r.report("Contact plan sent", sent.strftime("%d/%m/%Y %H:%M"),
                 f"the contact plan is recorded as sent before Ofsted's notification ({notified:%d/%m/%Y %H:%M})",
                 "check Notified at (date and time of Ofsted's call) and correct whichever date is wrong.", "warning")


def _opt_datetime(r: Row, header):
    got = r.get(header, V.parse_datetime, required=False)
    return got[0].replace(tzinfo=LONDON) if got else None


def _follow_ups(sheet, t: Tracker, keep=None) -> None:
    for r in _rows(sheet, schema.FOLLOW_UPS, t.problems, keep):
        due = r.get("Due", V.parse_date, severity="warning")
        iid, school, action, owner, done, reason, state, notes, key = r.texts(_FOLLOW_UP_TEXT)
        t.follow_ups.append(FollowUp(
            inspection_id=iid, school_name=school, action=action, owner=owner, due=due, done=done, reason=reason,
            state=state or "Open", notes=notes, key=key, row=r.number))


# The tool's own sheet, read whole on every run: its text cells in one call a row.
_FOLLOW_UP_TEXT = ("Inspection ID", "School name", "Action", "Owner", "Done", "Reason", "State", "Notes", "Key")


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
