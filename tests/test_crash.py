"""Kill the sending process (SIGKILL) at random points during a batch of 40, run again,
and show 0 duplicates and 0 silently missing, for every transport's stand-in."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import trustme

from automation.mail.journal import Journal
from automation.mail.transport import outbox_filename
from tests.standins.ews import EwsStandIn
from tests.standins.graph import CLIENT_ID, CLIENT_SECRET, TENANT, GraphStandIn
from tests.standins.messages import messages
from tests.standins.smtp import PASSWORD, USER, SmtpStandIn

N, KILLS = 40, 4
ROOT = Path(__file__).resolve().parents[1]


def sender(cfg: Path, journal: Path, env: dict, kill_after=None, slow: float = 0) -> str:
    """Run the child; `kill_after` (count, seconds): SIGKILL it once `count` more messages have
    been delivered, plus `seconds` (a random point inside the batch). None: let it finish."""
    proc = subprocess.Popen([sys.executable, "-m", "tests.standins.crash_child", str(cfg), str(journal), str(N), str(slow)],
                            cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
    if kill_after is None:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        return out
    count, seconds, delivered = kill_after
    start = len(delivered())
    deadline = time.monotonic() + 60
    while len(delivered()) < start + count and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.001)
    time.sleep(seconds)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    return "killed"


def crash_and_recover(tmp_path, config_text: str, env: dict, delivered, seed: int, slow: float = 0):
    """KILLS random kills, then one run to the end; returns (delivered Message-IDs, journal records)."""
    cfg = tmp_path / "config.toml"
    cfg.write_text(config_text)
    journal = tmp_path / "journal.sqlite"
    rng = random.Random(seed)
    progress = []
    for _ in range(KILLS):
        sender(cfg, journal, env, (rng.randrange(0, N // KILLS), rng.uniform(0, 0.02), delivered), slow)
        j = Journal(journal)
        progress.append(sum(1 for r in j.records() if r.state == "sent"))
        j.close()
    # the kills really landed inside the batch, not before or after it
    assert any(0 < n < N for n in progress), progress
    sender(cfg, journal, env, None)
    j = Journal(journal)
    recs = {r.key: r for r in j.records()}
    j.close()
    return delivered(), recs


def check_exactly_once(ids: list[str], recs: dict, can_confirm: bool):
    msgs = messages(N)
    counts = Counter(ids)
    duplicates = [mid for mid, n in counts.items() if n > 1]
    assert duplicates == [], f"{len(duplicates)} message(s) delivered twice"
    silently_missing = [m.message_id for m in msgs
                        if counts[m.message_id] == 0 and recs[m.key].state != "unconfirmed"]
    assert silently_missing == [], f"{len(silently_missing)} message(s) neither delivered nor reported"
    # everything the journal calls sent really went; nothing is left pending or deferred
    assert all(counts[m.message_id] == 1 for m in msgs if recs[m.key].state == "sent")
    assert {r.state for r in recs.values()} <= {"sent", "unconfirmed"}
    if can_confirm:  # EWS, Graph and the outbox settle every interruption themselves
        assert all(counts[m.message_id] == 1 for m in msgs)
        assert {r.state for r in recs.values()} == {"sent"}
    print(f"delivered {sum(counts.values())}/{N}, duplicates 0, unconfirmed for an officer "
          f"{sum(1 for r in recs.values() if r.state == 'unconfirmed')}, silently missing 0")


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    ca = trustme.CA()
    ca.path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca.path))
    return ca


def test_outbox(tmp_path):
    box = tmp_path / "outbox"

    def delivered():
        names = {outbox_filename(m.message_id): m.message_id for m in messages(N)}
        return [names[p.name] for p in box.glob("*.eml")]

    ids, recs = crash_and_recover(tmp_path, '[mail]\ntransport = "outbox"\n', {}, delivered, 4, slow=0.01)
    check_exactly_once(ids, recs, can_confirm=True)


def test_smtp(tmp_path, ca):
    with SmtpStandIn(ca) as server:
        server.state.delay = 0.02
        text = (f'[mail]\ntransport = "smtp"\nsender = "{USER}"\n[mail.smtp]\nhost = "127.0.0.1"\n'
                f'port = {server.port}\nusername = "{USER}"\nca_bundle = "{ca.path}"\nrate_per_minute = 0\n')
        ids, recs = crash_and_recover(tmp_path, text, {"OFSTED_TRACKER_SMTP_PASSWORD": PASSWORD},
                                      server.state.message_ids, 1)
    check_exactly_once(ids, recs, can_confirm=False)


def test_ews(tmp_path):
    with EwsStandIn() as ews:
        ews.state.delay = 0.02
        ews.state.visible_after = 0.05
        text = (f'[mail]\ntransport = "ews"\nsender = "ofsted.support@la.example.org"\n[mail.ews]\n'
                f'endpoint = "{ews.url}"\nauth = "basic"\nusername = "svc@la.example.org"\nserver_version = "15.1"\n'
                'confirm_wait_seconds = 0.3\nconfirm_every_seconds = 0.05\n')
        ids, recs = crash_and_recover(tmp_path, text, {"OFSTED_TRACKER_EWS_PASSWORD": "pw"},
                                      ews.state.message_ids, 2)
    check_exactly_once(ids, recs, can_confirm=True)


def test_graph(tmp_path, ca):
    with GraphStandIn(ca) as g:
        g.state.delay = 0.02
        g.state.visible_after = 0.05
        text = (f'[mail]\ntransport = "graph"\nsender = "ofsted.support@la.example.org"\n[mail.graph]\n'
                f'tenant_id = "{TENANT}"\nclient_id = "{CLIENT_ID}"\nauthority = "{g.base}"\ngraph_url = "{g.graph_url}"\n'
                f'ca_bundle = "{ca.path}"\nrate_per_minute = 0\nconfirm_wait_seconds = 0.3\nconfirm_every_seconds = 0.05\n')
        ids, recs = crash_and_recover(tmp_path, text, {"OFSTED_TRACKER_GRAPH_CLIENT_SECRET": CLIENT_SECRET},
                                      g.state.message_ids, 3)
    check_exactly_once(ids, recs, can_confirm=True)
