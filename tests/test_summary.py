"""The HMI meeting summary: a term's counts, concern themes and timeliness; anonymised, it
names no school, URN or lead inspector (and refuses to write if it would)."""

from __future__ import annotations

import re
from datetime import datetime

from automation.cli import main
from automation.oversight.summary import themes_of
from automation.paths import rules_dir
from tests.conftest import inspection, write_tracker
from tests.test_oversight import FOLLOW_UPS, SCHOOLS, STAFF2

INSPECTIONS = [
    inspection("100001", "Full", datetime(2026, 11, 16, 12, 5), datetime(2026, 11, 17), **{
        "Contact plan sent": datetime(2026, 11, 16, 13, 0), "Concerns raised": "Yes", "Conduct concerns": "Yes",
        "Lead inspector": "HMI Carol Jenkins", "Feedback form completed": datetime(2026, 11, 19),
        "Concern notes": "Head questioned for three hours without a break; inspector dismissive of the SEND context."}),
    inspection("100002", "Full", datetime(2026, 10, 14, 10, 0), datetime(2026, 10, 15), **{
        "Contact plan sent": datetime(2026, 10, 14, 15, 0), "Concerns raised": "Yes", "Lead inspector": "OI Steve Barker",
        "Concern notes": "Something else entirely.", "Feedback form completed": datetime(2026, 10, 30),
        "Learning review": "Complete"}),
    inspection("100003", "Monitoring", datetime(2026, 9, 7, 9, 0), datetime(2026, 9, 8), **{
        "Contact plan sent": datetime(2026, 9, 7, 9, 30)}),
    inspection("100003", "Full", datetime(2026, 3, 2, 9, 0), datetime(2026, 3, 3), **{"Concerns raised": "Yes",
                                                                                     "Concern notes": "tearful"}),
]


def _tracker(tmp_path):
    return write_tracker(tmp_path / "tracker.xlsx", schools=SCHOOLS, staff=STAFF2, inspections=INSPECTIONS,
                         follow_ups=FOLLOW_UPS)


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", re.sub(r"<style.*?</style>", "", html, flags=re.S)).split())


def test_themes_by_words(rules):
    themes = rules.oversight.themes
    assert themes_of("Questioned for 3 HOURS", themes) == ["Length or pace of meetings, no breaks"]
    assert themes_of("nothing matches here", themes) == ["Other"]


def test_named_summary_counts_themes_and_timeliness(tmp_path, capsys):
    path = _tracker(tmp_path)
    assert main(["summary", str(path), "--term", "2026-27 autumn", "--now", "2026-11-24T12:00"]) == 0
    out = tmp_path / "reports" / "HMI summary 2026-27 Autumn.html"
    assert str(out) in capsys.readouterr().out
    text = _text(out.read_text(encoding="utf-8"))
    assert "3 inspections: 1 academy, 2 maintained." in text
    assert "Full (Renewed) 2" in text and "Monitoring (Renewed) 1" in text
    assert "Concerns raised during inspections: 2; concerns about inspectors' conduct: 1." in text
    assert "Length or pace of meetings, no breaks 1" in text and "School context not taken into account 1" in text
    assert "Manner or tone of inspectors 1" in text and "Other 1" in text
    assert "Headteacher distress" not in text  # that concern was last spring: another term
    assert "Acorn Primary School Full 17/11/2026 HMI Carol Jenkins Yes" in text
    # acknowledged: 0.92 h and 0.5 h in time, 5 h late. Forms: 19/11 within (last day 18/11 + 2 working
    # days), 30/10 late (16/10 + 2), and the monitoring visit's (08/09 + 2) never recorded: missed.
    assert "Acknowledge the school within 2 working hours 2 1 0" in text
    assert "Feedback form within 2 working days of the last day 1 2 0" in text
    assert "Median time from Ofsted's call to the school's acknowledgement: 0.92 working hours." in text
    assert "Requested: 1; completed: 1." in text
    assert "three hours" not in text and "dismissive" not in text  # the internal notes never appear


def test_anonymised_summary_names_no_school_urn_or_inspector(tmp_path, capsys):
    path = _tracker(tmp_path)
    assert main(["summary", str(path), "--term", "2026-27 Autumn", "--anonymise", "--now", "2026-11-24T12:00"]) == 0
    html = (tmp_path / "reports" / "HMI summary 2026-27 Autumn (anonymised).html").read_text(encoding="utf-8")
    for s in SCHOOLS:
        assert s["School name"] not in html and s["URN"] not in html
    assert "Carol Jenkins" not in html and "Steve Barker" not in html
    assert "Inspection A" in _text(html) and "October 2026" in _text(html)


def test_anonymised_summary_is_refused_if_a_name_would_leak(tmp_path, capsys):
    path = _tracker(tmp_path)
    own = tmp_path / "rules"
    own.mkdir()
    shipped = (rules_dir() / "oversight.toml").read_text()
    # A badly chosen theme name that names a school: the check must catch it.
    (own / "oversight.toml").write_text(shipped.replace(
        '"Communication and feedback" =', '"As at Acorn Primary School" = ["three"]\n"Communication and feedback" ='))
    conf = tmp_path / "config.toml"
    conf.write_text(f'[paths]\nrules_dir = "{own}"\n')
    code = main(["summary", str(path), "--term", "2026-27 Autumn", "--anonymise", "--config", str(conf),
                 "--now", "2026-11-24T12:00"])
    assert code == 2
    assert "would still name Acorn Primary School — not written" in capsys.readouterr().err
    assert not list((tmp_path / "reports").glob("*anonymised*"))


def test_bad_term_is_a_plain_message(tmp_path, capsys):
    path = _tracker(tmp_path)
    assert main(["summary", str(path), "--term", "Autumn 2026"]) == 2
    err = capsys.readouterr().err
    assert "is not a term like \"2026-27 Autumn\"" in err and "2026-27 Autumn" in err
