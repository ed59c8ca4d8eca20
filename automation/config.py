"""Configuration from config.toml (tomllib), checked strictly against automation/config_schema.py,
with the embedded default when there is none. A key the product does not know is an error, never
ignored. Secrets never come from the file: only from the environment or the system keyring."""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path

from msgspec import ValidationError

from automation.config_schema import TRANSPORTS, Settings, Table, dump, keys_of, load, table_of, tables
from automation.errors import ConfigError

KEYRING_SERVICE = "ofsted-tracker"
# A key is refused as a secret when its name contains one of these anywhere ...
SECRET_WORDS = ("password", "passwd", "passphrase", "secret", "token", "credential", "apikey", "privatekey",
                "accesskey")
# ... or has one of these as a whole word ("pass", but not "passage"; "allow_plaintext_login" is fine).
SECRET_PARTS = ("pass", "pwd", "pw", "pin")
KEYS = {f"{t}.{k}" if t else k for t, m in tables().items() for k in keys_of(m) if not table_of(m, k)}
BACKEND_KEYS = sorted(k for k in KEYS if k.startswith(("mail.smtp.", "mail.ews.", "mail.graph.")))
REQUIRED = {"graph": ("mail.graph.tenant_id", "mail.graph.client_id")}


@dataclass(frozen=True)
class Config:
    source: str  # the file, or "embedded default"
    la_name: str = "Example County Council"
    la_phone: str = ""
    sender: str = "ofsted.support@la.example.org"
    transport: str = "outbox"  # code (tests) may also say "memory"; a file may not
    outbox_dir: str = "outbox"
    allowed_domains: tuple[str, ...] = ()
    redirect_to: str = ""  # test mode: every message goes here instead
    day_start: time = time(8, 30)
    day_end: time = time(17, 0)
    state_dir: str = ".ofsted-tracker"  # journal and run lock, beside the workbook
    rules_dir: str = ""  # an LA's own copies of rules/*.toml
    forms_dir: str = "forms"  # feedback forms, beside the workbook
    forms_also_to: tuple[str, ...] = ()  # more recipients of completed feedback forms
    raw: dict = field(default_factory=dict, repr=False)  # the file as written
    settings: dict | None = field(default=None, repr=False, compare=False)  # validated, defaults filled in

    def section(self, dotted: str) -> dict:
        """A table such as 'mail.smtp': its validated values, every key present with its default."""
        node = self.settings if self.settings is not None else _overlay(dump(Settings()), self.raw)
        for part in dotted.split("."):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        return dict(node) if isinstance(node, dict) else {}

    def resolve(self, workbook: Path, relative: str) -> Path:
        """A configured folder, relative to the workbook's folder unless absolute."""
        p = Path(relative).expanduser()
        return p if p.is_absolute() else workbook.resolve().parent / p


def _overlay(base: dict, top: dict) -> dict:
    out = dict(base)
    for k, v in top.items():
        out[k] = _overlay(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _is_secret(key: str) -> bool:
    words = re.split(r"[^a-z0-9]+", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", key).lower())
    squashed = "".join(words)
    return any(w in squashed for w in SECRET_WORDS) or any(w in SECRET_PARTS for w in words)


def _refuse_secrets(data: dict, source: str, path: str = "") -> None:
    for k, v in data.items():
        where = f"{path}.{k}" if path else k
        if _is_secret(str(k)):
            raise ConfigError(
                f"{source}: key '{where}' holds a secret. Secrets are never read from the config file — "
                f"delete it and set it in the environment or the system keyring (see README, 'Secrets').")
        for table in v if isinstance(v, list) else [v]:
            if isinstance(table, dict):
                _refuse_secrets(table, source, where)


def _label(table: str) -> str:
    return f"[{table}]" if table else "the top level (above the first [table])"


def _nearest(word: str, candidates) -> str | None:
    found = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return found[0] if found else None


def _unknown(source: str, table: str, key: str, is_table: bool) -> ConfigError:
    """The one-line error for a key (or table) the schema does not have, with where it belongs."""
    known = tables()
    full = f"{table}.{key}" if table else key
    homes = [t for t, m in known.items() if t != table and key in keys_of(m)
             and (table_of(m, key) is not None) == is_table]
    here = [k for k in keys_of(known[table]) if (table_of(known[table], k) is not None) == is_table]
    if is_table:
        if homes:
            hint = f"it belongs under {_label(homes[0])}, as [{homes[0] + '.' if homes[0] else ''}{key}]."
        elif near := _nearest(key, here):
            hint = f"did you mean [{table + '.' if table else ''}{near}]?"
        elif near := _nearest(full, [t for t in known if t]):
            hint = f"did you mean [{near}]?"
        else:
            hint = "the tables are " + ", ".join(f"[{t}]" for t in known if t) + " (see config.example.toml)."
        return ConfigError(f"{source}: there is no table [{full}] — {hint}")
    if homes:
        hint = f"it belongs in {' or '.join(_label(t) for t in homes)}; move it there."
    elif near := _nearest(key, here):
        hint = f"did you mean '{near}'?"
    elif near := _nearest(key, [k.rsplit(".", 1)[-1] for k in KEYS]):
        owner = next(t for t, m in known.items() if near in keys_of(m) and not table_of(m, near))
        hint = f"did you mean '{near}' in {_label(owner)}?"
    else:
        hint = ("its keys are " + ", ".join(f"'{k}'" for k in here) if here else "it holds only tables") + \
            " (see config.example.toml)."
    return ConfigError(f"{source}: {_label(table)} has no key '{key}' — {hint}")


def _refuse_unknown(data: dict, source: str, model: type[Table] = Settings, table: str = "") -> None:
    """Every table and key is one the product reads: a misspelt or misplaced one stops the load."""
    for key, value in data.items():
        if key not in keys_of(model):
            raise _unknown(source, table, key, isinstance(value, dict))
        sub = table_of(model, key)
        if sub is None:
            continue
        where = f"{table}.{key}" if table else key
        if not isinstance(value, dict):
            raise ConfigError(f"{source}: [{where}] should be a table — see config.example.toml.")
        _refuse_unknown(value, source, sub, where)


def _lookup(data: dict, parts: list[str]):
    for p in parts:
        data = data.get(p) if isinstance(data, dict) else None
    return data


def _where(exc: ValidationError) -> tuple[str, list[str]]:
    """msgspec's one error as (its words, the keys of its path): "Expected `int`, got `str` - at
    `$.mail.smtp.port`" -> ("Expected ...", ["mail", "smtp", "port"]); a list's "[0]" is dropped."""
    words, _, path = str(exc).rpartition(" - at `")
    if not words:  # the top level itself
        return str(exc), []
    return words, [p for p in re.split(r"\.|\[\d+\]", path.rstrip("`").removeprefix("$")) if p]


def _bad_value(exc: ValidationError, data: dict, source: str) -> ConfigError:
    """The first wrong value, by key, with what a good one looks like."""
    words, loc = _where(exc)
    unknown = re.match(r"Object contains unknown field `(.*)`$", words)
    model, parts, info, sub = Settings, [], None, Settings
    for p in loc:
        if p not in keys_of(model):
            break
        parts.append(p)
        info, sub = keys_of(model)[p], table_of(model, p)
        if sub is None:
            break
        model = sub
    if unknown:  # _refuse_unknown catches these first; kept as a backstop
        value = _lookup(data, parts + [unknown[1]])
        return _unknown(source, ".".join(parts), unknown[1], isinstance(value, dict))
    dotted, value = ".".join(parts), _lookup(data, parts)
    if sub is not None:  # the table itself is wrong, e.g. `mail = 3`
        return ConfigError(f"{source}: [{dotted}] should be a table — see config.example.toml.")
    if info.is_list:
        return ConfigError(f"{source}: key '{dotted}' should be {info.words}, not {value!r} — correct it.")
    near = _nearest(value, info.choices) if info.choices and isinstance(value, str) else None
    fix = f"did you mean {near!r}?" if near else "correct it."
    words = info.over if _above(value, info.most) else info.words
    return ConfigError(f"{source}: key '{dotted}' = {value!r} should be {words} — {fix}")


def _above(value, most: float | None) -> bool:
    """Whether a number is above a key's upper bound (inf is; nan and text are wrong another way)."""
    return most is not None and isinstance(value, (int, float)) and not isinstance(value, bool) and value > most


def _check_together(s: Settings, settings: dict, source: str) -> None:
    """Checks that span keys: test mode's address, required backend keys, plaintext logins, clock order."""
    mail = s.mail
    for dotted in REQUIRED.get(mail.transport, ()):
        if not _lookup(settings, dotted.split(".")):
            raise ConfigError(f"{source}: transport '{mail.transport}' needs key '{dotted}' — add it (see config.example.toml).")
    redirect, allowed = mail.redirect_to, [d.lower().lstrip("@") for d in mail.allowed_domains]
    if redirect and ("@" not in redirect or any(c in redirect for c in " ,;<>")):
        raise ConfigError(f"{source}: key 'mail.redirect_to' = {redirect!r} should be one email address (test mode sends everything there).")
    if redirect and allowed and redirect.rsplit("@", 1)[1].lower() not in allowed:
        raise ConfigError(f"{source}: key 'mail.redirect_to' = {redirect!r} is outside mail.allowed_domains — "
                          "use an address in your own domain, or add its domain.")
    smtp = mail.smtp
    if smtp.username and smtp.security == "none" and not smtp.allow_plaintext_login:
        raise ConfigError(f"{source}: [mail.smtp] username is set with security = \"none\", so the password would cross "
                          "the network unencrypted — use starttls or ssl, or (trusted relay only) set allow_plaintext_login = true.")
    for name, start, end in (("working_hours", s.working_hours.start, s.working_hours.end),
                             ("schedule", s.schedule.start, s.schedule.end)):
        if end <= start:  # "HH:MM" text compares as times do
            raise ConfigError(f"{source}: [{name}] end {end} is not after start {start} — correct them.")


def parse_config(data: dict, source: str) -> Config:
    """A Config from parsed TOML, with errors naming the file and key."""
    _refuse_secrets(data, source)
    _refuse_unknown(data, source)
    transport = _lookup(data, ["mail", "transport"])
    if transport == "memory":
        raise ConfigError(f"{source}: key 'mail.transport' = 'memory' is for the product's own tests and would "
                          f"deliver nothing — use one of {', '.join(TRANSPORTS)} (outbox writes .eml files and sends nothing).")
    try:
        s = load(data)
    except ValidationError as exc:
        raise _bad_value(exc, data, source) from None
    settings = dump(s)
    _check_together(s, settings, source)
    return Config(
        source=source, la_name=s.la.name, la_phone=s.la.phone, sender=s.mail.sender, transport=s.mail.transport,
        outbox_dir=s.mail.outbox_dir, allowed_domains=tuple(s.mail.allowed_domains), redirect_to=s.mail.redirect_to,
        day_start=time.fromisoformat(s.working_hours.start), day_end=time.fromisoformat(s.working_hours.end),
        state_dir=s.paths.state_dir, rules_dir=_beside(source, s.paths.rules_dir), forms_dir=s.feedback_forms.folder,
        forms_also_to=tuple(s.feedback_forms.also_to), raw=data, settings=settings)


def _beside(source: str, folder: str) -> str:
    """A relative folder of the config's own (the LA's rules) is beside the config file, so a
    scheduled run started from any working folder finds it."""
    if not folder or Path(folder).expanduser().is_absolute() or not Path(source).is_file():
        return str(Path(folder).expanduser()) if folder else folder
    return str(Path(source).resolve().parent / Path(folder).expanduser())


def load_config(path: Path | None) -> Config:
    """The config at path, or the embedded default (outbox, nothing leaves the machine)."""
    if path is None:
        return parse_config({}, "embedded default")
    try:
        with Path(path).open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"Config file {path} does not exist — check the path, or copy config.example.toml.")
    except IsADirectoryError:
        raise ConfigError(f"Config file {path} is a folder — give the path of the .toml file.")
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
