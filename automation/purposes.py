"""What each email is for: the one place the purposes are spelled out. The journal and the
Email log's Template column store the value strings; a StrEnum compares, hashes and formats
as its value, so a stored string and a member are interchangeable.

Every purpose here but those in UNTEMPLATED has exactly one template,
email_templates/<value>.email.j2 (checked when the templates are loaded), and is sent by
exactly one step module in automation/steps/ (checked when the steps are found)."""

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

    @property
    def template(self) -> str:
        """The file name of its template in email_templates/."""
        return f"{self.value}{TEMPLATE_SUFFIX}"

    @classmethod
    def of(cls, stored: str) -> Purpose | None:
        """The member a stored purpose belongs to: itself, or for a call's own purpose
        (e.g. 'contact_plan_call_school_day2') CONTACT_PLAN_CALL; None for an unknown string."""
        try:
            return cls(str(stored))
        except ValueError:
            pass
        # Only the call purpose is a prefix (one journal purpose per audience and call slot).
        return cls.CONTACT_PLAN_CALL if str(stored).startswith(f"{cls.CONTACT_PLAN_CALL}_") else None


def words(purpose: str) -> str:
    """Any purpose (a member or a stored string, e.g. a call's) in plain words."""
    return str(purpose).replace("_", " ")


TEMPLATE_SUFFIX = ".email.j2"  # one file per email: subject, plain text and HTML
# `mail test` writes its own few lines: the only purpose with no template.
UNTEMPLATED = frozenset({Purpose.TRANSPORT_TEST})


def templated() -> list[Purpose]:
    """The purposes that have a template, in declaration order."""
    return [p for p in Purpose if p not in UNTEMPLATED]


# The contact plan's own messages (a ribbon click sends these for one row).
CONTACT_PLAN = (Purpose.CONTACT_PLAN_INTERNAL, Purpose.CONTACT_PLAN_SCHOOL, Purpose.DEFERRAL)
