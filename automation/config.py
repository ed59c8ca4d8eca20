"""Configuration from config.toml (tomllib), with the embedded default when there is none.
Secrets never come from the file: only from the environment or the system keyring."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path

from automation.errors import ConfigError

TRANSPORTS = ("outbox", "smtp", "ews", "graph", "memory")
SECRET_WORDS = ("password", "secret", "client_secret", "token")
KEYRING_SERVICE = "ofsted-tracker"


@dataclass(frozen=True)
class Config:
    source: str  # the file, or "embedded default"
    la_name: str = "Example County Council"
    la_phone: str = ""
    sender: str = "ofsted.support@la.example.org"
    transport: str = "outbox"
    outbox_dir: str = "outbox"
    allowed_domains: tuple[str, ...] = ()
    redirect_to: str = ""  # test mode: every message goes here instead
    day_start: time = time(8, 30)
    day_end: time = time(17, 0)
    state_dir: str = ".ofsted-tracker"  # journal and run lock, beside the workbook
    rules_dir: str = ""  # an LA's own copies of rules/*.toml
    forms_dir: str = "forms"  # feedback forms, beside the workbook
    forms_also_to: tuple[str, ...] = ()  # more recipients of completed feedback forms
    raw: dict = field(default_factory=dict, repr=False)  # every section, for the backends

    def section(self, dotted: str) -> dict:
        """A sub-table such as 'mail.smtp' ({} when absent)."""
        node = self.raw
        for part in dotted.split("."):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        return node if isinstance(node, dict) else {}

    def resolve(self, workbook: Path, relative: str) -> Path:
        """A configured folder, relative to the workbook's folder unless absolute."""
        p = Path(relative).expanduser()
        return p if p.is_absolute() else workbook.resolve().parent / p


def _get(data: dict, source: str, dotted: str, kind, default):
    node = data
    *parents, last = dotted.split(".")
    for part in parents:
        node = node.get(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"{source}: [{part}] should be a table — see config.example.toml.")
    if last not in node:
        return default
    value = node[last]
    if kind is time:
        try:
            h, m = str(value).split(":")
            return time(int(h), int(m))
        except ValueError:
            raise ConfigError(f"{source}: key '{dotted}' = {value!r} is not a time like \"17:00\" — correct it.")
    if kind is tuple:
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            raise ConfigError(f"{source}: key '{dotted}' should be a list of strings, like [\"la.example.org\"].")
        return tuple(value)
    if not isinstance(value, kind):
        raise ConfigError(f"{source}: key '{dotted}' = {value!r} should be a {kind.__name__} — correct it.")
    return value


def _refuse_secrets(data: dict, source: str, path: str = "") -> None:
    for k, v in data.items():
        where = f"{path}.{k}" if path else k
        if isinstance(v, dict):
            _refuse_secrets(v, source, where)
        elif any(w in k.lower() for w in SECRET_WORDS) and v not in ("", None):
            raise ConfigError(
                f"{source}: key '{where}' holds a secret. Secrets are never read from the config file — "
                f"delete it and set it in the environment or the system keyring (see README, 'Secrets').")


# issue 4: the mail backends' keys, as data: key -> (type, (check, what a good value looks like) or None).
_URL = (lambda v: v == "" or v.startswith(("https://", "http://")), "a URL starting https://")
_SECONDS = (lambda v: v >= 0, "a number of seconds, 0 or more")
BACKEND_KEYS = {
    "mail.smtp.host": (str, None), "mail.smtp.port": (int, (lambda v: 0 < v < 65536, "a port number like 587")),
    "mail.smtp.username": (str, None), "mail.smtp.ca_bundle": (str, None),
    "mail.smtp.rate_per_minute": ((int, float), (lambda v: v >= 0, "messages a minute, e.g. 30 (0 = no limit)")),
    "mail.smtp.timeout_seconds": ((int, float), (lambda v: v > 0, "a number of seconds, e.g. 60")),
    "mail.ews.endpoint": (str, _URL), "mail.ews.auth": (str, (lambda v: v in ("basic", "ntlm", "oauth"), "basic, ntlm or oauth")),
    "mail.ews.username": (str, None), "mail.ews.mailbox": (str, None),
    "mail.ews.tenant_id": (str, None), "mail.ews.client_id": (str, None),
    "mail.ews.server_version": (str, (lambda v: v == "" or v.replace(".", "").isdigit(), "a version like \"15.1\"")),
    "mail.ews.max_wait_seconds": ((int, float), _SECONDS), "mail.ews.confirm_wait_seconds": ((int, float), _SECONDS),
    "mail.ews.confirm_every_seconds": ((int, float), _SECONDS),
    "mail.graph.tenant_id": (str, None), "mail.graph.client_id": (str, None), "mail.graph.mailbox": (str, None),
    "mail.graph.authority": (str, _URL), "mail.graph.graph_url": (str, _URL), "mail.graph.ca_bundle": (str, None),
    "mail.graph.rate_per_minute": ((int, float), (lambda v: v >= 0, "messages a minute, e.g. 30 (0 = no limit)")),
    "mail.graph.timeout_seconds": ((int, float), (lambda v: v > 0, "a number of seconds, e.g. 60")),
    "mail.graph.confirm_wait_seconds": ((int, float), _SECONDS), "mail.graph.confirm_every_seconds": ((int, float), _SECONDS),
    "mail.graph.max_wait_seconds": ((int, float), _SECONDS),
}
REQUIRED = {"graph": ("mail.graph.tenant_id", "mail.graph.client_id")}


def _check_backends(data: dict, source: str, transport: str) -> None:
    """Every [mail.smtp]/[mail.ews]/[mail.graph] key has the right kind of value; test mode is an address."""
    for dotted, (kind, check) in BACKEND_KEYS.items():
        value = _get(data, source, dotted, object, None)
        if value is None:
            continue
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ConfigError(f"{source}: key '{dotted}' = {value!r} is the wrong kind of value — "
                              f"it should be {check[1] if check else 'text in quotes'}.")
        if check and not check[0](value):
            raise ConfigError(f"{source}: key '{dotted}' = {value!r} should be {check[1]} — correct it.")
    for dotted in REQUIRED.get(transport, ()):
        if not _get(data, source, dotted, object, None):
            raise ConfigError(f"{source}: transport '{transport}' needs key '{dotted}' — add it (see config.example.toml).")
    redirect = _get(data, source, "mail.redirect_to", str, "")
    allowed = [d.lower().lstrip("@") for d in _get(data, source, "mail.allowed_domains", tuple, ())]
    if redirect and ("@" not in redirect or any(c in redirect for c in " ,;<>")):
        raise ConfigError(f"{source}: key 'mail.redirect_to' = {redirect!r} should be one email address (test mode sends everything there).")
    if redirect and allowed and redirect.rsplit("@", 1)[1].lower() not in allowed:
        raise ConfigError(f"{source}: key 'mail.redirect_to' = {redirect!r} is outside mail.allowed_domains — "
                          "use an address in your own domain, or add its domain.")


def parse_config(data: dict, source: str) -> Config:
    """A Config from parsed TOML, with errors naming the file and key."""
    _refuse_secrets(data, source)
    transport = _get(data, source, "mail.transport", str, "outbox")
    if transport not in TRANSPORTS:
        raise ConfigError(f"{source}: key 'mail.transport' = {transport!r} is not one of {', '.join(TRANSPORTS[:4])} — correct it.")
    sender = _get(data, source, "mail.sender", str, Config.sender)
    if "@" not in sender:
        raise ConfigError(f"{source}: key 'mail.sender' = {sender!r} is not an email address — set the shared mailbox address.")
    security = _get(data, source, "mail.smtp.security", str, "starttls")
    if security not in ("starttls", "ssl", "none"):
        raise ConfigError(f"{source}: key 'mail.smtp.security' = {security!r} is not starttls, ssl or none — correct it.")
    _check_backends(data, source, transport)  # issue 4: [mail.smtp], [mail.ews], [mail.graph], redirect_to
    cfg = Config(
        source=source,
        la_name=_get(data, source, "la.name", str, Config.la_name),
        la_phone=_get(data, source, "la.phone", str, ""),
        sender=sender,
        transport=transport,
        outbox_dir=_get(data, source, "mail.outbox_dir", str, "outbox"),
        allowed_domains=_get(data, source, "mail.allowed_domains", tuple, ()),
        redirect_to=_get(data, source, "mail.redirect_to", str, ""),
        day_start=_get(data, source, "working_hours.start", time, time(8, 30)),
        day_end=_get(data, source, "working_hours.end", time, time(17, 0)),
        state_dir=_get(data, source, "paths.state_dir", str, ".ofsted-tracker"),
        rules_dir=_get(data, source, "paths.rules_dir", str, ""),
        forms_dir=_get(data, source, "feedback_forms.folder", str, "forms"),
        forms_also_to=_get(data, source, "feedback_forms.also_to", tuple, ()),
        raw=data,
    )
    if cfg.day_end <= cfg.day_start:
        raise ConfigError(f"{source}: [working_hours] end {cfg.day_end:%H:%M} is not after start {cfg.day_start:%H:%M} — correct them.")
    return cfg


def load_config(path: Path | None) -> Config:
    """The config at path, or the embedded default (outbox, nothing leaves the machine)."""
    if path is None:
        return parse_config({}, "embedded default")
    try:
        with Path(path).open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"Config file {path} does not exist — check the path, or copy config.example.toml.")
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"Config file {path} is not valid TOML: {exc} — correct it.")
    return parse_config(data, str(path))


def get_secret(env_var: str, username: str, purpose: str) -> str:
    """A secret from the environment, else the system keyring; never from a file or a log."""
    value = os.environ.get(env_var)
    if value:
        return value
    try:
        import keyring

        value = keyring.get_password(KEYRING_SERVICE, username) if username else None
    except Exception:  # no keyring backend on this machine: fall through to the message
        value = None
    if not value:
        raise ConfigError(
            f"{purpose} needs a secret: set the environment variable {env_var}, or store it with "
            f"`keyring set {KEYRING_SERVICE} {username or 'USERNAME'}`.")
    return value
