"""Share a completed feedback form (DOMAIN.md step 15): email it, attached, once, to Governor
Services, the CEM for the school's phase and any configured senior officers, copying the
school's SIM and AI. The edge (automation/forms/runner.py) reads the forms into ctx.forms."""

from __future__ import annotations

from automation import values as V
from automation.context import Context
from automation.errors import ConfigError, Problem
from automation.forms.readback import ReadBack, summary
from automation.forms.spec import form_spec
from automation.mail.message import Attachment, OutgoingMessage, build_message
from automation.plan.emails import day
from automation.purposes import Purpose
from automation.steps.base import Step

PURPOSE = Purpose.FEEDBACK_FORM
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def feedback_form_step(ctx: Context) -> list[OutgoingMessage]:
    """One email per completed form, never a second for the same inspection."""
    out = []
    for rb in ctx.forms:
        insp = rb.inspection
        school = ctx.tracker.schools.get(insp.urn)
        if school is None or ctx.sent(insp.inspection_id, PURPOSE):
            continue
        to = recipients(ctx, school)
        if not to:
            ctx.tracker.problems.append(Problem(
                "warning", "Staff", None, "Role", "", f"the completed feedback form {rb.form.name} has nobody to go to: "
                "there is no Governor Services officer and no CEM for the school's phase",
                "add them to the Staff sheet, or list senior officers in the config's [feedback_forms] also_to."))
            continue
        out.append(_message(ctx, rb, school, to))
    return out


def recipients(ctx: Context, school) -> list[str]:
    """Governor Services (everyone with that role), the school's CEM, then [feedback_forms] also_to."""
    staff = ctx.tracker.staff.values()
    cem = ctx.tracker.cem_for(school, ctx.rules.cem_for_phase)
    to = [s.email for s in staff if s.role == "Governor Services"] + ([cem.email] if cem else [])
    la_domain = ctx.config.sender.rsplit("@", 1)[-1].lower()
    for a in ctx.config.forms_also_to:
        try:
            addr = V.email(a)
        except V.BadValue:
            raise ConfigError(f"{ctx.config.source}: key 'feedback_forms.also_to' holds {a!r}, which is not "
                              "one email address — correct it.")
        domain = addr.rsplit("@", 1)[-1].lower()
        # Provisional outcomes stay inside the LA (DOMAIN.md, confidentiality): LA addresses only.
        if domain != la_domain and not domain.endswith("." + la_domain):
            raise ConfigError(f"{ctx.config.source}: key 'feedback_forms.also_to' holds {addr!r}, outside the LA's "
                              f"domain ({la_domain}, from [mail] sender) — completed forms carry provisional "
                              "outcomes, so list LA officers' addresses only.")
        to.append(addr)
    return list(dict.fromkeys(to))


def _message(ctx: Context, rb: ReadBack, school, to: list[str]) -> OutgoingMessage:
    insp, form, staff = rb.inspection, rb.form, ctx.tracker.staff
    team = [staff[n] for n in (school.sim, school.ai) if n in staff]
    context = {
        "la_name": ctx.config.la_name, "sender": ctx.config.sender, "inspection_id": insp.inspection_id,
        "school_name": school.name, "phase": school.phase, "governance": school.governance,
        "inspection_type": insp.inspection_type, "framework": ctx.rules.frameworks[insp.framework].label,
        "start": day(insp.start_date), "file_name": form.name,
        "completed_by": V.text(form.values.get("completed_by")) or "(not given)",
        "sections": summary(form, form_spec(ctx.rules, insp.framework, insp.inspection_type),
                            ctx.rules.frameworks[insp.framework]),
        "conduct_concerns": V.text(form.values.get("conduct_concerns")).lower() == "yes",
        "differences": rb.conflicts,
        "sim": school.sim, "ai": school.ai,
    }
    subject, text, html = ctx.renderer.render(PURPOSE, context)
    return build_message(sender=ctx.config.sender, to=to, cc=[s.email for s in team], subject=subject, text=text,
                         html=html, inspection_id=insp.inspection_id, purpose=PURPOSE, version=1, when=ctx.now,
                         reason=f"feedback form {form.name} marked complete",
                         attachments=[Attachment(form.name, XLSX, form.data)], facts={"form": form.name})


STEP = Step(feedback_form_step, "Feedback forms", 30, (PURPOSE,))
