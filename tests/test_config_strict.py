"""Strict configuration: a misspelt, misplaced or unknown key or table, a secret-looking key, the
code-only "memory" transport, or a plaintext SMTP login stops the console script with one line
(exit 3) naming the file, the table, the key and the nearest valid key, before anything is sent
or written."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from automation.config import KEYS, load_config, parse_config
from automation.errors import ConfigError
from tests.conftest import inspection, write_tracker
from tests.standins.smtp import PASSWORD, SmtpStandIn

EXAMPLE = Path(__file__).resolve().parents[1] / "config.example.toml"
SCRIPT = Path(sys.executable).with_name("ofsted-tracker")
OUTSIDER = "someone@elsewhere.example.com"


def cli(*args: str, cwd: Path) -> subprocess.Popen:
    """Start the real console script (or `python -m automation.cli` where it is not installed)."""
    argv = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "automation.cli"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OFSTED_TRACKER_")}
    env["OFSTED_TRACKER_SMTP_PASSWORD"] = PASSWORD  # the stand-in's: a login, were one tried, would work
    return subprocess.Popen(argv + list(args), cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


@pytest.fixture(scope="module")
def smtp():
    """A loopback SMTP server that must see no connection at all, in any test here."""
    with SmtpStandIn(mode="none", auth=False) as server:
        yield server


COMMANDS = {"run": lambda t: ["run", str(t), "--now", "2026-11-16T12:20"],
            "mail test": lambda t: ["mail", "test", "--to", OUTSIDER],  # the trial that once went outside
            "validate": lambda t: ["validate", str(t)]}


def refused_everywhere(tmp_path: Path, server, texts: dict[str, str], commands=COMMANDS) -> dict[str, str]:
    """Each config text under each command, all at once, each in its own folder with its own tracker:
    every one must exit 3 with one line naming the file, and leave no trace. Returns label -> stderr."""
    started = []
    for label, text in texts.items():
        for name, args in commands.items():
            folder = tmp_path / f"{label}-{name}".replace(" ", "_")
            folder.mkdir()
            tracker = write_tracker(folder / "tracker.xlsx", inspections=[inspection()])
            cfg = folder / "config.toml"
            cfg.write_text(text.replace("{port}", str(server.port)))
            started.append((label, name, folder, tracker, tracker.read_bytes(), cfg,
                            cli(*args(tracker), "--config", str(cfg), cwd=folder)))
    errors = {}
    for label, name, folder, tracker, before, cfg, proc in started:
        out, err = proc.communicate(timeout=60)
        where = f"{label} / {name}: "
        assert proc.returncode == 3, where + f"exit {proc.returncode}: {out} {err}"
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, where + err
        assert str(cfg) in err and out == "", where + err
        assert tracker.read_bytes() == before, where + "the tracker was changed"
        # The one file allowed: the run log recording the refusal (in the default state folder,
        # since the config could not say where). No outbox, journal, lock, forms or reports.
        logs = [p for p in folder.glob(".ofsted-tracker/*.log*")]
        left = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                      if p not in (tracker, cfg, *logs) and not (p.is_dir() and p.name == ".ofsted-tracker" and logs))
        assert left == [], where + f"written despite the bad config: {left}"
        assert all("hunter2" not in p.read_text(errors="replace") for p in logs), where + "a secret reached the log"
        errors[label] = err.strip()
    assert server.state.connections == 0 and server.state.messages == [], "something reached the SMTP server"
    return errors


SMTP = ('[mail]\ntransport = "smtp"\nsender = "ofsted.support@la.example.org"\n'
        '[mail.smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n')

CASES = [  # one per misspelling class: config text, then what the one line must say
    pytest.param(SMTP.replace('sender', 'redirect_too = "tester@la.example.org"\nsender'),
                 ("[mail] has no key 'redirect_too'", "did you mean 'redirect_to'?"), id="typo-redirect_too"),
    pytest.param(SMTP.replace('sender', 'allowed_domain = ["la.example.org"]\nsender'),
                 ("[mail] has no key 'allowed_domain'", "did you mean 'allowed_domains'?"), id="typo-allowed_domain"),
    pytest.param(SMTP.replace('host = "127.0.0.1"\n', 'hots = "127.0.0.1"\n'),
                 ("[mail.smtp] has no key 'hots'", "did you mean 'host'?"), id="typo-smtp-hots"),
    pytest.param('[mail]\ntransprot = "graph"\n',
                 ("[mail] has no key 'transprot'", "did you mean 'transport'?"), id="typo-transprot"),
    pytest.param(SMTP + 'redirect_to = "tester@la.example.org"\n',
                 ("[mail.smtp] has no key 'redirect_to'", "it belongs in [mail]"), id="misplaced-redirect_to"),
    pytest.param('transport = "outbox"\n[mail]\nsender = "ofsted.support@la.example.org"\n',
                 ("the top level", "no key 'transport'", "it belongs in [mail]"), id="misplaced-top-level"),
    pytest.param(SMTP + '[smtp]\nport = 25\n', ("no table [smtp]", "[mail.smtp]"), id="misplaced-table"),
    pytest.param('[mial]\ntransport = "outbox"\n', ("no table [mial]", "did you mean [mail]?"), id="unknown-table"),
    pytest.param(SMTP + '[mail.smpt]\nport = 25\n', ("no table [mail.smpt]", "did you mean [mail.smtp]?"),
                 id="unknown-subtable"),
    pytest.param('[mail]\ntransport = "smpt"\n', ("key 'mail.transport' = 'smpt'", "did you mean 'smtp'?"),
                 id="typo-transport-value"),
    pytest.param('[mail]\ntransport = "memory"\n', ("key 'mail.transport' = 'memory'", "outbox"), id="memory"),
    pytest.param(SMTP.replace('security = "none"\n', 'security = "none"\nusername = "ofsted.support@la.example.org"\n'),
                 ("[mail.smtp]", "security = \"none\"", "allow_plaintext_login = true"), id="plaintext-login"),
]


@pytest.mark.parametrize("text, fragments", CASES)
def test_a_bad_config_stops_the_command_before_anything_is_sent(request, tmp_path, smtp, text, fragments):
    # Each class under one command, taking turns (the first under all three), to keep the suite quick.
    index = [p.id for p in CASES].index(request.node.callspec.id)
    names = list(COMMANDS) if index == 0 else [list(COMMANDS)[index % len(COMMANDS)]]
    err = refused_everywhere(tmp_path, smtp, {"case": text}, {n: COMMANDS[n] for n in names})["case"]
    for f in fragments:
        assert f in err, (f, err)


SECRETS = [("mail.smtp", "password"), ("mail.smtp", "passwd"), ("mail.smtp", "pass"), ("mail.smtp", "pwd"),
           ("mail.smtp", "smtp_password"), ("mail.smtp", "smtpPassword"), ("mail.graph", "client_secret"),
           ("mail.graph", "api_key"), ("mail.graph", "apikey"), ("mail.ews", "token"), ("mail.ews", "access_token"),
           ("mail.ews", "credentials"), ("mail.ews", "credential"), ("la", "private_key"), ("mail", "secret"),
           ("mail.graph", "client-secret"), ("vault", "password")]  # the last: inside a table the product does not have
VALUE = "hunter2-do-not-print"


def with_secret(table: str, key: str) -> str:
    text, line = SMTP, f'{key} = "{VALUE}"\n'
    if table == "mail.smtp":
        return text + line  # SMTP ends inside [mail.smtp]
    if table == "mail":
        return text.replace("[mail]\n", "[mail]\n" + line)
    return text + f"[{table}]\n" + line


@pytest.mark.parametrize("table, key", SECRETS)
def test_a_secret_looking_key_is_refused_wherever_it_is_and_never_echoed(table, key):
    with pytest.raises(ConfigError) as err:
        parse_config(tomllib.loads(with_secret(table, key).replace("{port}", "25")), "config.toml")
    msg = str(err.value)
    assert msg.startswith(f"config.toml: key '{table}.{key}' holds a secret") and VALUE not in msg
    assert "environment" in msg and "keyring" in msg and "\n" not in msg


def test_the_console_script_refuses_secret_looking_keys_before_anything_is_sent(tmp_path, smtp):
    chosen = [("mail.smtp", "passwd"), ("mail.smtp", "pass"), ("mail.graph", "api_key"), ("vault", "password")]
    errors = refused_everywhere(tmp_path, smtp, {f"{t}.{k}": with_secret(t, k) for t, k in chosen},
                                {"run": COMMANDS["run"]})
    for dotted, err in errors.items():
        assert f"key '{dotted}' holds a secret" in err and "keyring" in err and VALUE not in err, err


def test_a_plaintext_login_works_once_allowed_explicitly(tmp_path):
    """With allow_plaintext_login = true the same config logs in over security = "none" and sends."""
    with SmtpStandIn(mode="none", auth=True) as server:
        cfg = tmp_path / "config.toml"
        cfg.write_text(SMTP.replace("{port}", str(server.port))
                       + 'username = "ofsted.support@la.example.org"\nallow_plaintext_login = true\n')
        proc = cli("mail", "test", "--to", "tester@la.example.org", "--config", str(cfg), cwd=tmp_path)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, (out, err)
        assert [m["rcpt"] for m in server.state.messages] == [["tester@la.example.org"]]


@pytest.mark.parametrize("key", ["allow_plaintext_login", "username", "auth", "tenant_id", "client_id", "mailbox"])
def test_legitimate_keys_are_not_mistaken_for_secrets(key):
    table = next(t for t in ("mail.smtp", "mail.ews", "mail.graph") if f"{t}.{key}" in KEYS)
    value = True if key == "allow_plaintext_login" else ("ntlm" if key == "auth" else "x@la.example.org")
    data: dict = {"mail": {table.split(".")[1]: {key: value}}}
    assert parse_config(data, "config.toml").section(table)[key] == value


def test_the_example_config_loads_and_documents_every_key():
    cfg = load_config(EXAMPLE)
    data = tomllib.loads(EXAMPLE.read_text())

    def leaves(node, prefix=""):
        for k, v in node.items():
            yield from leaves(v, f"{prefix}{k}.") if isinstance(v, dict) else [f"{prefix}{k}"]

    assert set(leaves(data)) == KEYS  # every key the product reads is written out, and nothing else
    for line in EXAMPLE.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#") and line.split("=")[0].strip() not in ("name", "port", "security"):
            assert "#" in line, f"undocumented: {line}"
    for required in ("la.name", "mail.transport", "mail.sender", "mail.outbox_dir", "mail.allowed_domains",
                     "mail.smtp.host", "mail.smtp.port", "mail.smtp.security", "mail.smtp.username"):
        assert required in KEYS
    assert cfg.transport == "outbox" and cfg.section("workbook") == {"max_part_mb": 200, "max_compression_ratio": 100}


def test_section_gives_validated_values_with_defaults():
    cfg = parse_config({"mail": {"smtp": {"port": 2525}}, "working_hours": {"start": tomllib.loads("t = 09:00:00")["t"]}},
                       "config.toml")
    smtp = cfg.section("mail.smtp")
    assert smtp["port"] == 2525 and smtp["security"] == "starttls" and smtp["allow_plaintext_login"] is False
    assert cfg.section("workbook")["max_part_mb"] == 200 and cfg.section("workbook")["max_compression_ratio"] == 100
    assert cfg.section("mail.graph")["authority"].startswith("https://login.")
    assert cfg.day_start.hour == 9 and cfg.section("working_hours")["start"] == "09:00"  # a TOML time works too
    assert cfg.section("nowhere") == {} and cfg.raw == {"mail": {"smtp": {"port": 2525}},
                                                        "working_hours": {"start": tomllib.loads("t = 09:00:00")["t"]}}


@pytest.mark.parametrize("data, words", [
    ({"workbook": {"max_part_mb": 0}}, "key 'workbook.max_part_mb' = 0"),
    ({"workbook": {"max_compression_ratio": "100"}}, "key 'workbook.max_compression_ratio' = '100'"),
    ({"mail": {"smtp": {"allow_plaintext_login": "yes"}}}, "should be true or false"),
    ({"mail": {"smtp": {"port": True}}}, "key 'mail.smtp.port' = True"),
    ({"schedule": {"start": "19:00", "end": "07:00"}}, "[schedule] end 07:00 is not after start 19:00"),
    ({"mail": {"smtp": 3}}, "[mail.smtp] should be a table"),
    ({"mail": {"smtp": {"ca_bundel": ""}}}, "did you mean 'ca_bundle'?"),
    ({"reminders": {"start": "07:00"}}, "it belongs in [working_hours] or [schedule]"),
    ({"mail": {"smtp": {"allowed_domains": []}}}, "it belongs in [mail]"),
    ({"mail": {"smtp": {"redirect_too": "a@la.example.org"}}}, "did you mean 'redirect_to' in [mail]?"),
])
def test_values_and_places_are_checked_naming_the_key(data, words):
    with pytest.raises(ConfigError) as err:
        parse_config(data, "C:/LA/config.toml")
    msg = str(err.value)
    assert msg.startswith("C:/LA/config.toml: ") and words in msg and "\n" not in msg


def test_memory_is_only_for_code(tmp_path):
    """A file cannot choose the memory transport; make_transport offers no such route either."""
    import dataclasses

    from automation.mail.factory import make_transport

    with pytest.raises(ConfigError, match="'memory'"):
        parse_config({"mail": {"transport": "memory"}}, "config.toml")
    sneaked = dataclasses.replace(parse_config({}, "config.toml"), transport="memory")
    with pytest.raises(ConfigError, match="not a known transport"):
        make_transport(sneaked, tmp_path / "tracker.xlsx")
