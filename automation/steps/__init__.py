"""The run's steps, in order. Each is a plain function Context -> list of messages to send."""

from __future__ import annotations

from automation.steps.concerns import concern_step
from automation.steps.contact_plan import plan_step
from automation.steps.feedback_form import feedback_form_step
from automation.steps.reminders import reminder_step

STEPS: list = [plan_step, concern_step, feedback_form_step, reminder_step]  # reminders last: they read the follow-ups
