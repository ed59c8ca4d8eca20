"""The config file's schema: every table and key the product reads, typed, with its default.
A key not declared here is refused at load time (a misspelt key must never be ignored)."""

from __future__ import annotations

from datetime import time
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

TRANSPORTS = ("outbox", "smtp", "ews", "graph")  # what a config file may choose; "memory" is code-only
GRAPH_AUTHORITY = "https://login.microsoftonline.com"
GRAPH_URL = "https://graph.microsoft.com/v1.0"


class Table(BaseModel):
    """A TOML table: unknown keys refused, values taken exactly as written (no "587" for 587)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _check(test) -> AfterValidator:
    def run(v):  # pydantic turns the ValueError into an error the loader words per key
        if not test(v):
            raise ValueError("out of range")
        return v
    return AfterValidator(run)


def _clock(v: Any) -> Any:
    """A TOML local time (08:30:00) or text "08:30", as text "08:30"."""
    if isinstance(v, time):
        return f"{v:%H:%M}"
    if isinstance(v, str):
        try:
            h, m = v.split(":")
            return f"{time(int(h), int(m)):%H:%M}"
        except ValueError:
            raise ValueError("not a time")
    return v


def _url_or_default(default: str):
    return AfterValidator(lambda v: default if v == "" else v)


Clock = Annotated[str, BeforeValidator(_clock)]

EVERY_RUN = "every run"  # [reports] oversight_refresh_at: rebuild the oversight workbook whenever its inputs change


def _clock_or_every_run(v: Any) -> Any:
    """A clock time as for Clock, or "every run" (any case and spacing)."""
    if isinstance(v, str) and " ".join(v.lower().replace("-", " ").split()) == EVERY_RUN:
        return EVERY_RUN
    return _clock(v)


ClockOrEveryRun = Annotated[str, BeforeValidator(_clock_or_every_run)]
Seconds = Annotated[float, _check(lambda v: v >= 0)]
Positive = Annotated[float, _check(lambda v: v > 0)]
Days = Annotated[int, _check(lambda v: v >= 0)]
Url = Annotated[str, _check(lambda v: v == "" or v.startswith(("https://", "http://")))]
Address = Annotated[str, _check(lambda v: "@" in v)]
NonBlank = Annotated[str, _check(lambda v: bool(v.strip()))]
Port = Annotated[int, _check(lambda v: 0 < v < 65536)]
Minutes = Annotated[int, _check(lambda v: 1 <= v <= 60 and 60 % v == 0)]
Version = Annotated[str, _check(lambda v: v == "" or v.replace(".", "").isdigit())]

# The "should be ..." words for a bad value, by kind.
TIME = "a time like \"17:00\""
SECS = "a number of seconds, 0 or more"
RATE = "messages a minute, e.g. 30 (0 = no limit)"
TEXT = "text in quotes"
LIST = "a list of strings, like [\"la.example.org\"]"
URL = "a URL starting https://"


def choice(values: tuple[str, ...], default: str, words: str):
    """A text key that must be one of `values` (the error offers the nearest)."""
    return Field(default, description=words, json_schema_extra={"choices": list(values)})


def text(default: str, words: str = TEXT):
    return Field(default, description=words)


class La(Table):
    name: str = text("Example County Council")
    phone: str = text("")


class Smtp(Table):
    host: NonBlank = text("127.0.0.1", "a host name or address in quotes")
    port: Port = Field(587, description="a port number like 587")
    security: Annotated[str, _check(lambda v: v in ("starttls", "ssl", "none"))] = choice(
        ("starttls", "ssl", "none"), "starttls", "starttls, ssl or none")
    username: str = text("")
    allow_plaintext_login: bool = Field(False, description="true or false")
    ca_bundle: str = text("", "the path of a PEM file in quotes")
    rate_per_minute: Seconds = Field(30, description=RATE)
    timeout_seconds: Positive = Field(60, description="a number of seconds, e.g. 60")


class Ews(Table):
    endpoint: Url = text("", URL)
    auth: Annotated[str, _check(lambda v: v in ("basic", "ntlm", "oauth"))] = choice(
        ("basic", "ntlm", "oauth"), "ntlm", "basic, ntlm or oauth")
    username: str = text("")
    mailbox: str = text("")
    tenant_id: str = text("")
    client_id: str = text("")
    server_version: Version = text("", "a version like \"15.1\"")
    max_wait_seconds: Seconds = Field(120, description=SECS)
    confirm_wait_seconds: Seconds = Field(30, description=SECS)
    confirm_every_seconds: Seconds = Field(3, description=SECS)


class Graph(Table):
    tenant_id: str = text("")
    client_id: str = text("")
    mailbox: str = text("")
    authority: Annotated[Url, _url_or_default(GRAPH_AUTHORITY)] = text(GRAPH_AUTHORITY, URL)
    graph_url: Annotated[Url, _url_or_default(GRAPH_URL)] = text(GRAPH_URL, URL)
    ca_bundle: str = text("", "the path of a PEM file in quotes")
    rate_per_minute: Seconds = Field(30, description=RATE)
    timeout_seconds: Positive = Field(60, description="a number of seconds, e.g. 60")
    max_wait_seconds: Seconds = Field(120, description=SECS)
    confirm_wait_seconds: Seconds = Field(30, description=SECS)
    confirm_every_seconds: Seconds = Field(3, description=SECS)


class Mail(Table):
    transport: Annotated[str, _check(lambda v: v in TRANSPORTS)] = choice(
        TRANSPORTS, "outbox", "one of " + ", ".join(TRANSPORTS))
    sender: Address = text("ofsted.support@la.example.org", "an email address (the shared mailbox)")
    outbox_dir: NonBlank = text("outbox", "a folder name in quotes")
    allowed_domains: list[str] = Field([], description=LIST)
    redirect_to: str = text("", "one email address (test mode sends everything there)")
    school_reply_to: Annotated[str, _check(lambda v: v.strip().lower() in ("sim", "ai", "sender", "shared", "") or "@" in v)] = \
        text("sim", "\"sim\", \"ai\", \"sender\" or an email address")
    smtp: Smtp = Smtp()
    ews: Ews = Ews()
    graph: Graph = Graph()


class WorkingHours(Table):
    start: Clock = Field("08:30", description=TIME)
    end: Clock = Field("17:00", description=TIME)


class Paths(Table):
    state_dir: NonBlank = text(".ofsted-tracker", "a folder name in quotes")
    rules_dir: str = text("", "a folder name in quotes")


class Reminders(Table):
    enabled: bool = Field(True, description="true or false")
    send_after: Clock = Field("07:30", description="a time like \"07:30\"")
    lookahead_working_days: Days = Field(5, description="a whole number of working days")
    escalate_after_working_days: Days = Field(5, description="a whole number of working days")


class Schedule(Table):
    every_minutes: Minutes = Field(15, description="a number of minutes that divides an hour (5, 10, 15, 20, 30 or 60)")
    start: Clock = Field("07:00", description="a time like \"07:00\"")
    end: Clock = Field("19:00", description="a time like \"19:00\"")


class FeedbackForms(Table):
    folder: NonBlank = text("forms", "a folder name in quotes")
    also_to: list[str] = Field([], description=LIST)


class Reports(Table):
    reviews_dir: NonBlank = text("reviews", "a folder or file name like \"reviews\"")
    oversight: NonBlank = text("reports/{tracker} oversight.xlsx", "a folder or file name like \"reports/{tracker} oversight.xlsx\"")
    summaries_dir: NonBlank = text("reports", "a folder or file name like \"reports\"")
    # Leaders' figures need no 15-minute freshness: the first run after this time each day rebuilds them.
    oversight_refresh_at: ClockOrEveryRun = Field("06:00", description="a time like \"06:00\", or \"every run\"")


class Workbook(Table):
    max_part_mb: Positive = Field(200, description="a number of megabytes, e.g. 200")
    max_compression_ratio: Positive = Field(100, description="a number, e.g. 100")


class Sharepoint(Table):
    """The tracker kept in SharePoint or OneDrive, read and written through the Graph workbook API."""

    tracker: str = text("", "a SharePoint/OneDrive URL, or \"drive:<drive id>/item:<item id>\", in quotes")
    tenant_id: str = text("")
    client_id: str = text("")
    authority: Annotated[Url, _url_or_default(GRAPH_AUTHORITY)] = text(GRAPH_AUTHORITY, URL)
    graph_url: Annotated[Url, _url_or_default(GRAPH_URL)] = text(GRAPH_URL, URL)
    scopes: list[str] = Field(["Files.ReadWrite.All"], description="a list of delegated permissions, like [\"Files.ReadWrite.All\"]")
    ca_bundle: str = text("", "the path of a PEM file in quotes")
    local_folder: NonBlank = text("sharepoint", "a folder name in quotes")
    sign_in_cache: str = text("", "a file name in quotes")
    allow_unencrypted_cache: bool = Field(False, description="true or false")
    timeout_seconds: Positive = Field(60, description="a number of seconds, e.g. 60")
    max_wait_seconds: Seconds = Field(120, description=SECS)
    lease_minutes: Annotated[int, _check(lambda v: v >= 1)] = Field(120, description="a whole number of minutes, 1 or more")


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


def table_of(model: type[Table], name: str) -> type[Table] | None:
    """The sub-table model behind key `name` of `model`, or None for a plain key."""
    field = model.model_fields.get(name)
    kind = field.annotation if field else None
    return kind if isinstance(kind, type) and issubclass(kind, Table) else None


def tables(model: type[Table] = Settings, prefix: str = "") -> dict[str, type[Table]]:
    """Every table by dotted name ("" = the top level), e.g. {"mail.smtp": Smtp, ...}."""
    found = {prefix: model}
    for name in model.model_fields:
        sub = table_of(model, name)
        if sub:
            found.update(tables(sub, f"{prefix}.{name}" if prefix else name))
    return found
