"""The mail backends' config keys: documented example parses; bad values name file and key."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from automation.config import parse_config
from automation.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[1] / "config.example.toml"


def test_example_config_documents_every_backend_key_and_parses():
    data = tomllib.loads(EXAMPLE.read_text())
    cfg = parse_config(data, str(EXAMPLE))
    assert cfg.section("mail.smtp")["rate_per_minute"] == 30
    assert cfg.section("mail.ews")["auth"] == "ntlm" and "tenant_id" in cfg.section("mail.graph")
    from automation.config import BACKEND_KEYS

    text = EXAMPLE.read_text()
    for dotted in BACKEND_KEYS:
        assert dotted.rsplit(".", 1)[1] in text, dotted


@pytest.mark.parametrize("mail,fragment", [
    ({"smtp": {"port": "587"}}, "key 'mail.smtp.port' = '587'"),
    ({"smtp": {"rate_per_minute": -1}}, "key 'mail.smtp.rate_per_minute' = -1"),
    ({"ews": {"auth": "kerberos"}}, "key 'mail.ews.auth' = 'kerberos' should be basic, ntlm or oauth"),
    ({"ews": {"endpoint": "mail.la.example.org"}}, "key 'mail.ews.endpoint'"),
    ({"transport": "graph", "graph": {"tenant_id": "t"}}, "needs key 'mail.graph.client_id'"),
    ({"redirect_to": "not an address"}, "key 'mail.redirect_to'"),
    ({"redirect_to": "me@gmail.example.com", "allowed_domains": ["la.example.org"]}, "outside mail.allowed_domains"),
])
def test_bad_backend_values_name_file_and_key(mail, fragment):
    with pytest.raises(ConfigError) as err:
        parse_config({"mail": mail}, "C:/LA/config.toml")
    assert "C:/LA/config.toml" in str(err.value) and fragment in str(err.value)


def test_a_password_in_the_backend_section_is_refused():
    with pytest.raises(ConfigError, match="mail.smtp.password' holds a secret"):
        parse_config({"mail": {"smtp": {"password": "hunter2"}}}, "config.toml")


def test_a_missing_extra_names_the_pip_extra_and_sends_nothing(tmp_path, monkeypatch, capsys):
    """A backend that is not installed gives one line with the install command that works for a
    checkout (the package is not on PyPI, so `pip install 'ofsted-tracker[ews]'` would not), exit 8."""
    import sys

    from automation.cli import main
    from tests.conftest import inspection, write_tracker

    monkeypatch.setitem(sys.modules, "exchangelib", None)  # as if `pip install ofsted-tracker[ews]` was never run
    path = write_tracker(tmp_path / "t.xlsx", inspections=[inspection()])
    cfg = tmp_path / "config.toml"
    cfg.write_text('[mail]\ntransport = "ews"\n[mail.ews]\nendpoint = "https://127.0.0.1:1/EWS/Exchange.asmx"\n'
                   'username = "svc@la.example.org"\n')
    assert main(["run", str(path), "--config", str(cfg), "--now", "2026-11-16T12:20"]) == 8
    err = capsys.readouterr().err
    from pathlib import Path

    checkout = Path(__file__).resolve().parents[1]
    assert f"pip install -e '{checkout}[ews]'" in err and "Traceback" not in err
    from automation.mail.journal import Journal
    from automation.config import load_config
    from automation.run import journal_path

    jp = journal_path(path, load_config(cfg))
    assert not jp.exists() or Journal(jp).records() == []
