"""What each email is for: the one place the purposes are spelled out. The journal and the
Email log's Template column store the value strings; a StrEnum compares, hashes and formats
as its value, so a stored string and a member are interchangeable."""

from __future__ import annotations

from enum import StrEnum


class Purpose(StrEnum):
    """An email's purpose (also the name of its template)."""

    CONTACT_PLAN_INTERNAL = "contact_plan_internal"  # the plan to the SIM and AI
    CONTACT_PLAN_SCHOOL = "contact_plan_school"  # the acknowledgement and plan to the school
    DEFERRAL = "deferral_requested"  # the school asked Ofsted to defer
    CONTACT_PLAN_CALL = "contact_plan_call"  # a prefix: each call's purpose adds audience and slot
    CONCERN = "concern_escalation"  # concerns raised: to the SIM, AI and CEM
    FEEDBACK_FORM = "feedback_form_completed"  # a completed feedback form shared
    DIGEST = "digest"  # an officer's reminder digest
    OVERDUE_ESCALATION = "overdue_escalation"  # an overdue follow-up escalated
    TRANSPORT_TEST = "transport_test"  # `mail test`: part of no tracker's record

    @property
    def words(self) -> str:
        """The purpose in plain words, e.g. 'contact plan school'."""
        return words(self.value)


def words(purpose: str) -> str:
    """Any purpose (a member or a stored string, e.g. a call's) in plain words."""
    return str(purpose).replace("_", " ")


# The contact plan's own messages (a ribbon click sends these for one row).
CONTACT_PLAN = (Purpose.CONTACT_PLAN_INTERNAL, Purpose.CONTACT_PLAN_SCHOOL, Purpose.DEFERRAL)

# The run's stages in order, and the purposes each one sends (a call's purpose starts with its prefix).
STAGES = (("Contact plans", (Purpose.CONTACT_PLAN_INTERNAL, Purpose.CONTACT_PLAN_SCHOOL, Purpose.CONTACT_PLAN_CALL,
                             Purpose.DEFERRAL)),
          ("Concerns", (Purpose.CONCERN,)),
          ("Feedback forms", (Purpose.FEEDBACK_FORM,)),
          ("Reminders", (Purpose.DIGEST, Purpose.OVERDUE_ESCALATION)))
