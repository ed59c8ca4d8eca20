"""The run's steps, in order. Each is a plain function Context -> list of messages to send."""

from __future__ import annotations

STEPS: list = []
