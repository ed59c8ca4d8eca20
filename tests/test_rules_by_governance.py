"""The rules an SIM would check in the first week, each on a real tracker built by header name:
plans by governance, the responsible body, the renewed framework as published, school days,
the category-of-concern programme, EIF 2024 monitoring and the during/after steps."""

from __future__ import annotations

import copy
from datetime import date, datetime

import pytest

from automation.calendar import WorkingCalendar
from automation.errors import ConfigError
from automation.followups import compile_follow_ups
from automation.outcomes import consistency_problems
from automation.plan.contact import build_plan
from automation.rules import load_rules
from automation.status import last_day
from automation.validate import build_tracker
from automation.workbook.reader import read_workbook
from tests.conftest import SCHOOLS, STAFF, inspection, write_tracker

MORE_STAFF = STAFF + [
    {"Name": "Eve Pask", "Role": "EPS", "Email": "eve.pask@la.example.org"},
    {"Name": "Sid Lee", "Role": "Safeguarding lead", "Email": "sid.lee@la.example.org"},
]
ACADEMY = dict(SCHOOLS[1], **{"Trust": "Oak Learning Trust", "Chair of governors": "Cara Hale"})
NURSERY = {"URN": "100003", "School name": "Catkin Nursery School", "Governance": "Maintained", "Phase": "Nursery",
           "School email": "office@catkin.school.example.org", "SIM": "Sam Imrie", "AI": "Alex Inchley"}
ACORN = dict(SCHOOLS[0], **{"Chair of governors": "Gus Lowe", "Diocese": "Diocese of Exampleford"})
HALF_TERM = [{"Name": "Autumn half term 2026", "First day": datetime(2026, 10, 26), "Last day": datetime(2026, 10, 30)},
             {"Name": "Christmas 2026", "First day": datetime(2026, 12, 21), "Last day": datetime(2027, 1, 1)},
             {"Name": "Summer 2027", "First day": datetime(2027, 7, 23), "Last day": datetime(2027, 9, 1)}]
EIF = dict(itype="Graded", notified=datetime(2025, 3, 3, 10, 0), start=datetime(2025, 3, 4))


def tracker(tmp_path, *rows, schools=(ACORN, ACADEMY, NURSERY), holidays=(), rules=None):
    path = write_tracker(tmp_path / "t.xlsx", schools=list(schools), staff=MORE_STAFF, inspections=list(rows),
                         holidays=list(holidays))
    rules = rules or load_rules()
    t = build_tracker(read_workbook(path), rules)
    cal = WorkingCalendar(school_holidays=tuple((h.first, h.last) for h in t.holidays))
    return t, rules, cal


def plan_of(t, rules, cal, n=0):
    insp = t.inspections[n]
    school = t.schools[insp.urn]
    return build_plan(insp, school, t.staff, t.cem_for(school, rules.cem_for_phase), rules.contact_plan, cal)


def follow_ups(t, rules, cal, today):
    days = lambda i: rules.contact_plan.on_site_days(i.framework, i.inspection_type)  # noqa: E731
    out = compile_follow_ups(t, rules, cal, today, lambda i: last_day(i, days(i), cal))
    return {(fu.key.split(":")[0], fu.key.split(":", 1)[1]): fu for fu in out.follow_ups}


def ids(fus, iid):
    return {rule for (i, rule) in fus if i == iid}


def warnings(t, column=None):
    return [p for p in t.problems if p.severity == "warning" and (column is None or p.column == column)]


# ---- 1. Plans by governance ----

def test_academy_that_has_not_accepted_support_is_acknowledged_and_offered_support(tmp_path):
    t, rules, cal = tracker(tmp_path, inspection(urn="100002"))
    plan = plan_of(t, rules, cal)
    steps = {s.id for s in plan.steps}
    assert not plan.involved and plan.calls == ()
    assert "acknowledge_offer" in steps and "acknowledge" not in steps
    assert not steps & {"context_to_lead_inspector", "lead_inspector_meeting", "feedback_form", "agree_approach"}
    assert "if you invite us" in plan.feedback_text
    fus = follow_ups(t, rules, cal, date(2026, 11, 19))
    got = ids(fus, "OFS-100002-20261116")
    assert "feedback_form" not in got and "follow_up_contact" not in got and "offer_support_after" in got


def test_academy_that_accepted_support_gets_the_calls_feedback_attendance_and_form(tmp_path):
    t, rules, cal = tracker(tmp_path, inspection(urn="100002", **{"LA support accepted": "Yes"}))
    plan = plan_of(t, rules, cal)
    assert plan.involved and len(plan.calls) == 2
    assert {"acknowledge", "lead_inspector_meeting", "feedback_form"} <= {s.id for s in plan.steps}
    assert "accepted our support" in plan.feedback_text
    [trust] = [s for s in plan.steps if s.id == "trust_informed"]
    assert "Tell Oak Learning Trust" in trust.what and not trust.school_sees
    got = ids(follow_ups(t, rules, cal, date(2026, 11, 19)), "OFS-100002-20261116")
    assert {"feedback_form", "follow_up_contact"} <= got and "offer_support_after" not in got


def test_maintained_school_gets_the_full_commitment_and_the_li_meeting_is_internal(tmp_path):
    t, rules, cal = tracker(tmp_path, inspection())
    plan = plan_of(t, rules, cal)
    by_id = {s.id: s for s in plan.steps}
    assert plan.involved and len(plan.calls) == 2
    assert "context_to_lead_inspector" in by_id  # Acorn has context notes
    li = by_id["lead_inspector_meeting"]
    assert not li.school_sees and "Expect the lead inspector's request" in li.what and "record" in li.what
    assert "diocese_informed" in by_id and "Diocese of Exampleford" in by_id["diocese_informed"].what


def test_conditions_are_data_an_la_can_change(tmp_path):
    rules = load_rules()
    # This LA keeps daily calls for every academy, accepted or not.
    plan = copy.deepcopy(rules.shapes["contact_plan"])
    plan["conditions"]["la_involved"] = [{"governance": ["Maintained", "Academy"]}]
    rules = rules.with_file("contact_plan", plan)
    t, rules, cal = tracker(tmp_path, inspection(urn="100002"), rules=rules)
    assert len(plan_of(t, rules, cal).calls) == 2
    plan["step"][0]["applies"] = {"goverance": ["Academy"]}
    with pytest.raises(ConfigError, match=r"contact_plan.toml, \[\[step\]\] 1 \('acknowledge'\), key 'applies': 'goverance' is not something"):
        rules.with_file("contact_plan", plan)


# ---- 2. The responsible body and the people ----

def test_academy_in_a_category_the_trust_prepares_the_statement_of_action(tmp_path):
    grades = {"Inclusion": "Urgent improvement", "Leadership and governance": "Urgent improvement", "Safeguarding": "Met",
              "Category of concern": "Special measures", "Report published": datetime(2026, 12, 10)}
    t, rules, cal = tracker(tmp_path, inspection(urn="100002", **grades))
    fus = follow_ups(t, rules, cal, date(2026, 12, 11))
    got = ids(fus, "OFS-100002-20261116")
    assert "statement_of_action" not in got and "academy_order" not in got and "programme_of_support" not in got
    trust = fus[("OFS-100002-20261116", "trust_statement_support")]
    assert "Offer support to Oak Learning Trust" in trust.action and "¶39" in trust.reason
    assert "Oak Learning Trust" in fus[("OFS-100002-20261116", "offer_support_to_trust")].action
    assert "monitoring_category" in got  # an academy not being transferred is monitored (¶45, ¶56)


def test_maintained_nursery_in_a_category_gets_no_academy_order_and_is_monitored(tmp_path):
    grades = {"Curriculum and teaching": "Urgent improvement", "Safeguarding": "Met",
              "Category of concern": "Requires significant improvement", "Report published": datetime(2026, 12, 10)}
    t, rules, cal = tracker(tmp_path, inspection(urn="100003", **grades))
    fus = follow_ups(t, rules, cal, date(2026, 12, 11))
    got = ids(fus, "OFS-100003-20261116")
    assert {"statement_of_action", "monitoring_category"} <= got
    assert "academy_order" not in got and "academisation_delayed" not in got
    assert fus[("OFS-100003-20261116", "monitoring_category")].due == date(2027, 3, 10)  # 3 months after publication


def test_concern_check_ins_name_the_chair_of_governors(tmp_path):
    t, rules, cal = tracker(tmp_path, inspection(**{"Concerns raised": "Yes"}))
    fus = follow_ups(t, rules, cal, date(2026, 11, 19))
    assert "the chair of governors (Gus Lowe)" in fus[("OFS-100001-20261116", "concern_checkin:1")].action
    assert t.schools["100002"].trust == "Oak Learning Trust" and t.schools["100001"].chair == "Gus Lowe"


# ---- 3. The renewed framework as published ----

@pytest.mark.parametrize("notified, start, deferral, warned", [
    (datetime(2026, 11, 16, 10, 0), datetime(2026, 11, 17), "", False),         # Monday, on site Tue-Wed
    (datetime(2026, 11, 19, 10, 0), datetime(2026, 11, 20), "", True),          # Thursday: the old sample's slip
    (datetime(2026, 11, 19, 10, 0), datetime(2026, 11, 20), "Granted", False),  # a deferred one re-notified
    (datetime(2026, 5, 26, 10, 0), datetime(2026, 5, 27), "", False),           # Tuesday in the bank-holiday week
    (datetime(2026, 5, 25, 10, 0), datetime(2026, 5, 26), "", True),            # (Monday is the bank holiday)
    (datetime(2026, 11, 16, 10, 0), datetime(2026, 11, 18), "", True),          # not the following days
])
def test_full_inspections_are_notified_on_monday_and_on_site_the_following_two_days(tmp_path, notified, start, deferral, warned):
    t, _, _ = tracker(tmp_path, inspection(notified=notified, start=start, Deferral=deferral or None))
    found = warnings(t, "Notified at")
    assert bool(found) == warned
    if warned:
        assert "notified on a Monday" in found[0].message or "notified on a Tuesday" in found[0].message
        assert "Deferral to Granted" in found[0].fix


def test_nominee_and_planning_call_are_columns_the_plan_uses(tmp_path):
    t, rules, cal = tracker(tmp_path, inspection(), inspection(urn="100002", **{
        "LA support accepted": "Yes", "Nominee": "Deputy head, Dan Ray", "Planning call at": datetime(2026, 11, 16, 14, 30)}))
    blank, recorded = plan_of(t, rules, cal, 0), plan_of(t, rules, cal, 1)
    assert "nominee" in {s.id for s in blank.steps} and "nominee" not in {s.id for s in recorded.steps}
    [call] = [s for s in recorded.steps if s.id == "planning_call"]
    assert call.school_sees and call.when == cal.at(date(2026, 11, 16), datetime(2026, 1, 1, 14, 30).time())
    [pending] = [s for s in blank.steps if s.id == "planning_call"]
    assert "record it in Planning call at" in pending.what
    assert recorded.nominee == "Deputy head, Dan Ray"


def test_renewed_categories_and_the_special_measures_check(tmp_path, rules):
    sw = inspection(**{"Inclusion": "Urgent improvement", "Category of concern": "Serious weaknesses"})
    sm_thin = inspection(urn="100002", **{"Leadership and governance": "Urgent improvement", "Category of concern": "Special measures"})
    sm_ok = inspection(urn="100003", **{"Leadership and governance": "Urgent improvement",
                                         "Achievement": "Urgent improvement", "Category of concern": "Special measures"})
    t, rules, _ = tracker(tmp_path, sw, sm_thin, sm_ok)
    a, b, c = (consistency_problems(i, rules) for i in t.inspections)
    assert any("not a category used by" in p.message for p in a)
    assert "Requires significant improvement, Special measures" in a[0].fix
    assert len(b) == 1 and "Leadership and governance to be Urgent improvement" in b[0].message and "other area" in b[0].message
    assert c == []
    assert "Serious weaknesses" not in rules.outcomes.frameworks["renewed"].categories


def test_needs_attention_means_may_be_monitored(tmp_path):
    t, rules, cal = tracker(tmp_path, inspection(**{"Achievement": "Needs attention", "Safeguarding": "Met"}))
    fu = follow_ups(t, rules, cal, date(2026, 11, 19))[("OFS-100001-20261116", "monitoring_expected")]
    assert fu.action.startswith("Prepare the school: Ofsted may carry out")


@pytest.mark.parametrize("called", [datetime(2026, 11, 16, 16, 29), datetime(2026, 11, 16, 16, 45)])
def test_deferral_can_always_be_requested_in_the_notification_call(tmp_path, called):
    t, rules, cal = tracker(tmp_path, inspection(notified=called))
    plan = plan_of(t, rules, cal)
    [step] = [s for s in plan.steps if s.id == "deferral"]
    assert plan.deferral_open
    assert plan.deferral_in_call_only == (called.minute == 45)
    assert "can still be requested during that call" in step.what if called.minute == 45 else \
        "during Ofsted's notification call" in step.what


# ---- 6. School days ----

def test_inspection_day_in_a_school_holiday_is_warned_about(tmp_path):
    # Full notified (re-notified, Granted) Thursday 22 October, start Friday 23: day 2 would be in half term.
    row = inspection(notified=datetime(2026, 10, 22, 10, 0), start=datetime(2026, 10, 23), Deferral="Granted",
                     **{"Final feedback at": datetime(2026, 10, 26, 15, 0)})
    t, rules, cal = tracker(tmp_path, row, holidays=HALF_TERM)
    msgs = [p.message for p in warnings(t)]
    assert any("falls in the school holiday 'Autumn half term 2026'" in m for m in msgs)
    assert any("final feedback falls in the school holiday" in m for m in msgs)
    plan = plan_of(t, rules, cal)
    assert plan.days == (date(2026, 10, 23), date(2026, 11, 2))  # counted in school days
    assert any("school holidays" in n for n in plan.notes)


def test_monitoring_notice_is_counted_in_school_days_across_a_half_term(tmp_path):
    ok = inspection(itype="Monitoring", notified=datetime(2026, 10, 22, 12, 0), start=datetime(2026, 11, 2))
    late = inspection(urn="100002", itype="Monitoring", notified=datetime(2026, 10, 21, 12, 0), start=datetime(2026, 11, 2))
    t, _, _ = tracker(tmp_path, ok, late, holidays=HALF_TERM)
    assert [p.row for p in warnings(t)] == [3]
    assert "3 school days" in warnings(t)[0].message


def test_check_ins_skip_christmas_and_monitoring_preparation_skips_august(tmp_path):
    row = inspection(notified=datetime(2026, 12, 14, 10, 0), start=datetime(2026, 12, 15),
                     **{"Concerns raised": "Yes", "Inclusion": "Needs attention", "Safeguarding": "Met"})
    t, rules, cal = tracker(tmp_path, row, holidays=HALF_TERM)
    fus = follow_ups(t, rules, cal, date(2026, 12, 17))
    iid = "OFS-100001-20261214"
    # Last day Wed 16 Dec: 5 school days = 17, 18 Dec, then 4, 5, 6 Jan (not Christmas Eve).
    assert fus[(iid, "concern_checkin:1")].due == date(2027, 1, 6)
    assert fus[(iid, "welfare_call")].due == date(2026, 12, 17)
    # Ofsted's deadline stays in working days: the next working day, whatever the holidays.
    assert fus[(iid, "decide_ofsted_call")].due == date(2026, 12, 17)
    # 9 months after the inspection is 16 September 2027: a school day. And one landing in August:
    row2 = inspection(notified=datetime(2026, 11, 16, 10, 0), **{"Inclusion": "Needs attention", "Safeguarding": "Met"})
    t, rules, cal = tracker(tmp_path, row2, holidays=HALF_TERM)
    assert follow_ups(t, rules, cal, date(2026, 11, 19))[("OFS-100001-20261116", "monitoring_expected")].due == date(2027, 9, 2)


# ---- 5. Category-of-concern programme ----

def test_maintained_category_programme_with_safeguarding_not_met(tmp_path):
    grades = {"Leadership and governance": "Urgent improvement", "Achievement": "Urgent improvement",
              "Safeguarding": "Not met", "Category of concern": "Special measures",
              "Final feedback at": datetime(2026, 11, 18, 15, 0), "Report published": datetime(2026, 12, 10)}
    t, rules, cal = tracker(tmp_path, inspection(**grades))
    fus = follow_ups(t, rules, cal, date(2026, 12, 11))
    iid = "OFS-100001-20261116"
    got = ids(fus, iid)
    assert {"statement_of_action", "academy_order", "ect_restriction", "early_return", "regions_group",
            "category_progress_review", "safeguarding_lead"} <= got
    assert "monitoring_category" not in got and "academisation_delayed" not in got  # ¶57-58
    assert fus[(iid, "ect_restriction")].owner == "Eve Pask"
    assert fus[(iid, "safeguarding_lead")].owner == "Sid Lee" and fus[(iid, "safeguarding_lead")].due == date(2026, 11, 19)
    assert fus[(iid, "statement_of_action")].due == date(2026, 12, 24)  # 10 working days
    assert "up to 5 monitoring inspections" in fus[(iid, "category_progress_review")].action
    assert fus[(iid, "category_progress_review")].due == date(2028, 6, 12)  # 18 months (Sat 10 June -> Mon 12)


def test_monitoring_inspection_has_the_la_evidence_step(tmp_path):
    t, rules, cal = tracker(tmp_path, inspection(itype="Monitoring", start=datetime(2026, 11, 18)))
    [step] = [s for s in plan_of(t, rules, cal).steps if s.id == "la_evidence_ready"]
    assert not step.school_sees and "statement of action" in step.what and step.when.date() == date(2026, 11, 18)


# ---- 4. EIF 2024 monitoring (¶51-52) and provision judgements ----

def test_eif_provision_judgements_are_recorded_and_count(tmp_path):
    ey_ri = inspection(**EIF, **{"Quality of education": "2", "Behaviour and attitudes": "2", "Personal development": "2",
                                 "Leadership and management": "2", "Early years": "3", "Safeguarding": "Effective"})
    t, rules, cal = tracker(tmp_path, ey_ri)
    insp = t.inspections[0]
    assert insp.grades["Early years"] == "3 Requires improvement" and not warnings(t)
    fus = follow_ups(t, rules, cal, date(2025, 3, 10))
    got = ids(fus, "OFS-100001-20250303")
    assert "programme_of_support" in got  # adverse: a provision judgement is RI
    assert "monitoring_expected" not in got  # good apart from the provision judgement: not normally monitored


@pytest.mark.parametrize("grades, monitored", [
    ({"Quality of education": "3", "Leadership and management": "3"}, True),
    ({"Quality of education": "3", "Leadership and management": "2"}, False),  # leadership and management good
    ({"Quality of education": "2", "Leadership and management": "2", "Sixth form": "4"}, False),
])
def test_eif_ri_may_be_monitored_unless_an_exclusion_applies(tmp_path, grades, monitored):
    t, rules, cal = tracker(tmp_path, inspection(**EIF, **grades, Safeguarding="Effective"))
    fus = follow_ups(t, rules, cal, date(2025, 3, 10))
    assert ((("OFS-100001-20250303", "monitoring_expected") in fus)) == monitored
    if monitored:
        fu = fus[("OFS-100001-20250303", "monitoring_expected")]
        assert fu.due == date(2025, 12, 5) and "first graded inspection" in fu.reason  # 9 months after the inspection


def test_eif_previous_good_graded_inspection_excludes_monitoring(tmp_path):
    before = inspection(itype="Graded", notified=datetime(2024, 10, 7, 10, 0), start=datetime(2024, 10, 8),
                        **{"Quality of education": "2", "Leadership and management": "2", "Safeguarding": "Effective"})
    now = inspection(**EIF, **{"Quality of education": "3", "Leadership and management": "3", "Safeguarding": "Effective"})
    t, rules, cal = tracker(tmp_path, before, now)
    assert ("OFS-100001-20250303", "monitoring_expected") not in follow_ups(t, rules, cal, date(2025, 3, 10))


# ---- 7 and 9. During and just after ----

def test_helpline_pausing_route_and_next_working_day_call(tmp_path):
    t, rules, cal = tracker(tmp_path, inspection())
    plan = plan_of(t, rules, cal)
    by_id = {s.id: s for s in plan.steps}
    assert "TO BE CONFIRMED BY THE LA" in plan.ofsted["helpline"]
    assert "pausing-state-funded-school-inspections" in by_id["ofsted_helpline"].what and by_id["ofsted_helpline"].school_sees
    nwd = by_id["next_working_day_call"]
    assert nwd.school_sees and nwd.when.date() == date(2026, 11, 19)  # the working day after Wed 18


def test_concerns_on_day_one_bring_a_welfare_call_and_the_ofsted_decision_next_working_day(tmp_path):
    t, rules, cal = tracker(tmp_path, inspection(**{"Concerns raised": "Yes"}))
    fus = follow_ups(t, rules, cal, date(2026, 11, 17))  # still day 1
    iid = "OFS-100001-20261116"
    assert fus[(iid, "welfare_call")].due == date(2026, 11, 19) and fus[(iid, "welfare_call")].owner == "Alex Inchley"
    assert fus[(iid, "decide_ofsted_call")].due == date(2026, 11, 19)
    assert (iid, "concern_checkin:1") not in fus  # the series starts once the inspection has ended


def test_draft_report_complaints_and_factual_accuracy(tmp_path):
    row = inspection(**{"Conduct concerns": "Yes", "Draft report received": datetime(2026, 12, 1)})
    t, rules, cal = tracker(tmp_path, row, inspection(urn="100002", **{"Complaint made": "Yes"}))
    fus = follow_ups(t, rules, cal, date(2026, 12, 2))
    assert fus[("OFS-100001-20261116", "factual_accuracy")].due == date(2026, 12, 8)  # 5 working days
    assert "complaint_formal" in ids(fus, "OFS-100001-20261116")
    assert {"complaint_support", "complaint_review"} <= ids(fus, "OFS-100002-20261116")


def test_feedback_form_duty_follows_attendance(tmp_path):
    from automation.plan.contact import feedback_form_due

    t, rules, _ = tracker(tmp_path, inspection(), inspection(urn="100002"),
                          inspection(urn="100002", notified=datetime(2026, 11, 23, 10, 0), start=datetime(2026, 11, 24),
                                     Safeguarding="Not met"))
    maintained, offer_only, sg_failed = (feedback_form_due(i, t.schools[i.urn], rules) for i in t.inspections)
    assert maintained and not offer_only and sg_failed


def test_the_sample_shows_each_case(tmp_path):
    from automation.workbook.sample import build_sample

    rules = load_rules()
    t = build_tracker(read_workbook(build_sample(tmp_path / "s.xlsx", rules, date(2026, 11, 23))), rules)
    assert t.problems == []
    by_name = {}
    for i in t.inspections:
        by_name.setdefault(t.schools[i.urn].name, []).append(i)
    cal = WorkingCalendar(school_holidays=tuple((h.first, h.last) for h in t.holidays))
    offer = plan_of(t, rules, cal, t.inspections.index(by_name["Castlebrook Academy"][0]))
    accepted = plan_of(t, rules, cal, t.inspections.index(by_name["Greywater Academy"][0]))
    assert not offer.involved and offer.calls == () and accepted.involved and accepted.calls
    assert all(t.schools[i.urn].trust for n in ("Castlebrook Academy", "Greywater Academy") for i in by_name[n])
    monday = by_name["Ashcombe Primary School"][0]
    assert monday.notified_at.strftime("%A") == "Monday" and monday.start_date == date(2026, 11, 24)
    across = by_name["Juniper Hill Primary School"][0]
    assert any(h.first <= d <= h.last for h in t.holidays for d in (date(2026, 10, 26),)) and \
        across.notified_at.date() < date(2026, 10, 26) < across.start_date
    fus = follow_ups(t, rules, cal, date(2026, 11, 23))
    nursery = ids(fus, by_name["Ivybridge Nursery School"][0].inspection_id)
    assert {"statement_of_action", "monitoring_category"} <= nursery and "academy_order" not in nursery
