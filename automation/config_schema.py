"""The config file's schema: every table and key the product reads, typed, with its default.
A key not declared here is refused at load time (a misspelt key must never be ignored)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from functools import cache
from typing import Annotated, Any, Literal, get_args, get_origin

import msgspec
from msgspec import Meta

TRANSPORTS = ("outbox", "smtp", "ews", "graph")  # what a config file may choose; "memory" is code-only
GRAPH_AUTHORITY = "https://login.microsoftonline.com"
GRAPH_URL = "https://graph.microsoft.com/v1.0"
EVERY_RUN = "every run"  # [reports] oversight_refresh_at: rebuild the oversight workbook whenever its inputs change


class Table(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A TOML table: unknown keys refused, values taken exactly as written (no "587" for 587)."""


class Parsed(str):
    """Text whose check or spelling takes code, not a type or a Meta constraint: `load` hands the
    value as written to `parse`, inside the one conversion, so the first wrong key is still the one
    reported."""

    @staticmethod
    def parse(v: Any) -> str:
        raise NotImplementedError


def _text(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError("not text")
    return v


# H:MM or HH:MM in ASCII digits only: int() alone would also take "+8", " 8", "0_8", "-0" and
# other scripts' digits, reading as a time what no one wrote as one.
_HH_MM = re.compile(r"[0-9]{1,2}:[0-9]{2}")


def _clock(v: Any) -> str:
    """A TOML local time (08:30:00) or text "8:30" / "08:30", as text "08:30"."""
    if isinstance(v, time):
        return f"{v:%H:%M}"
    if not _HH_MM.fullmatch(_text(v)):
        raise ValueError("not a time")
    h, m = v.split(":")
    return f"{time(int(h), int(m)):%H:%M}"  # ValueError for "25:00"


class Clock(Parsed):
    """A clock time, kept as text "HH:MM"."""

    parse = staticmethod(_clock)


class ClockOrEveryRun(Parsed):
    """A clock time as for Clock, or "every run" (any case and spacing)."""

    @staticmethod
    def parse(v: Any) -> str:
        if isinstance(v, str) and " ".join(v.lower().replace("-", " ").split()) == EVERY_RUN:
            return EVERY_RUN
        return _clock(v)


class Version(Parsed):
    """Empty, or a version like "15.1" (digits as str.isdigit sees them)."""

    @staticmethod
    def parse(v: Any) -> str:
        if _text(v) == "" or v.replace(".", "").isdigit():
            return v
        raise ValueError("out of range")


class ReplyTo(Parsed):
    """Who a school's reply goes to: "sim", "ai", "sender", "shared", or an email address."""

    @staticmethod
    def parse(v: Any) -> str:
        if _text(v).strip().lower() in ("sim", "ai", "sender", "shared", "") or "@" in v:
            return v
        raise ValueError("out of range")


def _url(v: Any) -> str:
    if _text(v) == "" or v.startswith(("https://", "http://")):
        return v
    raise ValueError("out of range")


class Url(Parsed):
    """Empty, or a URL starting https:// or http://."""

    parse = staticmethod(_url)


class GraphAuthority(Parsed):
    """A URL whose "" means the Microsoft sign-in authority."""

    parse = staticmethod(lambda v: _url(v) or GRAPH_AUTHORITY)


class GraphUrl(Parsed):
    """A URL whose "" means Microsoft Graph's."""

    parse = staticmethod(lambda v: _url(v) or GRAPH_URL)


Seconds = Annotated[float, Meta(ge=0)]
Positive = Annotated[float, Meta(gt=0)]
Days = Annotated[int, Meta(ge=0)]


def at_most(most: float, words: str) -> Meta:
    """An upper bound, with the words for a value above it (or infinite): a bound keeps a number the
    tool turns into a date, a timer or a size from crashing it later (year 10000, a timeout the
    system cannot hold, an infinite size). A value below the lower bound keeps its own words."""
    return Meta(le=most, extra={"over": words})


DAY = 86400  # seconds: no wait, timeout or pause the tool takes needs longer

Address = Annotated[str, Meta(pattern="@")]
NonBlank = Annotated[str, Meta(pattern=r"\S")]  # \S is exactly "not all str.isspace()", as strip() sees it
Port = Annotated[int, Meta(gt=0, lt=65536)]
Minutes = Literal[tuple(m for m in range(1, 61) if 60 % m == 0)]  # 1 <= m <= 60 and divides an hour

# The "should be ..." words for a bad value, by kind.
TIME = "a time like \"17:00\""
SECS = "a number of seconds, 0 or more"
RATE = "messages a minute, e.g. 30 (0 = no limit)"
TEXT = "text in quotes"
LIST = "a list of strings, like [\"la.example.org\"]"
URL = "a URL starting https://"
BOOL = "true or false"
FOLDER = "a folder name in quotes"
PEM = "the path of a PEM file in quotes"
TIMEOUT = "a number of seconds, e.g. 60"

Text = Annotated[str, Meta(description=TEXT)]
Folder = Annotated[NonBlank, Meta(description=FOLDER)]
Pem = Annotated[str, Meta(description=PEM)]
Flag = Annotated[bool, Meta(description=BOOL)]
Wait = Annotated[Seconds, Meta(description=SECS), at_most(DAY, f"a number of seconds from 0 to {DAY} (a day)")]
Rate = Annotated[Seconds, Meta(description=RATE), at_most(10000, "messages a minute from 0 to 10000, e.g. 30 (0 = no limit)")]
Timeout = Annotated[Positive, Meta(description=TIMEOUT),
                    at_most(DAY, f"a number of seconds above 0 and at most {DAY} (a day), e.g. 60")]
Strings = Annotated[list[str], Meta(description=LIST)]
UrlWords = Meta(description=URL)


def choice(values: tuple[str, ...], words: str) -> Any:
    """A text key that must be one of `values` (the error offers the nearest)."""
    return Annotated[Literal[values], Meta(description=words, extra={"choices": values})]


class La(Table):
    name: Text = "Example County Council"
    phone: Text = ""


class Smtp(Table):
    host: Annotated[NonBlank, Meta(description="a host name or address in quotes")] = "127.0.0.1"
    port: Annotated[Port, Meta(description="a port number like 587")] = 587
    security: choice(("starttls", "ssl", "none"), "starttls, ssl or none") = "starttls"
    username: Text = ""
    allow_plaintext_login: Flag = False
    ca_bundle: Pem = ""
    rate_per_minute: Rate = 30
    timeout_seconds: Timeout = 60


class Ews(Table):
    endpoint: Annotated[Url, UrlWords] = ""
    auth: choice(("basic", "ntlm", "oauth"), "basic, ntlm or oauth") = "ntlm"
    username: Text = ""
    mailbox: Text = ""
    tenant_id: Text = ""
    client_id: Text = ""
    server_version: Annotated[Version, Meta(description="a version like \"15.1\"")] = ""
    max_wait_seconds: Wait = 120
    confirm_wait_seconds: Wait = 30
    confirm_every_seconds: Wait = 3


class Graph(Table):
    tenant_id: Text = ""
    client_id: Text = ""
    mailbox: Text = ""
    authority: Annotated[GraphAuthority, UrlWords] = GRAPH_AUTHORITY
    graph_url: Annotated[GraphUrl, UrlWords] = GRAPH_URL
    ca_bundle: Pem = ""
    rate_per_minute: Rate = 30
    timeout_seconds: Timeout = 60
    max_wait_seconds: Wait = 120
    confirm_wait_seconds: Wait = 30
    confirm_every_seconds: Wait = 3


class Mail(Table):
    transport: choice(TRANSPORTS, "one of " + ", ".join(TRANSPORTS)) = "outbox"
    sender: Annotated[Address, Meta(description="an email address (the shared mailbox)")] = "ofsted.support@la.example.org"
    outbox_dir: Folder = "outbox"
    allowed_domains: Strings = []
    redirect_to: Annotated[str, Meta(description="one email address (test mode sends everything there)")] = ""
    school_reply_to: Annotated[ReplyTo, Meta(description="\"sim\", \"ai\", \"sender\" or an email address")] = "sim"
    smtp: Smtp = Smtp()
    ews: Ews = Ews()
    graph: Graph = Graph()


class WorkingHours(Table):
    start: Annotated[Clock, Meta(description=TIME)] = "08:30"
    end: Annotated[Clock, Meta(description=TIME)] = "17:00"


class Paths(Table):
    state_dir: Folder = ".ofsted-tracker"
    rules_dir: Annotated[str, Meta(description=FOLDER)] = ""


WorkingDays = Annotated[Days, Meta(description="a whole number of working days"),
                        at_most(3650, "a whole number of working days from 0 to 3650")]


class Reminders(Table):
    enabled: Flag = True
    send_after: Annotated[Clock, Meta(description="a time like \"07:30\"")] = "07:30"
    lookahead_working_days: WorkingDays = 5
    escalate_after_working_days: WorkingDays = 5


class Schedule(Table):
    every_minutes: Annotated[Minutes, Meta(
        description="a number of minutes that divides an hour (5, 10, 15, 20, 30 or 60)")] = 15
    start: Annotated[Clock, Meta(description="a time like \"07:00\"")] = "07:00"
    end: Annotated[Clock, Meta(description="a time like \"19:00\"")] = "19:00"


class FeedbackForms(Table):
    folder: Annotated[NonBlank, Meta(description=FOLDER)] = "forms"
    also_to: Strings = []


def _place(example: str) -> Any:
    return Annotated[NonBlank, Meta(description=f"a folder or file name like \"{example}\"")]


class Reports(Table):
    reviews_dir: _place("reviews") = "reviews"
    oversight: _place("reports/{tracker} oversight.xlsx") = "reports/{tracker} oversight.xlsx"
    summaries_dir: _place("reports") = "reports"
    # Leaders' figures need no 15-minute freshness: the first run after this time each day rebuilds them.
    oversight_refresh_at: Annotated[ClockOrEveryRun, Meta(description="a time like \"06:00\", or \"every run\"")] = "06:00"


class Workbook(Table):
    max_part_mb: Annotated[Positive, Meta(description="a number of megabytes, e.g. 200"),
                           at_most(100000, "a number of megabytes above 0 and at most 100000, e.g. 200")] = 200
    max_compression_ratio: Annotated[Positive, Meta(description="a number, e.g. 100"),
                                     at_most(100000, "a number above 0 and at most 100000, e.g. 100")] = 100


class Sharepoint(Table):
    """The tracker kept in SharePoint or OneDrive, read and written through the Graph workbook API."""

    tracker: Annotated[str, Meta(
        description="a SharePoint/OneDrive URL, or \"drive:<drive id>/item:<item id>\", in quotes")] = ""
    tenant_id: Text = ""
    client_id: Text = ""
    authority: Annotated[GraphAuthority, UrlWords] = GRAPH_AUTHORITY
    graph_url: Annotated[GraphUrl, UrlWords] = GRAPH_URL
    scopes: Annotated[list[str], Meta(description="a list of delegated permissions, like [\"Files.ReadWrite.All\"]")] = \
        msgspec.field(default_factory=lambda: ["Files.ReadWrite.All"])
    ca_bundle: Pem = ""
    local_folder: Folder = "sharepoint"
    sign_in_cache: Annotated[str, Meta(description="a file name in quotes")] = ""
    allow_unencrypted_cache: Flag = False
    timeout_seconds: Timeout = 60
    max_wait_seconds: Wait = 120
    lease_minutes: Annotated[int, Meta(ge=1, description="a whole number of minutes, 1 or more"),
                             at_most(10080, "a whole number of minutes from 1 to 10080 (a week)")] = 120


class Settings(Table):
    la: La = La()
    mail: Mail = Mail()
    working_hours: WorkingHours = WorkingHours()
    paths: Paths = Paths()
    reminders: Reminders = Reminders()
    schedule: Schedule = Schedule()
    feedback_forms: FeedbackForms = FeedbackForms()
    reports: Reports = Reports()
    workbook: Workbook = Workbook()
    sharepoint: Sharepoint = Sharepoint()


@dataclass(frozen=True)
class Key:
    """What the loader needs to word an error about one key."""

    table: type[Table] | None  # the sub-table behind the key, or None for a plain key
    words: str  # what a good value looks like
    choices: tuple = ()  # the allowed texts, for "did you mean ...?"
    is_list: bool = False
    most: float | None = None  # the upper bound of a number, if any
    over: str = ""  # what a good value looks like, for a number above `most` (or infinite)


@cache
def keys_of(model: type[Table]) -> dict[str, Key]:
    """The keys of table `model`, in declaration order (the order errors are looked for in)."""
    found = {}
    for f in msgspec.structs.fields(model):
        kind, metas = f.type, ()
        if get_origin(kind) is Annotated:
            kind, *metas = get_args(kind)
        about = next((m for m in reversed(metas) if isinstance(m, Meta) and m.description), None)
        table = kind if isinstance(kind, type) and issubclass(kind, Table) else None
        bound = next((m for m in metas if isinstance(m, Meta) and "over" in (m.extra or {})), None)
        found[f.name] = Key(table, about.description if about else "a different value",
                            tuple((about.extra or {}).get("choices", ())) if about else (), get_origin(kind) is list,
                            bound.le if bound else None, bound.extra["over"] if bound else "")
    return found


def table_of(model: type[Table], name: str) -> type[Table] | None:
    """The sub-table model behind key `name` of `model`, or None for a plain key."""
    key = keys_of(model).get(name)
    return key.table if key else None


def tables(model: type[Table] = Settings, prefix: str = "") -> dict[str, type[Table]]:
    """Every table by dotted name ("" = the top level), e.g. {"mail.smtp": Smtp, ...}."""
    found = {prefix: model}
    for name, key in keys_of(model).items():
        if key.table:
            found.update(tables(key.table, f"{prefix}.{name}" if prefix else name))
    return found


def _in_key_order(data: dict, model: type[Table]) -> dict:
    # msgspec stops at the first wrong value in the order it meets them: give it the declared
    # order, so the key reported is the same whatever order the file wrote them in.
    keys = keys_of(model)
    out = {}
    for name, key in keys.items():
        if name in data:
            value = data[name]
            out[name] = _in_key_order(value, key.table) if key.table and isinstance(value, dict) else value
    out.update((k, v) for k, v in data.items() if k not in keys)  # msgspec names it (the loader checks first)
    return out


def _decode(kind: type, value: Any) -> Any:
    if isinstance(kind, type) and issubclass(kind, Parsed):
        return kind(kind.parse(value))
    raise NotImplementedError(kind)


def load(data: dict) -> Settings:
    """Settings from parsed TOML, strictly (raises msgspec.ValidationError naming the first wrong key)."""
    return msgspec.convert(_in_key_order(data, Settings), Settings, strict=True, dec_hook=_decode)


def dump(settings: Table) -> dict:
    """The settings as plain dicts, lists, text and numbers, every key present."""
    return msgspec.to_builtins(settings, enc_hook=str)  # a Parsed value is text: give it as a plain str
