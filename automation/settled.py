"""Which journal keys a run never proposes again: one definition for the run's plan and for
the steps that can tell, before building a message, that it would only be dropped."""

from __future__ import annotations

from automation.mail.states import FINAL, MAYBE_GONE


def settled_keys(history) -> set[str]:
    """Keys that are final, or possibly gone (held back for an officer or the next Sent Items lookup)."""
    return {r.key for r in history if r.state in FINAL or r.state in MAYBE_GONE}
