"""On the sample tracker, the Follow-ups sheet, Status and the digests are right for
every stage of an inspection's life (the county behind `ofsted-tracker sample` and the demo)."""

from __future__ import annotations

from datetime import date, datetime

import openpyxl
import pytest

from automation.calendar import LONDON
from automation.mail.transport import MemoryTransport
from automation.rules import load_rules
from automation.run import run
from automation.workbook.sample import build_sample

TODAY = date(2026, 11, 23)  # a Monday


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    from automation.config import parse_config

    path = build_sample(tmp_path_factory.mktemp("sample") / "tracker.xlsx", load_rules(), TODAY)
    t = MemoryTransport()
    result = run(path, parse_config({}, "test"), datetime(2026, 11, 23, 9, 0, tzinfo=LONDON), transport=t)
    wb = openpyxl.load_workbook(path)

    def rows(name):
        ws = wb[name]
        head = [c.value for c in ws[1]]
        return [dict(zip(head, r)) for r in ws.iter_rows(min_row=2, values_only=True) if any(r)]

    insp = {r["Inspection ID"]: r for r in rows("Inspections")}
    schools = {r["URN"]: r for r in rows("Schools")}
    by_school = {}
    for iid, r in insp.items():
        by_school.setdefault(schools[r["URN"]]["School name"], []).append(iid)
    fus = {}
    for r in rows("Follow-ups"):
        fus.setdefault(r["Inspection ID"], {})[r["Key"].split(":", 1)[1]] = r
    return result, t.sent, insp, by_school, fus, {s["Name"]: s for s in rows("Staff")}


def one(by_school, name):
    [iid] = by_school[name]
    return iid


def test_inspections_not_yet_over_have_only_concern_follow_ups(sample):
    _, _, insp, by_school, fus, _ = sample
    for iid, r in insp.items():
        if r["Status"] in ("Notified", "Plan sent", "In inspection"):
            # Concerns raised during the inspection bring the next-working-day actions at once.
            assert set(fus.get(iid, {})) <= {"welfare_call", "decide_ofsted_call"}, (iid, r["Status"])
    kingsmead = fus[one(by_school, "Kingsmead School")]
    assert set(kingsmead) == {"welfare_call", "decide_ofsted_call"}


def test_awaiting_report_with_the_form_completed(sample):
    _, _, insp, by_school, fus, _ = sample
    iid = one(by_school, "Pinecroft Infant School")
    assert insp[iid]["Status"] == "Awaiting report"
    got = {k: r["State"] for k, r in fus[iid].items()}
    assert got == {"feedback_form": "Done", "follow_up_contact": "Open", "chase_report": "Open", "governors_support": "Open"}


def test_awaiting_report_form_overdue_is_in_the_sims_digest(sample):
    _, sent, insp, by_school, fus, staff = sample
    iid = one(by_school, "Greywater Academy")
    form = fus[iid]["feedback_form"]
    assert form["State"] == "Open" and form["Due"].date() < TODAY
    [digest] = [m for m in sent if m.purpose == "digest" and m.to == (staff[form["Owner"]]["Email"],)]
    body = digest.email.get_body(("plain",)).get_content()
    overdue = body.split("OVERDUE", 1)[1].split("COMING UP", 1)[0]
    assert "Greywater Academy" in overdue and "Complete the feedback form" in overdue


def test_adverse_outcome_published(sample):
    _, _, insp, by_school, fus, _ = sample
    iid = one(by_school, "Upton Vale Primary School")
    assert insp[iid]["Status"] == "Follow-up"
    assert {"programme_of_support", "monitoring_expected"} <= set(fus[iid])
    assert "factual_accuracy" not in fus[iid] and "chase_report" not in fus[iid]  # published already


def test_category_of_concern_with_concerns_conduct_and_a_learning_review(sample):
    _, sent, insp, by_school, fus, staff = sample
    iid = one(by_school, "Coldharbour Community School")
    f = fus[iid]
    assert {"statement_of_action", "academy_order", "complaint_support", "hmi_meeting", "eps_signpost",
            "learning_review", "early_return", "ect_restriction", "safeguarding_lead", "regions_group"} <= set(f)
    # A maintained school with a directive academy order is not normally monitored (¶58); safeguarding not
    # met means an early return instead (¶57).
    assert "monitoring_category" not in f and "academisation_delayed" not in f
    assert {k for k in f if k.startswith("concern_checkin")} == {f"concern_checkin:{n}" for n in range(1, 7)}
    assert f["consider_learning_review"]["State"] == "Done" and f["learning_review"]["State"] == "Open"
    assert staff[f["academy_order"]["Owner"]]["Role"] == "CEM" and staff[f["academy_order"]["Owner"]]["Phase"] == "Secondary"
    assert f["statement_of_action"]["Due"].date() == TODAY  # 10 working days after publication
    cem = staff[f["hmi_meeting"]["Owner"]]["Email"]
    escalations = [m for m in sent if m.purpose == "overdue_escalation" and m.to == (cem,)]
    assert escalations and "Coldharbour Community School" in escalations[0].email.get_body(("plain",)).get_content()


def test_history_is_closed_and_not_reminded(sample):
    _, sent, insp, by_school, fus, _ = sample
    for school in ("Longmead Primary School", "Glenmoor Special Academy"):
        iid = one(by_school, school)
        assert insp[iid]["Status"] == "Closed"
        assert {r["State"] for r in fus[iid].values()} <= {"Done", "Past: not tracked"}
    first, later = sorted(by_school["Willowdene Primary School"])  # 2025 category, then its monitoring
    # A maintained school (academy order): the check on a delayed academisation is done by the recorded monitoring.
    assert fus[first]["academisation_delayed"]["State"] == "Done"
    assert insp[first]["Status"] == insp[later]["Status"] == "Closed"
    bodies = " ".join(m.email.get_body(("plain",)).get_content() for m in sent if m.purpose in ("digest", "overdue_escalation"))
    assert "Longmead" not in bodies and "Willowdene" not in bodies


def test_digests_go_to_officers_with_open_actions_only(sample):
    result, sent, _, _, fus, staff = sample
    owners = {r["Owner"] for f in fus.values() for r in f.values() if r["State"] == "Open"}
    digests = [m for m in sent if m.purpose == "digest"]
    emails = {staff[o]["Email"] for o in owners}
    assert {m.to[0] for m in digests} <= emails and len(digests) == len({m.to for m in digests})
    assert all(not any("sch.example.org" in a for a in m.recipients) for m in sent if m.purpose in ("digest", "overdue_escalation"))
    assert result.saved
