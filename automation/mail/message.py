"""Build RFC 5322 messages (HTML + plain text, attachments) from strict jinja2 templates."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, getaddresses
from pathlib import Path

import jinja2

from automation.errors import MailError, TemplateError


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # e.g. "text/calendar; method=REQUEST"
    data: bytes


@dataclass(frozen=True)
class OutgoingMessage:
    """A message ready to send, with the identity that makes it exactly-once."""

    key: str
    inspection_id: str
    purpose: str
    version: int
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    reason: str
    email: EmailMessage = field(compare=False, repr=False)
    facts: dict = field(default_factory=dict, compare=False)  # what the message was based on

    @property
    def message_id(self) -> str:
        return self.email["Message-ID"]

    @property
    def recipients(self) -> tuple[str, ...]:
        return self.to + self.cc

    def as_bytes(self) -> bytes:
        """The exact bytes every transport hands over (CRLF line ends)."""
        return self.email.as_bytes(policy=SMTP)


def message_key(inspection_id: str, purpose: str, recipients, version: int) -> str:
    """Deterministic key from (inspection, purpose, recipients, version)."""
    rec = ",".join(sorted(a.lower() for a in recipients))
    raw = f"{inspection_id}|{purpose}|{rec}|{version}"
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


class Renderer:
    """Renders NAME.subject.txt, NAME.txt and NAME.html from a template folder."""

    def __init__(self, folder: Path):
        loader = jinja2.FileSystemLoader(str(folder))
        self.folder = folder
        self.html = jinja2.Environment(loader=loader, undefined=jinja2.StrictUndefined,
                                       autoescape=True, trim_blocks=True, lstrip_blocks=True)
        self.text = jinja2.Environment(loader=loader, undefined=jinja2.StrictUndefined,
                                       autoescape=False, trim_blocks=True, lstrip_blocks=True,
                                       keep_trailing_newline=True)

    def render(self, name: str, context: dict) -> tuple[str, str, str]:
        """(subject, plain text, html) for a template name."""
        try:
            subject = self.text.get_template(f"{name}.subject.txt").render(context)
            text = self.text.get_template(f"{name}.txt").render(context)
            html = self.html.get_template(f"{name}.html").render(context)
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(f"Email template {exc.name} is missing from {self.folder} — restore it.")
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"Email template '{name}' uses a field the product does not supply: {exc.message} — correct the template in {self.folder}.")
        return " ".join(subject.split()), text, html


def _check_header(name: str, value: str) -> str:
    if "\r" in value or "\n" in value:
        raise MailError(f"The {name} header would contain a line break ({value!r}) — remove line breaks from the tracker cell it came from.")
    return value


def _check_address(addr: str) -> str:
    _check_header("address", addr)
    parsed = getaddresses([addr])
    if len(parsed) != 1 or "@" not in parsed[0][1]:
        raise MailError(f"{addr!r} is not a single email address — correct it in the tracker.")
    return addr


def build_message(*, sender: str, to, cc=(), subject: str, text: str, html: str | None,
                  inspection_id: str, purpose: str, version: int, when: datetime,
                  reason: str, attachments=(), facts: dict | None = None,
                  reply_to: str | None = None) -> OutgoingMessage:
    """An OutgoingMessage whose Message-ID and X-Tracker-Key derive from its identity."""
    to = tuple(dict.fromkeys(_check_address(a) for a in to))
    cc = tuple(a for a in dict.fromkeys(_check_address(a) for a in cc) if a.lower() not in {t.lower() for t in to})
    if not to:
        raise MailError(f"No recipient for '{purpose}' on inspection {inspection_id} — add the missing email address in the tracker.")
    key = message_key(inspection_id, purpose, to + cc, version)
    domain = sender.rsplit("@", 1)[-1]
    msg = EmailMessage()
    msg["From"] = _check_header("From", sender)
    msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    if reply_to:
        msg["Reply-To"] = _check_header("Reply-To", reply_to)
    msg["Subject"] = _check_header("Subject", subject)
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = f"<ofsted-tracker.{key}@{domain}>"
    msg["X-Tracker-Key"] = key
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for att in attachments:
        maintype, _, subtype = att.content_type.partition("/")
        subtype, *params = [p.strip() for p in subtype.split(";")]
        extra = dict(p.split("=", 1) for p in params if "=" in p)
        msg.add_attachment(att.data, maintype=maintype, subtype=subtype,
                           filename=att.filename, params=extra)
    return OutgoingMessage(key, inspection_id, purpose, version, to, cc, subject, reason, msg, facts or {})
