"""Escalate concerns: when Concerns raised is Yes, or the Concern notes change, email the
SIM, the AI and the CEM for the school's phase — once per change."""

from __future__ import annotations

import hashlib

from automation.context import Context
from automation.mail.message import OutgoingMessage, build_message
from automation.plan.emails import concern_context
from automation.purposes import Purpose
from automation.steps.base import Step

PURPOSE = Purpose.CONCERN


def notes_fingerprint(notes: str) -> str:
    """Notes compared as words, so a stray space or line break is not a new concern."""
    return hashlib.sha256(" ".join(notes.split()).lower().encode()).hexdigest()[:16]


def concern_step(ctx: Context) -> list[OutgoingMessage]:
    """One escalation email per new concern state of each inspection."""
    out = []
    for insp in ctx.tracker.inspections:
        # Once the report is published the inspection is history: recording a past concern
        # then (e.g. when back-filling the tracker) is not an emergency to escalate.
        if insp.concerns_raised != "Yes" or insp.report_published:
            continue
        school = ctx.tracker.schools.get(insp.urn)
        if school is None:
            continue
        fp = notes_fingerprint(insp.concern_notes)
        previous = ctx.sent(insp.inspection_id, PURPOSE)
        latest = max(previous, key=lambda r: r.version) if previous else None
        if latest and latest.facts.get("notes") == fp:
            continue
        version = latest.version + 1 if latest else 1
        out.append(_message(ctx, insp, school, version, fp, latest.facts.get("text", "") if latest else ""))
    return out


def _message(ctx, insp, school, version, fp, previous_notes) -> OutgoingMessage:
    staff = ctx.tracker.staff
    sim, ai = staff[school.sim], staff[school.ai]
    cem = ctx.tracker.cem_for(school, ctx.rules.cem_for_phase)
    escalation = list(ctx.rules.contact_plan.escalation.steps)
    context = concern_context(insp, school, sim, ai, cem, ctx.config, escalation, version, previous_notes)
    subject, text, html = ctx.renderer.render(PURPOSE, context)
    to = [sim.email] + ([cem.email] if cem else [])
    if cem is None:
        ctx.notes.append(f"{insp.inspection_id}: no CEM on the Staff sheet covers {school.phase} schools — "
                         "the concern went to the SIM and AI only; add the CEM to Staff.")
    return build_message(sender=ctx.config.sender, to=to, cc=[ai.email], subject=subject, text=text, html=html,
                         inspection_id=insp.inspection_id, purpose=PURPOSE, version=version, when=ctx.now,
                         reason="concern raised" if version == 1 else "concern notes changed",
                         facts={"notes": fp, "text": insp.concern_notes})


STEP = Step(concern_step, "Concerns", 20, (PURPOSE,))
