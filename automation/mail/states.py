"""The send lifecycle's states and their groupings: the one place they are spelled out.

queued -> handing_over -> sent is the happy path; waiting, failed, blocked and unconfirmed
are the ways a message can stop short. The journal stores the value strings."""

from __future__ import annotations

from enum import Enum


class SendState(str, Enum):
    """Where one message is in its life; compares and hashes equal to its value string."""

    QUEUED = "queued"              # recorded with its bytes, not yet handed to the server
    HANDING_OVER = "handing_over"  # at the moment of hand-over: it may have gone
    SENT = "sent"                  # the server accepted it
    WAITING = "waiting"            # not delivered; the next run tries again
    FAILED = "failed"              # refused for good; a corrected address gives a new key
    BLOCKED = "blocked"            # recipient outside [mail] allowed_domains; re-checked every run
    UNCONFIRMED = "unconfirmed"    # may have gone; an officer decides (SMTP) or Sent Items is asked again

    # Plain-string hashing, so a state and its stored string are interchangeable in sets and dicts.
    def __hash__(self) -> int:
        return str.__hash__(self.value)

    def __str__(self) -> str:
        return self.value


# Values older journals (and Email logs) hold, and what they mean now.
LEGACY = {"pending": SendState.HANDING_OVER, "deferred": SendState.WAITING}

FINAL = frozenset({SendState.SENT, SendState.FAILED})
IN_FLIGHT = frozenset({SendState.QUEUED, SendState.HANDING_OVER})  # settled at the start of every run
INTERRUPTED = IN_FLIGHT
MAYBE_GONE = frozenset({SendState.HANDING_OVER, SendState.UNCONFIRMED})  # never re-sent automatically over SMTP
DONE_FOR_HISTORY = frozenset({SendState.SENT, SendState.UNCONFIRMED, SendState.HANDING_OVER})  # "what the LA did"
UNDELIVERED = frozenset(s for s in SendState if s is not SendState.SENT)  # visible until done or settled
HANDED_OVER = MAYBE_GONE  # reached a server: the only states an officer may settle as sent


def state_of(value: str) -> SendState:
    """The state a stored string means (legacy values mapped); ValueError for anything else."""
    value = str(value).strip().lower()
    return LEGACY.get(value) or SendState(value)
