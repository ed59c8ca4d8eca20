"""Benchmark: COUNT messages (default 200) to a local aiosmtpd server on 127.0.0.1, our SMTP
transport against the `mailmerge` CLI sending the same messages to the same server, as a
throughput ratio in one run. Prints figures; not a test. Two set-ups: a plain relay, and
STARTTLS + AUTH (how Microsoft 365 and most LA relays are reached). Like with like: ours
is timed building the messages inside the clock, and as a whole fresh process (as the
mailmerge CLI is); the transport alone (messages built beforehand) is shown apart.
Each figure is elapsed time and CPU time (user + system: of this process for the in-process
figures, of the child for a whole process): a shared, busy machine changes the CPU time least.

    .venv/bin/pip install -e '.[bench]'   # mailmerge, aiosmtpd, trustme
    .venv/bin/python bench/bench_smtp.py [COUNT]
"""

from __future__ import annotations

import multiprocessing
import resource
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from automation.mail.delivery import Policy, deliver  # noqa: E402
from automation.mail.journal import Journal  # noqa: E402
from automation.mail.message import build_message, forget_parsed_headers  # noqa: E402
from automation.mail.smtp import SmtpTransport  # noqa: E402
from tests.standins.smtp import PASSWORD, USER, serve_in_process  # noqa: E402

SENDER = USER
REPEATS = 3
BODY = "Dear head {n},\n.A line starting with a dot.\nThe LA will call you.\n"


def same_messages(count: int, version: int):
    """The messages mailmerge's template produces: one recipient, plain text."""
    when = datetime(2026, 11, 16, 12, 5, tzinfo=timezone.utc)
    return [build_message(sender=SENDER, to=[f"head{i}@school.example.org"], subject=f"Ofsted inspection: support plan {i}",
                          text=BODY.format(n=i), html=None, inspection_id=f"B-{i}", purpose="bench",
                          version=version, when=when, reason="bench") for i in range(count)]


def ours(port, security, ctx, count, journal: Journal | None, version: int,
         build_inside: bool = True) -> tuple[float, float]:
    """Our send of count messages, (elapsed, CPU) seconds; with build_inside the messages are
    built inside the clock, as mailmerge renders its template inside its own."""
    forget_parsed_headers()  # each repeat builds as a fresh process would, not from the last one's headers
    msgs = None if build_inside else same_messages(count, version)
    t = SmtpTransport("127.0.0.1", port, SENDER, security, USER if security != "none" else "",
                      PASSWORD, rate_per_minute=0, ssl_context=ctx)
    start, cpu = time.perf_counter(), time.process_time()
    msgs = msgs or same_messages(count, version)
    if journal is None:
        for m in msgs:
            t.send(m)
    else:
        report = deliver(msgs, t, journal, lambda: datetime.now(timezone.utc), Policy())
        assert report.count("sent") == count, report.attention()[:3]
    t.close()
    return time.perf_counter() - start, time.process_time() - cpu


def children_cpu() -> float:
    """User + system seconds of the finished child processes so far."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def ours_process(port, security, ca_pem: bytes | None, count, work: Path, version: int) -> tuple[float, float]:
    """A whole fresh Python process that builds, journals and sends: like for like with the mailmerge CLI."""
    ca = work / "ca.pem"
    if ca_pem:
        ca.write_bytes(ca_pem)
    start, cpu = time.perf_counter(), children_cpu()
    subprocess.run([sys.executable, __file__, "--child", str(port), security, str(count), str(work / f"p{version}.sqlite"),
                    str(version), str(ca) if ca_pem else ""], check=True)
    return time.perf_counter() - start, children_cpu() - cpu


def child(port: str, security: str, count: str, journal: str, version: str, ca: str) -> None:
    ctx = ssl.create_default_context(cafile=ca) if ca else None
    j = Journal(Path(journal))
    ours(int(port), security, ctx, int(count), j, int(version))
    j.close()


def theirs(port, security, count, work: Path) -> tuple[float, float]:
    exe = shutil.which("mailmerge") or str(Path(sys.executable).with_name("mailmerge"))
    sec = {"none": "", "starttls": f"security = STARTTLS\nusername = {USER}\n"}[security]
    (work / "server.conf").write_text(f"[smtp_server]\nhost = 127.0.0.1\nport = {port}\n{sec}ratelimit = 0\n")
    (work / "template.txt").write_text(f"TO: {{{{email}}}}\nSUBJECT: Ofsted inspection: support plan {{{{n}}}}\n"
                                       f"FROM: {SENDER}\n\n" + BODY.replace("{n}", "{{n}}"))
    (work / "db.csv").write_text("email,n\n" + "".join(f"head{i}@school.example.org,{i}\n" for i in range(count)))
    start, cpu = time.perf_counter(), children_cpu()
    # mailmerge asks for the password once (getpass reads stdin when there is no terminal)
    subprocess.run([exe, "--no-limit", "--no-dry-run", "--output-format", "raw", "--template", "template.txt",
                    "--database", "db.csv", "--config", "server.conf"], cwd=work, check=True,
                   input=PASSWORD + "\n", text=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start, children_cpu() - cpu


def scenario(label: str, security: str, count: int) -> None:
    here, there = multiprocessing.Pipe()
    # The server runs in its own process, as a real one would: no client shares its GIL.
    proc = multiprocessing.get_context("spawn").Process(target=serve_in_process, args=(there, security, security != "none"))
    proc.start()
    port, ca_pem = here.recv()
    ctx = ssl.create_default_context(cadata=ca_pem.decode()) if ca_pem else None

    def counts():
        here.send("count")
        return here.recv()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        # Medians of REPEATS for each (the machine is shared; a median resists its spikes).
        bare = median(ours(port, security, ctx, count, None, 1, build_inside=False) for _ in range(REPEATS))
        built = median(ours(port, security, ctx, count, None, 2) for _ in range(REPEATS))
        c0 = counts()
        full = []
        for r in range(REPEATS):
            journal = Journal(work / f"bench{r}.journal.sqlite")
            full.append(ours(port, security, ctx, count, journal, 3 + r))
            journal.close()
        full = median(full)
        proc_s = median(ours_process(port, security, ca_pem, count, work, 10 + r) for r in range(REPEATS))
        c1 = counts()
        mm = median(theirs(port, security, count, work) for _ in range(REPEATS))
        here.send("stop")
        c2 = here.recv()
    proc.join(10)
    print(f"\n{label}: {count} messages each to aiosmtpd on 127.0.0.1 (median of {REPEATS}; c = connections, r = received)")
    (bare, bare_c), (built, built_c), (full, full_c), (proc_s, proc_c), (mm, mm_c) = bare, built, full, proc_s, mm

    def line(what, wall, cpu):
        print(f"  {what:55s}{wall:6.2f} s {count / wall:7.1f} msg/s   CPU {cpu:5.2f} s")

    line("ours, transport only (messages built before the clock)", bare, bare_c)
    line("ours, building + sending", built, built_c)
    line("ours, building + journal + sending", full, full_c)
    line("ours, whole process (start-up, build, journal, send)", proc_s, proc_c)
    line("mailmerge CLI, whole process (start-up, render, send)", mm, mm_c)
    print(f"  like for like, process vs process: {mm / proc_s:4.1f}x;  in-process build+send vs mailmerge: {mm / built:4.1f}x;"
          f"  transport only: {mm / bare:4.1f}x  (by CPU time: {mm_c / proc_c:4.1f}x, {mm_c / built_c:4.1f}x, "
          f"{mm_c / bare_c:4.1f}x)")
    print("  (real batches are decided by the provider's rate limit — e.g. Microsoft 365's 30 messages a minute per "
          "mailbox — not by either tool: 200 messages take minutes there)")


def median(xs) -> tuple[float, float]:
    """The median elapsed time and the median CPU time of (elapsed, CPU) pairs."""
    import statistics

    xs = list(xs)
    return statistics.median(x[0] for x in xs), statistics.median(x[1] for x in xs)


def main(count: int = 200) -> None:
    from importlib.metadata import version

    print(f"bench_smtp: Python {sys.version.split()[0]}, mailmerge {version('mailmerge')}, aiosmtpd {version('aiosmtpd')}")
    scenario("Plain relay (no TLS, no login)", "none", count)
    scenario("STARTTLS + AUTH (certificate verified by ours; mailmerge does not verify)", "starttls", count)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(*sys.argv[2:8])
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
