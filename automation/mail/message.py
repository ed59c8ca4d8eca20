"""Build RFC 5322 messages (HTML + plain text, attachments) from strict jinja2 templates."""

from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime
from email import headerregistry
from email.message import EmailMessage
from email.policy import SMTP, default
from email.utils import format_datetime, getaddresses
from pathlib import Path

import jinja2
from jinja2 import meta

from automation.errors import MailError, TemplateError
from automation.purposes import TEMPLATE_SUFFIX, templated


AUTO_RESPONSE_SUPPRESS = "OOF, AutoReply"


class _HeaderRegistry(headerregistry.HeaderRegistry):
    """The standard header registry, made cheaper without changing a header (or a byte).

    The standard one makes a new class with type() on every lookup — a third of the cost of
    setting a header — so each header's class is made once. And it parses every value it is
    given, though most of a batch's headers are the same few (From, MIME-Version, each part's
    Content-Type ...): a parsed header is a pure function of its name and value that nothing
    changes afterwards (a str with read-only attributes; replacing a header makes a new one),
    so one parsed header is shared by every message that sets the same name to the same value."""

    KEEP = 4096  # parsed headers kept; a long-lived process starts again beyond this

    def __init__(self):
        super().__init__()
        self._classes: dict[str, type] = {}
        self._parsed: dict[tuple[str, str], headerregistry.BaseHeader] = {}

    def __getitem__(self, name):
        key = name.lower()  # how the standard registry looks names up
        cls = self._classes.get(key)
        if cls is None:
            cls = self._classes[key] = super().__getitem__(name)
        return cls

    def __call__(self, name, value):
        key = (name, value)
        header = self._parsed.get(key) if type(value) is str else None
        if header is None:
            header = super().__call__(name, value)
            if type(value) is str:
                if len(self._parsed) >= self.KEEP:
                    self._parsed.clear()
                self._parsed[key] = header
        return header

    def map_to_type(self, name, cls):
        self._classes.pop(name.lower(), None)
        self._parsed.clear()
        super().map_to_type(name, cls)

    def __deepcopy__(self, memo):
        # A copied message (test mode's redirected copy) shares the registry: it holds nothing of
        # any one message, and copying its store of parsed headers would cost more than the copy.
        return self

    def __copy__(self):
        return self


# The default policy with that registry: what every message (and each of its parts) is built with.
POLICY = default.clone(header_factory=_HeaderRegistry())


def forget_parsed_headers() -> None:
    """Start the shared store of parsed headers afresh, as a new process does (for benchmarks)."""
    POLICY.header_factory._parsed.clear()


def new_message() -> EmailMessage:
    """An empty message (or MIME part) built with POLICY."""
    return EmailMessage(policy=POLICY)


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
        """The exact bytes every transport hands over (CRLF line ends), made once per message."""
        # The journal's copy and the transport's (and each retry's) are then the same bytes by
        # construction, for one flatten instead of two or more. Everything that changes a
        # message's email does so before its first as_bytes (attach_itip) or on a copy
        # (redirected, only_to), and the first flatten fixes the MIME boundaries in it anyway.
        data = self.__dict__.get("_bytes")
        if data is None:
            data = self.email.as_bytes(policy=SMTP)
            object.__setattr__(self, "_bytes", data)  # frozen: a cache, not a field
        return data

    def keep_bytes(self, data: bytes) -> OutgoingMessage:
        """Hand these bytes over as the message (its journalled bytes, which its email was parsed
        from): a message sent again goes exactly as it was, not as a re-flatten would fold it."""
        object.__setattr__(self, "_bytes", bytes(data))
        return self


def message_key(inspection_id: str, purpose: str, recipients, version: int) -> str:
    """Deterministic key from (inspection, purpose, recipients, version)."""
    rec = ",".join(sorted(a.lower() for a in recipients))
    raw = f"{inspection_id}|{purpose}|{rec}|{version}"
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


# The shared layout every email extends, and the fields it may use: the renderer supplies these
# from the config for every message, so a step supplies only its own email's fields.
LAYOUT = "_layout.html"
LAYOUT_FIELDS = {"la_name": "[la] name", "la_phone": "[la] phone", "sender": "[mail] sender"}


def layout_fields(cfg) -> dict:
    """The layout's fields for every message, from the config (a Config or anything with its attributes)."""
    return {name: getattr(cfg, name) for name in LAYOUT_FIELDS}


class Renderer:
    """Renders one email from NAME.email.j2 in a template folder: its subject and text blocks
    as plain text (never escaped) and the rest, inside _layout.html, as escaped HTML.

    The folder is checked when the renderer is made, so a missing, unknown or incomplete
    template stops the run before anything is planned, naming the file. `layout` (see
    layout_fields) is merged under each message's own fields; any other field a template
    uses and the step does not supply is an error, never a blank."""

    def __init__(self, folder: Path, purposes=None, layout: dict | None = None,
                 cache: Path | bool = True):
        """`cache`: where compiled templates are kept between runs (True: the user's own
        private cache folder; False: none, every template compiled when first rendered)."""
        loader = jinja2.FileSystemLoader(str(folder))
        self.folder = Path(folder)
        self.layout = dict(layout or {})
        self.html = jinja2.Environment(loader=loader, undefined=jinja2.StrictUndefined,
                                       autoescape=True, trim_blocks=True, lstrip_blocks=True)
        self.text = jinja2.Environment(loader=loader, undefined=jinja2.StrictUndefined,
                                       autoescape=False, trim_blocks=True, lstrip_blocks=True,
                                       keep_trailing_newline=True)
        if cache:
            for env in (self.html, self.text):
                env.bytecode_cache = template_cache(env, None if cache is True else Path(cache))
        check_folder(self.folder, templated() if purposes is None else purposes)

    def render(self, name: str, context: dict) -> tuple[str, str, str]:
        """(subject, plain text, html) for a template name (a purpose)."""
        file, part = f"{name}{TEMPLATE_SUFFIX}", "subject"
        context = {**self.layout, **context}
        try:
            plain = self.text.get_template(file)
            subject = _block(plain, "subject", context)
            part = "text"
            text = _block(plain, "text", context)
            part = "HTML"
            html = self.html.get_template(file).render(context)
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(f"Email template {exc.name} is missing from {self.folder} — restore it.")
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(f"{self.folder / (exc.name or file)}, line {exc.lineno}: {exc.message} "
                                "— correct the template.")
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"Email template {self.folder / file} ({part} part) uses a field the product does "
                                f"not supply: {exc.message} — correct the template.")
        return " ".join(subject.split()), text, html


class _TemplateCache(jinja2.FileSystemBytecodeCache):
    """Compiled templates kept between runs: compiling the few a run renders costs about a tenth
    of a second each time (a ribbon click's budget is about a second).

    A stale template never wins: jinja2 stores each template's code with a checksum of its
    source, and compiles it again when the file's text differs. What else decides the code is
    in the file names (template_cache): this jinja2 and Python, and the environment's options
    (the HTML and the plain-text environment compile one file differently). The folder is the
    user's own (jinja2's private per-user folder, refused unless only they can write to it),
    as the files hold code to run. Anything wrong with a file (unreadable, damaged, no space)
    is a cache miss: the template is compiled as if there were no cache."""

    def load_bytecode(self, bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # damaged or unreadable: compile it again
            bucket.reset()

    def dump_bytecode(self, bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:  # full disk or read-only folder: this run simply compiled it
            pass


def template_cache(env: jinja2.Environment, folder: Path | None = None) -> jinja2.BytecodeCache | None:
    """The bytecode cache for one environment (None if no safe folder is to be had)."""
    options = (jinja2.__version__, sys.version, sys.implementation.cache_tag,
               env.block_start_string, env.block_end_string, env.variable_start_string,
               env.variable_end_string, env.comment_start_string, env.comment_end_string,
               env.line_statement_prefix, env.line_comment_prefix, env.trim_blocks, env.lstrip_blocks,
               env.newline_sequence, env.keep_trailing_newline, env.optimized, env.is_async,
               repr(env.autoescape), _qualname(env.undefined), _qualname(env.finalize),
               sorted(env.extensions), sorted(env.filters), sorted(env.tests))
    tag = hashlib.sha256(repr(options).encode()).hexdigest()[:16]
    try:
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
        return _TemplateCache(None if folder is None else str(folder), f"ofsted-tracker-{tag}-%s.cache")
    except (OSError, RuntimeError):  # no private folder: every template compiled afresh
        return None


def _qualname(obj) -> str:
    return "" if obj is None else f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', repr(obj))}"


# The parts every email template has: the plain-text ones and the HTML body (title and banner
# have the layout's defaults).
PARTS = {"subject": "the subject line", "text": "the plain-text part", "body": "the HTML part"}
# Found by a scan, not by compiling: compiling every template on each run costs a noticeable
# fraction of a second; jinja2 syntax is checked when a template is first rendered.
_BLOCK = re.compile(r"{%[-+]?\s*block\s+(\w+)")
_COMMENT = re.compile(r"{#.*?#}", re.S)


def check_folder(folder: Path, purposes=None) -> None:
    """A TemplateError (exit 6), one line per problem, unless the folder holds exactly the emails'
    templates, each with its parts, and a layout using only the layout's fields."""
    problems = check_templates(Path(folder), templated() if purposes is None else purposes)
    if problems:
        raise TemplateError("\n".join(problems))


def check_templates(folder: Path, purposes) -> list[str]:
    """One line per problem: a purpose without its template, a file no purpose uses, a
    template missing one of its parts, or a layout that is missing or uses another field."""
    if not folder.is_dir():
        return [f"The email templates folder {folder} is missing — reinstall the tool or restore the folder."]
    wanted = {f"{p}{TEMPLATE_SUFFIX}": p for p in purposes}
    present = {f.name for f in folder.iterdir() if f.is_file() and not f.name.startswith((".", "_"))}
    out = [f"{folder / name}: no email has this name (expected one of NAME{TEMPLATE_SUFFIX} for a purpose in "
           "automation/purposes.py) — remove or rename it, or add its purpose."
           for name in sorted(present - set(wanted))]
    out += [f"{folder / name}: the template for the '{p}' emails is missing — restore it."
            for name, p in wanted.items() if name not in present]
    for name in sorted(present & set(wanted)):
        try:
            blocks = set(_BLOCK.findall(_COMMENT.sub("", (folder / name).read_text(encoding="utf-8"))))
        except (OSError, UnicodeDecodeError) as exc:
            out.append(f"{folder / name}: cannot be read ({exc}) — save it as UTF-8 text.")
            continue
        out += [f"{folder / name}: no {{% block {b} %}} ({what}) — add it."
                for b, what in PARTS.items() if b not in blocks]
    return out + _check_layout(folder)


def _check_layout(folder: Path) -> list[str]:
    """The layout's problems: missing, or a field the renderer does not supply to every message
    (it would fail, or need every step to pass it, only when an email is first rendered)."""
    path = folder / LAYOUT
    try:
        source = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return [f"{path}: the layout every email extends is missing — restore it."]
    except (OSError, UnicodeDecodeError) as exc:
        return [f"{path}: cannot be read ({exc}) — save it as UTF-8 text."]
    try:
        used = meta.find_undeclared_variables(jinja2.Environment().parse(source))
    except jinja2.TemplateSyntaxError as exc:
        return [f"{path}, line {exc.lineno}: {exc.message} — correct the template."]
    given = ", ".join(LAYOUT_FIELDS)
    return [f"{path}: uses {{{{ {name} }}}}, which is not a layout field (one of {given}, from the config) — "
            "use one of those, or move it into a block each email fills in."
            for name in sorted(set(used) - set(LAYOUT_FIELDS))]


def _block(template: jinja2.Template, name: str, context: dict) -> str:
    """One block of a template, rendered on its own (the plain-text parts)."""
    block = template.blocks.get(name)
    if block is None:  # edited since the folder was checked
        raise TemplateError(f"{template.filename}: no {{% block {name} %}} ({PARTS[name]}) — add it.")
    return "".join(block(template.new_context(context)))


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
    msg = new_message()
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
    # RFC 3834: the message is generated by a program, so auto-responders must not answer it.
    msg["Auto-Submitted"] = "auto-generated"
    # Exchange/Outlook honour this instead: no out-of-office or other automatic replies into the
    # shared mailbox. Not "All": that would also suppress non-delivery reports, and a bounce is
    # how an officer learns that a school's address in the tracker is wrong.
    msg["X-Auto-Response-Suppress"] = AUTO_RESPONSE_SUPPRESS
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
