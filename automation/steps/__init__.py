"""The run's steps, in order. Each is a plain function Context -> list of messages to send."""

from __future__ import annotations

from automation.steps.concerns import concern_step
from automation.steps.contact_plan import plan_step

STEPS: list = [plan_step, concern_step]
