"""The run's steps, found by data: every module here with a STEP (automation/steps/base.py)
is a step. Each is a plain function Context -> list of messages to send."""

from __future__ import annotations

from automation.steps.base import Step, discover

REGISTRY: list[Step] = discover(__name__, __path__)
STEPS: list = [s.run for s in REGISTRY]  # in run order
# The run's stages in order, and the purposes each one sends (a call's purpose belongs to CONTACT_PLAN_CALL).
STAGES: tuple = tuple((s.stage, s.purposes) for s in REGISTRY)
