"""The oversight workbook: tables of the figures and native Excel charts (openpyxl.chart).
A tool-owned file rebuilt from scratch each time — never the user's tracker."""

from __future__ import annotations

import calendar
from datetime import datetime, time

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break

from automation.oversight.figures import Facts, Table, breakdown, table
from automation.oversight.sheetxml import OversightBook
from automation.rules import Rules
from automation.safefiles import put, put_at

BLUE = "1F4E79"
TITLE = Font(bold=True, size=16, color=BLUE)
HEADING = Font(bold=True, size=12, color=BLUE)
HEAD = Font(bold=True, color="FFFFFF")
HEAD_FILL = PatternFill("solid", fgColor=BLUE)
CHART_W, CHART_H, CHART_ROWS, CHART_COL2 = 16, 6.8, 14, "K"
DETAIL_LIMIT = 5000  # rows on the Inspections sheet (the newest)
DETAIL = (("Inspection ID", "inspection_id", 21), ("School", "school", 32), ("URN", "urn", 9), ("Term", "term", 15),
          ("District", "district", 14), ("SIM", "sim", 18), ("Framework", "framework", 10),
          ("Type", "inspection_type", 16), ("Outcome", "outcome", 20), ("Notified at", "notified_at", 17),
          ("Acknowledgement", "ack", 15), ("Working hours to acknowledge", "ack_hours", 12),
          ("Keep-in-touch met", "kit_met", 10), ("Keep-in-touch missed", "kit_missed", 10),
          ("Keep-in-touch not recorded", "kit_unknown", 10), ("Concerns raised", "concerns", 10),
          ("Conduct concerns", "conduct", 10), ("Follow-ups open", "follow_ups_open", 10),
          ("Follow-ups overdue", "follow_ups_overdue", 10), ("Learning review", "review", 14))


def write_table(ws, top: int, title: str, t: Table, first_header: str) -> dict:
    """Write a titled table at row `top`; returns where it is, for charts."""
    put_at(ws, top, 1, title).font = HEADING
    head = top + 1
    for c, text in enumerate((first_header, *t.columns), start=1):
        cell = put_at(ws, head, c, text)
        cell.font, cell.fill = HEAD, HEAD_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    ws.row_dimensions[head].height = 62
    for r, g in enumerate(t.groups, start=head + 1):
        put_at(ws, r, 1, g)
        for c, col in enumerate(t.columns, start=2):
            put_at(ws, r, c, t.get(g, col))
    return {"header": head, "first": head + 1, "last": head + len(t.groups), "columns": {n: i for i, n in enumerate(t.columns, 2)}}


def bar_chart(ws, where: dict, columns: list[str], title: str, y_title: str, stacked: bool = False) -> BarChart | None:
    """A native column chart of some of a table's columns, by the table's groups."""
    if where["last"] < where["first"]:
        return None
    ch = BarChart()
    ch.type, ch.title, ch.y_axis.title = "col", title, y_title
    ch.width, ch.height = CHART_W, CHART_H
    if stacked:
        ch.grouping, ch.overlap = "stacked", 100
    for name in columns:
        col = where["columns"][name]
        ch.add_data(Reference(ws, min_col=col, min_row=where["header"], max_row=where["last"]), titles_from_data=True)
    ch.set_categories(Reference(ws, min_col=1, min_row=where["first"], max_row=where["last"]))
    rows = [[ws.cell(r, where["columns"][n]).value or 0 for n in columns] for r in range(where["first"], where["last"] + 1)]
    top = max((sum(r) if stacked else max(r)) for r in rows)
    ch.y_axis.scaling.min = 0
    if y_title != "working hours" and top <= 10:
        ch.y_axis.majorUnit = 1  # counts: whole numbers on the axis
    ch.y_axis.majorGridlines = None
    ch.y_axis.delete = ch.x_axis.delete = False  # recent openpyxl hides axes unless told
    ch.legend.position = "b"
    return ch


def _widths(ws, first: int, rest: int, n: int) -> None:
    ws.column_dimensions["A"].width = first
    for c in range(2, n + 2):
        ws.column_dimensions[get_column_letter(c)].width = rest


def build_oversight(facts: list[Facts], rules: Rules, now: datetime, la_name: str, source: str,
                    refresh_at: time | None = time(6, 0)) -> OversightBook:
    """The oversight workbook (in memory): Dashboard, By term, By district, By SIM, Inspections.
    refresh_at: when the run rebuilds it each day (None: every run in which anything changed)."""
    wb = Workbook()
    dash = wb.active
    dash.title = "Dashboard"
    put(dash["A1"], f"Ofsted inspections: leadership oversight — {la_name}")
    dash["A1"].font = TITLE
    # A snapshot, not live figures (by default the run rebuilds it once a day): say plainly when it is from.
    at = f"{now:%d/%m/%Y %H:%M}"
    when = (f"once a day by the first run after {refresh_at:%H:%M}" if refresh_at is not None
            else "by every run in which anything changed")
    put(dash["A2"], f"Figures at {at}, from {source}. Rebuilt by ofsted-tracker {when}, and on request "
                    "(ofsted-tracker oversight). Do not edit: this workbook is replaced at each rebuild.")
    dash["A2"].font = Font(bold=True, color=BLUE)
    put(dash["A3"], f"{len(facts)} inspections. Terms by the month Ofsted called: {_terms_text(rules)}. Tables: the "
                    f"By term, By district and By SIM sheets; one row per inspection (the newest {DETAIL_LIMIT:,} at "
                    "most): Inspections.")
    dash["A3"].font = Font(italic=True, color="595959")

    ws = wb.create_sheet("By term")
    types = breakdown(facts, "term", "type", rules)
    outcomes = breakdown(facts, "term", "outcome", rules, _outcome_columns(rules, facts))
    measures = table(facts, "term", rules)
    w_types = write_table(ws, 1, "Inspections by type and framework", types, "Term")
    w_out = write_table(ws, w_types["last"] + 3, "Outcomes", outcomes, "Term")
    w_meas = write_table(ws, w_out["last"] + 3, "The LA's promises, concerns, follow-ups and learning reviews", measures, "Term")
    _widths(ws, 16, 14, max(len(types.columns), len(outcomes.columns), len(measures.columns)))
    ws.freeze_panes = "B1"
    charts = [
        bar_chart(ws, w_types, list(types.columns), "Inspections by term and type", "inspections", stacked=True),
        bar_chart(ws, w_out, list(outcomes.columns), "Outcomes by term", "inspections", stacked=True),
        bar_chart(ws, w_meas, ["Acknowledged in time", "Acknowledged late", "Not acknowledged"],
                  "Acknowledging the school (promise: within "
                  f"{rules.contact_plan.timings.acknowledge_within_working_hours} working hours)",
                  "inspections", stacked=True),
        bar_chart(ws, w_meas, ["Median working hours to acknowledge"], "Median working hours from notification to plan sent",
                  "working hours"),
        bar_chart(ws, w_meas, ["Keep-in-touch points met", "Keep-in-touch points missed", "Keep-in-touch points not recorded"],
                  "Keep-in-touch points", "points", stacked=True),
        bar_chart(ws, w_meas, ["Concerns raised", "Conduct concerns"], "Concerns and conduct concerns", "inspections"),
        bar_chart(ws, w_meas, ["Follow-ups open", "Follow-ups overdue"], "Follow-ups open and overdue", "actions"),
        bar_chart(ws, w_meas, ["Learning reviews requested", "Learning reviews completed"], "Learning reviews", "inspections"),
    ]
    for i, ch in enumerate(c for c in charts if c is not None):
        dash.add_chart(ch, f"{'A' if i % 2 == 0 else CHART_COL2}{5 + CHART_ROWS * (i // 2)}")
    # Printed: three rows of charts to a landscape page, never a chart cut in two.
    dash.row_breaks.append(Break(id=4 + CHART_ROWS * 3))
    dash.page_margins.top = dash.page_margins.bottom = 0.4

    for by, name, label, words in (("district", "By district", "District", "district"), ("sim", "By SIM", "SIM", "SIM")):
        ws = wb.create_sheet(name)
        t = table(facts, by, rules)
        where = write_table(ws, 1, f"Figures by {words}", t, label)
        _widths(ws, 20, 13, len(t.columns))
        ws.freeze_panes = "B3"
        pairs = ((["Inspections", "Concerns raised", "Conduct concerns"], f"Inspections and concerns by {words}", "inspections"),
                 (["Acknowledged in time", "Acknowledged late", "Not acknowledged"], f"Acknowledgement by {words}", "inspections"),
                 (["Follow-ups open", "Follow-ups overdue"], f"Follow-ups by {words}", "actions"))
        for i, (cols, title, axis) in enumerate(pairs):
            ch = bar_chart(ws, where, cols, title, axis, stacked=cols[0].startswith("Acknowledged"))
            if ch is not None:
                ws.add_chart(ch, f"{'A' if i % 2 == 0 else 'I'}{where['last'] + 3 + CHART_ROWS * (i // 2)}")

    detail = wb.create_sheet("Inspections")
    rest = _detail(detail, facts)
    for sheet in wb.worksheets:
        sheet.oddFooter.left.text = f"Figures at {at}"  # on every printed page too
        sheet.oddFooter.right.text = "Page &P of &N"
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
        sheet.page_setup.fitToHeight = 0
    wb.properties.creator = "ofsted-tracker"
    wb.properties.title = "Ofsted inspections: leadership oversight"
    return OversightBook(wb, detail, rest)


def _terms_text(rules: Rules) -> str:
    terms = rules.oversight.terms
    return "; ".join(f"{name.lower()} {calendar.month_abbr[m[0]]}-{calendar.month_abbr[m[-1]]}" for name, m in terms.items() if m)


def _outcome_columns(rules: Rules, facts: list[Facts]) -> tuple[str, ...]:
    labels = rules.oversight.outcome_labels
    return (labels.category, labels.adverse, labels.fine, labels.none)


def _detail(ws, facts: list[Facts]) -> list[list]:
    """The Inspections sheet's header and first row; returns the values of the rows after it,
    which OversightBook.save writes straight as sheet XML."""
    # The newest inspections only: the tracker holds them all, and a sheet of tens of
    # thousands of rows would make every rebuild slow for no reader's benefit.
    if len(facts) > DETAIL_LIMIT:
        facts = sorted(facts, key=lambda f: f.notified_at)[-DETAIL_LIMIT:]
    for c, (head, _, width) in enumerate(DETAIL, start=1):
        cell = put_at(ws, 1, c, head)
        cell.font, cell.fill = HEAD, HEAD_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        ws.column_dimensions[get_column_letter(c)].width = width
    ws.row_dimensions[1].height = 45
    rows = [_detail_values(f) for f in facts]
    for c, v in enumerate(rows[0] if rows else (), start=1):
        cell = put_at(ws, 2, c, v)
        if isinstance(v, datetime):
            cell.number_format = "dd/mm/yyyy hh:mm"
    ws.freeze_panes = "B2"
    if facts:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(DETAIL))}{len(facts) + 1}"
    return rows[1:]


def _detail_values(f: Facts) -> list:
    out = []
    for _, attr, _ in DETAIL:
        v = getattr(f, attr)
        if isinstance(v, bool):
            v = "Yes" if v else "No"
        elif isinstance(v, datetime):
            v = v.replace(tzinfo=None)
        out.append(v)
    return out
