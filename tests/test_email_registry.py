"""Emails are registered by data: one template file per email (subject, plain text and HTML),
a step module that declares its purpose and stage, and the purpose in automation/purposes.py.
A new email needs only those three files; a missing, unknown or incomplete template stops the
run at load, in one line naming the file; the stored strings (purposes, statuses) never change."""

from __future__ import annotations

import email
import filecmp
import shutil
from email import policy
from pathlib import Path

import pytest

import automation
from automation.errors import TemplateError
from automation.mail.message import Renderer
from automation.paths import email_templates_dir
from automation.purposes import Purpose, templated
from automation.status import Status
from automation.steps import REGISTRY, STAGES
from automation.steps.base import Step, check
from tests.conftest import inspection, write_tracker
from tests.console import cli

PRODUCT = Path(automation.__file__).resolve().parent
WELCOME_LINE = '    WELCOME = "welcome_note"  # a test\'s own email\n'

WELCOME_TEMPLATE = """{% extends "_layout.html" %}
{% block subject %}Welcome: {{ school_name }}{% endblock %}
{% block text %}
Hello {{ sim }}: {{ note }}
{% endblock %}
{% block banner %}welcome{% endblock %}
{% block body %}<p>Hello {{ sim }}: {{ note }}</p>{% endblock %}
"""

WELCOME_STEP = '''"""A welcome note to each inspection's SIM: an email a test adds."""

from automation.mail.message import build_message
from automation.purposes import Purpose
from automation.steps.base import Step


def welcome_step(ctx):
    """One note per inspection, once."""
    out = []
    for insp in ctx.tracker.inspections:
        school = ctx.tracker.schools.get(insp.urn)
        if school is None or ctx.sent(insp.inspection_id, Purpose.WELCOME):
            continue
        sim = ctx.tracker.staff[school.sim]
        # Only this email's own fields: the layout's (la_name, sender) come from the config.
        context = {"school_name": school.name, "sim": sim.name, "note": "Tea & <cake> at 3"}
        subject, text, html = ctx.renderer.render(Purpose.WELCOME, context)
        out.append(build_message(sender=ctx.config.sender, to=[sim.email], subject=subject, text=text, html=html,
                                 inspection_id=insp.inspection_id, purpose=Purpose.WELCOME, version=1,
                                 when=ctx.now, reason="welcome note"))
    return out


STEP = Step(welcome_step, "Welcomes", 95, (Purpose.WELCOME,))
'''


def product_copy(root: Path) -> Path:
    """The installed product (package and email templates) copied to root, as a checkout would be."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(PRODUCT, root / "automation", ignore=ignore)
    shutil.copytree(email_templates_dir(), root / "email_templates", ignore=ignore)
    return root


def changed_files(a: Path, b: Path) -> list[str]:
    """Files added, removed or changed between two product trees (caches ignored)."""
    out = []
    for sub in ("automation", "email_templates"):
        cmp = filecmp.dircmp(a / sub, b / sub, ignore=["__pycache__"])
        stack = [(cmp, sub)]
        while stack:
            d, where = stack.pop()
            out += [f"{where}/{n}" for n in d.left_only + d.right_only + d.diff_files + d.funny_files]
            stack += [(d.subdirs[n], f"{where}/{n}") for n in d.subdirs]
    return sorted(out)


def test_a_new_email_needs_only_its_three_files(tmp_path, conf, monkeypatch):
    before, after = product_copy(tmp_path / "before"), product_copy(tmp_path / "after")
    purposes = after / "automation" / "purposes.py"
    src = purposes.read_text(encoding="utf-8")
    anchor = '    TRANSPORT_TEST = "transport_test"'
    purposes.write_text(src.replace(anchor, WELCOME_LINE + anchor), encoding="utf-8")
    (after / "email_templates" / "welcome_note.email.j2").write_text(WELCOME_TEMPLATE, encoding="utf-8")
    (after / "automation" / "steps" / "welcome.py").write_text(WELCOME_STEP, encoding="utf-8")
    assert changed_files(before, after) == ["automation/purposes.py", "automation/steps/welcome.py",
                                            "email_templates/welcome_note.email.j2"]

    # The real console script, running the copy: the new email is planned, sent and summarised.
    monkeypatch.setenv("PYTHONPATH", str(after))
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection()])
    done = cli("run", path, "--config", conf, "--now", "2026-11-16T12:20", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Welcomes:       welcome note x1" in done.stdout
    sent = [email.message_from_bytes(p.read_bytes(), policy=policy.default)
            for p in (tmp_path / "outbox").rglob("*.eml")]
    welcome = [m for m in sent if m["Subject"] == "Welcome: Acorn Primary School"]
    assert len(welcome) == 1 and len(sent) > 1  # the contact plan and its calls went too
    text = welcome[0].get_body(("plain",)).get_content()
    html = welcome[0].get_body(("html",)).get_content()
    assert "Hello Sam Imrie: Tea & <cake> at 3" in text  # plain text is never escaped
    assert "Hello Sam Imrie: Tea &amp; &lt;cake&gt; at 3" in html and "Example County Council" in html
    assert f"({welcome[0]['From']})" in html  # the layout's footer names the sender, which the step never gave


def add_purpose(root: Path, line: str) -> None:
    """A purpose member added to the copy's automation/purposes.py (and nothing else)."""
    purposes = root / "automation" / "purposes.py"
    anchor = '    TRANSPORT_TEST = "transport_test"'
    purposes.write_text(purposes.read_text(encoding="utf-8").replace(anchor, line + anchor), encoding="utf-8")


def error_lines(done) -> list[str]:
    return [line.removeprefix("ofsted-tracker: ") for line in done.stderr.splitlines() if line.strip()]


def test_a_purpose_no_step_sends_stops_validate_and_run_naming_purposes_py(tmp_path, conf, monkeypatch):
    copy = product_copy(tmp_path / "product")
    add_purpose(copy, '    REPORT_PUBLISHED = "report_published"  # added, with no step yet\n')
    monkeypatch.setenv("PYTHONPATH", str(copy))
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection()])
    for command in (("validate", path), ("run", path, "--now", "2026-11-16T12:20")):
        done = cli(*command, "--config", conf, cwd=tmp_path)
        assert done.returncode == TemplateError.exit_code, done.stdout + done.stderr
        assert "internal error" not in done.stderr
        # Every file still to do, one line each: the step, then the template.
        assert error_lines(done) == [
            "automation/purposes.py: purpose Purpose.REPORT_PUBLISHED ('report_published') is sent by no step — add "
            "it to the purposes of the step that sends it (STEP = Step(run, \"Stage\", order, "
            "(Purpose.REPORT_PUBLISHED,)) in a module in automation/steps/), or remove the member.",
            f"{copy / 'email_templates' / 'report_published.email.j2'}: the template for the 'report_published' "
            "emails is missing — restore it."], done.stderr
    assert not (tmp_path / "outbox").exists() and not list(tmp_path.rglob("*.journal.sqlite"))


def test_a_missing_template_fails_validate_as_it_fails_run(tmp_path, conf, monkeypatch):
    copy = product_copy(tmp_path / "product")
    gone = copy / "email_templates" / "concern_escalation.email.j2"
    gone.unlink()
    monkeypatch.setenv("PYTHONPATH", str(copy))
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection()])
    said = f"{gone}: the template for the 'concern_escalation' emails is missing — restore it."
    for command in (("validate", path), ("run", path, "--now", "2026-11-16T12:20"),
                    ("run", path, "--now", "2026-11-16T12:20", "--dry-run"), ("follow-ups", path)):
        done = cli(*command, "--config", conf, cwd=tmp_path)
        assert done.returncode == TemplateError.exit_code, (command, done.stdout + done.stderr)
        assert error_lines(done) == [said], (command, done.stderr)
    # Stopped before the lock or the journal was touched, so nothing was planned, sent or recorded.
    assert not (tmp_path / "outbox").exists() and not list(tmp_path.rglob("*.journal.sqlite"))


def test_the_layout_gets_its_fields_from_the_config_and_nothing_else(tmp_path):
    r = Renderer(email_templates_dir(), layout={"la_name": "Shire & Co", "la_phone": "0100", "sender": "s@la.example"})
    context = {"school_name": "Oak", "inspection_id": "OFS-1", "headteacher": "H", "start": "Monday",
               "deferral_open": False, "deferral_deadline": "d", "deferral_answer_by": "a", "sim": "S", "ai": "A"}
    _, _, html = r.render(Purpose.DEFERRAL, context)
    assert "Shire &amp; Co &middot;" in html and "(s@la.example)" in html
    _, _, html = r.render(Purpose.DEFERRAL, {**context, "la_name": "Step's own"})  # a step's own value wins
    assert "Step&#39;s own &middot;" in html
    with pytest.raises(TemplateError, match=r"deferral_requested.email.j2 \(text part\) uses a field the product "
                                            "does not supply: 'sim' is undefined"):
        r.render(Purpose.DEFERRAL, {k: v for k, v in context.items() if k != "sim"})  # strict for the rest


def test_a_layout_field_the_config_does_not_supply_is_named_at_load(tmp_path):
    folder = templates(tmp_path)
    layout = folder / "_layout.html"
    layout.write_text(layout.read_text(encoding="utf-8").replace("{{ sender }}", "{{ sender }} {{ team_motto }}"),
                      encoding="utf-8")
    assert problem_lines(folder) == [f"{layout}: uses {{{{ team_motto }}}}, which is not a layout field (one of "
                                     "la_name, la_phone, sender, from the config) — use one of those, or move it "
                                     "into a block each email fills in."]
    layout.unlink()
    assert problem_lines(folder) == [f"{layout}: the layout every email extends is missing — restore it."]


def test_a_template_without_its_html_part_stops_the_run_in_one_line(tmp_path, conf, monkeypatch):
    copy = product_copy(tmp_path / "product")
    digest = copy / "email_templates" / "digest.email.j2"
    src = digest.read_text(encoding="utf-8")
    digest.write_text(src[:src.index("{% block body %}")], encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", str(copy))
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection()])
    done = cli("run", path, "--config", conf, "--now", "2026-11-16T12:20", cwd=tmp_path)
    assert done.returncode == TemplateError.exit_code
    said = [line for line in (done.stdout + done.stderr).splitlines() if "digest.email.j2" in line]
    assert len(said) == 1 and "no {% block body %} (the HTML part) — add it." in said[0], done.stdout + done.stderr
    assert not (tmp_path / "outbox").exists()  # stopped before anything was planned or sent


def templates(tmp_path: Path) -> Path:
    folder = tmp_path / "templates"
    shutil.copytree(email_templates_dir(), folder)
    return folder


def problem_lines(folder: Path) -> list[str]:
    with pytest.raises(TemplateError) as caught:
        Renderer(folder)
    return str(caught.value).splitlines()


def test_a_template_without_its_subject_is_named(tmp_path):
    folder = templates(tmp_path)
    f = folder / "concern_escalation.email.j2"
    src = f.read_text(encoding="utf-8")
    start = src.index("{% block subject %}")
    f.write_text(src[:start] + src[src.index("{% endblock %}", start) + len("{% endblock %}"):], encoding="utf-8")
    assert problem_lines(folder) == [f"{f}: no {{% block subject %}} (the subject line) — add it."]


def test_a_missing_template_and_a_stray_file_are_each_named(tmp_path):
    folder = templates(tmp_path)
    (folder / "overdue_escalation.email.j2").unlink()
    (folder / "digest.txt").write_text("an old-style part\n", encoding="utf-8")
    lines = problem_lines(folder)
    assert len(lines) == 2
    assert lines[0].startswith(f"{folder / 'digest.txt'}: no email has this name")
    assert lines[1] == f"{folder / 'overdue_escalation.email.j2'}: the template for the 'overdue_escalation' " \
                       "emails is missing — restore it."


def test_a_template_that_is_not_jinja_names_file_and_line(tmp_path):
    folder = templates(tmp_path)
    f = folder / "digest.email.j2"
    f.write_text(f.read_text(encoding="utf-8").replace("{% endif %}", "{% endiff %}", 1), encoding="utf-8")
    with pytest.raises(TemplateError) as caught:
        Renderer(folder).render(Purpose.DIGEST, {})
    [line] = str(caught.value).splitlines()
    assert line.startswith(f"{f}, line ") and line.endswith("— correct the template.")


def test_a_part_mentioned_only_in_a_comment_is_still_missing(tmp_path):
    folder = templates(tmp_path)
    f = folder / "digest.email.j2"
    src = f.read_text(encoding="utf-8")
    f.write_text("{# {% block body %} #}" + src[:src.index("{% block body %}")], encoding="utf-8")
    assert problem_lines(folder) == [f"{f}: no {{% block body %}} (the HTML part) — add it."]


def test_every_purpose_has_one_template_and_one_step():
    assert sorted(p.name for p in email_templates_dir().iterdir() if not p.name.startswith("_")) == \
        sorted(p.template for p in templated())
    sent = [p for s in REGISTRY for p in s.purposes]
    assert sorted(sent) == sorted(templated()) and len(sent) == len(set(sent))
    assert [label for label, _ in STAGES] == ["Contact plans", "Concerns", "Feedback forms", "Reminders"]


def test_a_purpose_no_step_sends_or_two_steps_share_is_refused():
    steps = {s.run.__module__.rsplit(".", 1)[-1]: s for s in REGISTRY}
    without = {n: s for n, s in steps.items() if n != "concerns"}
    with pytest.raises(TemplateError, match=r"automation/purposes.py: purpose Purpose.CONCERN \('concern_escalation'\) "
                                            "is sent by no step"):
        check(without)
    twice = {**steps, "again": Step(lambda ctx: [], "Again", 99, (Purpose.CONCERN,))}
    with pytest.raises(TemplateError, match="automation/steps/again.py: purpose 'concern_escalation' is already "
                                            "sent by automation/steps/concerns.py"):
        check(twice)


def test_stored_strings_never_change():
    # The journal and the Email log hold these values; the Status column holds the statuses.
    assert {p.name: p.value for p in Purpose} == {
        "CONTACT_PLAN_INTERNAL": "contact_plan_internal", "CONTACT_PLAN_SCHOOL": "contact_plan_school",
        "DEFERRAL": "deferral_requested", "CONTACT_PLAN_CALL": "contact_plan_call",
        "CONCERN": "concern_escalation", "FEEDBACK_FORM": "feedback_form_completed", "DIGEST": "digest",
        "OVERDUE_ESCALATION": "overdue_escalation", "TRANSPORT_TEST": "transport_test"}
    assert [s.value for s in Status] == ["Notified", "Plan sent", "In inspection", "Awaiting report",
                                         "Follow-up", "Closed"]


def test_a_call_purpose_belongs_to_the_call_template():
    assert Purpose.of("contact_plan_call_cancel_school_day2") is Purpose.CONTACT_PLAN_CALL
    assert Purpose.of("digest") is Purpose.DIGEST
    assert Purpose.of("contact_plan_schoolish") is None and Purpose.of("welcome") is None


def test_the_text_part_is_not_escaped_and_the_html_part_is(tmp_path):
    r = Renderer(email_templates_dir())
    context = {"la_name": "A & B Council", "sender": "s@la.example.org", "school_name": "Tom & Jerry's <School>",
               "inspection_id": "OFS-1", "headteacher": "H", "start": "Monday 16 November 2026",
               "deferral_open": True, "deferral_deadline": "d", "deferral_answer_by": "a", "sim": "S", "ai": "A"}
    subject, text, html = r.render(Purpose.DEFERRAL, context)
    assert subject == "Deferral requested: Tom & Jerry's <School> [OFS-1]"
    assert "Tom & Jerry's <School> has asked Ofsted" in text
    assert "Tom &amp; Jerry&#39;s &lt;School&gt;" in html and "A &amp; B Council" in html
    assert "Deferral requested:" not in html.split("<title>")[0]  # the text parts are not in the HTML
    assert "has asked Ofsted to defer" in html and html.count("has asked Ofsted to defer") == 1
