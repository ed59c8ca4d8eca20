"""Generated files beside a SharePoint tracker, through the console script against the Graph
drive stand-in: feedback forms uploaded to the forms folder beside the tracker, a form completed
on SharePoint read back and acted on, a large file sent through an upload session, a failed
upload shown (exit 1, summary, Problems sheet) and retried by the next run, a forms folder that
cannot be listed, and SharePoint itself failing (the other files wait for the next run)."""

from __future__ import annotations

import email
import email.policy
import json
from pathlib import Path

import openpyxl
import pytest

from tests.conftest import inspection, write_tracker
from tests.sharepoint_run import local_root, run, sharepoint_config, sign_in
from tests.standins.graph_drive import GraphDrive
from tests.test_forms_run import DONE, fill

# Each runs the real console script against the stand-in several times over (whole sample
# trackers): CI and scripts/test.sh run them; a developer's plain `pytest` leaves them out.
pytestmark = pytest.mark.slow

IID = "OFS-100001-20261116"
FORM = f"{IID} Acorn Primary School feedback form.xlsx"
CONTACT_PLAN, LAST_DAY, NEXT_DAY = "2026-11-16T12:20", "2026-11-18T08:00", "2026-11-19T10:00"


@pytest.fixture
def site(tmp_path):
    """The tracker alone in its SharePoint folder, the service account signed in."""
    (tmp_path / "site").mkdir()
    tracker = write_tracker(tmp_path / "site" / "Ofsted tracker.xlsx",
                            inspections=[inspection(**{"Lead inspector": "Ivy Inspector"})])
    with GraphDrive(tracker) as drive:
        # SharePoint "busy" here is scripted to last (503, Retry-After: 1): one wait, then the run
        # gives up on it, as it would after [sharepoint] max_wait_seconds of a real outage
        cfg = sharepoint_config(tmp_path / "config.toml", drive, tmp_path / "here", tmp_path / "outbox", max_wait=1)
        sign_in(cfg, tmp_path)
        yield drive, cfg, tmp_path
        assert drive.state.errors == []


def since(drive, n: int) -> list[str]:
    return drive.state.requests[n:]


def inspections_row(drive) -> dict:
    ws = drive.workbook()["Inspections"]
    return {h.value: c.value for h, c in zip(ws[1], ws[2])}


def problems(drive) -> list[tuple]:
    return list(drive.workbook()["Problems"].iter_rows(min_row=2, values_only=True))


def completed_emails(outbox: Path) -> list:
    msgs = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in sorted(outbox.glob("*.eml"))]
    return [m for m in msgs if m["Subject"].startswith("Feedback form completed")]


def test_forms_go_up_beside_the_tracker_and_a_form_completed_there_is_read_back(site):
    drive, cfg, tmp = site
    assert run(cfg, tmp, CONTACT_PLAN).returncode == 0
    done = run(cfg, tmp, LAST_DAY)  # the last day on site: the form is written, then uploaded
    assert done.returncode == 0, done.stdout + done.stderr
    local = local_root(tmp / "here", drive) / "forms" / FORM
    assert drive.files("forms") == {FORM: local.read_bytes()}  # the same file, in "forms" beside the tracker
    assert "reports/Ofsted tracker oversight.xlsx" in done.stdout  # the oversight workbook went up too
    assert "Ofsted tracker oversight.xlsx" in drive.files("reports")

    # The officer fills the form in on SharePoint (Excel for the web saves it there).
    fill(drive.root / "forms" / FORM, DONE)
    n = len(drive.state.requests)
    read = run(cfg, tmp, NEXT_DAY)
    assert read.returncode == 0, read.stdout + read.stderr
    assert f"Feedback form {FORM} fetched from SharePoint" in read.stdout
    assert since(drive, n).count("GET download") == 1  # only the form that changed there came down
    row = inspections_row(drive)
    assert row["Safeguarding"] == "Met" and row["Inclusion"] == "Strong standard"
    assert row["Feedback form completed"] is not None
    [msg] = completed_emails(tmp / "outbox")  # and it was acted on: emailed with the completed form
    [attached] = [p for p in msg.walk() if p.get_filename()]
    assert attached.get_payload(decode=True) == (drive.root / "forms" / FORM).read_bytes()
    assert local.read_bytes() == (drive.root / "forms" / FORM).read_bytes()

    n = len(drive.state.requests)
    again = run(cfg, tmp, "2026-11-19T10:15", "--force")
    assert again.returncode == 0 and "GET download" not in since(drive, n)  # unchanged there: not fetched again
    assert len(completed_emails(tmp / "outbox")) == 1


def test_a_file_over_4_mib_goes_through_an_upload_session(site):
    drive, cfg, tmp = site
    assert run(cfg, tmp, CONTACT_PLAN).returncode == 0
    # A generated file too big for a simple upload (an HMI summary for a large LA, say).
    big = local_root(tmp / "here", drive) / "reports" / "HMI summary 2026 autumn.html"
    data = bytes(range(256)) * (5 * 4096 + 7)  # 5 MiB and a bit: a 5 MiB chunk and the rest
    big.write_bytes(data)
    n = len(drive.state.requests)
    p = run(cfg, tmp, "2026-11-16T12:30", "--force")
    assert p.returncode == 0, p.stdout + p.stderr
    assert drive.files("reports")[big.name] == data
    kinds = since(drive, n)
    assert kinds.count("POST createUploadSession") == 1 and kinds.count("PUT uploadSession") == 2
    state = json.loads(next((big.parents[1] / ".ofsted-tracker").glob("*.sharepoint-files.json")).read_text())
    assert state["files"][f"reports/{big.name}"]["pushed"] is True

    n = len(drive.state.requests)
    assert run(cfg, tmp, "2026-11-16T12:40", "--force").returncode == 0
    assert "POST createUploadSession" not in since(drive, n)  # unchanged: not uploaded again


def test_a_failed_upload_is_shown_and_retried_by_the_next_run(site):
    drive, cfg, tmp = site
    assert run(cfg, tmp, CONTACT_PLAN).returncode == 0
    drive.state.faults.append(("POST children", 403, {}, None))  # the forms folder cannot be made here
    failed = run(cfg, tmp, LAST_DAY)
    assert failed.returncode == 1, failed.stdout + failed.stderr  # never silent: the scheduler sees it
    assert f"forms/{FORM} not uploaded to SharePoint" in failed.stdout
    assert "forms" not in {p.split("/")[0] for p in drive.files()}
    [row] = [r for r in problems(drive) if r[2] == f"Feedback form {FORM}"]
    assert "not uploaded to SharePoint" in row[6] and "next run tries again" in row[7]
    local = local_root(tmp / "here", drive) / "forms" / FORM
    assert local.is_file()  # made, and kept on this machine meanwhile

    drive.state.faults.clear()
    retried = run(cfg, tmp, "2026-11-18T08:15")
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert drive.files("forms") == {FORM: local.read_bytes()}
    assert not [r for r in problems(drive) if r[2] == f"Feedback form {FORM}"]


def test_a_forms_folder_that_cannot_be_read_is_a_problem_and_no_new_form_goes_up(site):
    drive, cfg, tmp = site
    assert run(cfg, tmp, CONTACT_PLAN).returncode == 0
    assert run(cfg, tmp, LAST_DAY).returncode == 0  # the form is up; the folder is known
    drive.state.faults.append(("GET children", 503, {"Retry-After": "1"}, None))  # SharePoint busy, listing it
    p = run(cfg, tmp, NEXT_DAY)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "Feedback forms on SharePoint not read" in p.stdout
    [row] = [r for r in problems(drive) if r[2] == "Feedback forms"]
    assert "could not be read" in row[6] and "the next run tries again" in row[7]
    drive.state.faults.clear()
    assert run(cfg, tmp, "2026-11-19T10:15").returncode == 0
    assert not [r for r in problems(drive) if r[2] == "Feedback forms"]


def test_when_sharepoint_itself_fails_the_other_files_wait_for_the_next_run(site):
    drive, cfg, tmp = site
    assert run(cfg, tmp, CONTACT_PLAN).returncode == 0
    reports = local_root(tmp / "here", drive) / "reports"
    for name in ("HMI summary a.html", "HMI summary b.html"):
        (reports / name).write_text(f"<p>{name}</p>", encoding="utf-8")
    drive.state.faults.append(("PUT content", 503, {"Retry-After": "1"}, None))  # busy beyond max_wait_seconds
    n = len(drive.state.requests)
    p = run(cfg, tmp, "2026-11-16T12:30", "--force")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "reports/HMI summary a.html not uploaded to SharePoint" in p.stdout
    assert "reports/HMI summary b.html not uploaded to SharePoint: not tried: the upload before it failed" in p.stdout
    assert since(drive, n).count("PUT content") <= 5  # one file's retries within max_wait, not one wait per file

    drive.state.faults.clear()
    again = run(cfg, tmp, "2026-11-16T12:40", "--force")
    assert again.returncode == 0, again.stdout + again.stderr
    assert {"HMI summary a.html", "HMI summary b.html"} <= set(drive.files("reports"))


# --- files people edit on SharePoint (learning-review checklists, forms) are never replaced there ----------

def _column(drive, sheet: str, header: str) -> str:
    from openpyxl.utils import get_column_letter

    ws = drive.workbook()[sheet]
    return get_column_letter(next(c.column for c in ws[1] if c.value == header))


def _type_in(path: Path, sheet: str, cell: str, value) -> None:
    """A reviewer types into the workbook on SharePoint (Excel for the web saves it there)."""
    wb = openpyxl.load_workbook(path)
    wb[sheet][cell] = value
    wb.save(path)


@pytest.fixture
def review_site(tmp_path):
    """The tracker in its SharePoint folder with a learning review requested, signed in."""
    (tmp_path / "site").mkdir()
    tracker = write_tracker(tmp_path / "site" / "Ofsted tracker.xlsx",
                            inspections=[inspection(**{"Lead inspector": "Ivy Inspector", "Learning review": "Requested"})])
    with GraphDrive(tracker) as drive:
        cfg = sharepoint_config(tmp_path / "config.toml", drive, tmp_path / "here", tmp_path / "outbox")
        sign_in(cfg, tmp_path)
        yield drive, cfg, tmp_path
        assert drive.state.errors == []


def test_a_reviewers_edit_of_a_checklist_on_sharepoint_survives_the_next_run_and_is_worked_on(review_site):
    drive, cfg, tmp = review_site
    first = run(cfg, tmp, CONTACT_PLAN)
    assert first.returncode == 0, first.stdout + first.stderr
    [name] = drive.files("reviews")  # the checklist went up beside the tracker
    remote = drive.root / "reviews" / name
    _type_in(remote, "Checklist", "A8", "Reviewer: the contact plan went late; ask the DSL why.")
    drive.edit("Inspections", f"{_column(drive, 'Inspections', 'Learning review')}2", "In progress")

    again = run(cfg, tmp, LAST_DAY)  # more emails go: the review's Timeline and Email log are refreshed
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"Checklist {name} fetched from SharePoint" in again.stdout
    assert "brought up to date" in again.stdout  # the run refreshed it ...
    wb = openpyxl.load_workbook(remote)  # ... on SharePoint's copy, the reviewer's words kept
    assert wb["Checklist"]["A8"].value == "Reviewer: the contact plan went late; ask the DSL why."
    local = local_root(tmp / "here", drive) / "reviews" / name
    assert local.read_bytes() == remote.read_bytes()


def test_a_fresh_machine_never_replaces_a_checklist_or_form_on_sharepoint(review_site):
    drive, cfg, tmp = review_site
    assert run(cfg, tmp, CONTACT_PLAN).returncode == 0
    assert run(cfg, tmp, LAST_DAY).returncode == 0  # the form and the checklist are up
    [checklist] = drive.files("reviews")
    _type_in(drive.root / "reviews" / checklist, "Checklist", "A8", "Reviewer's finding")
    fill(drive.root / "forms" / FORM, DONE)
    before = {**{f"forms/{k}": v for k, v in drive.files("forms").items()},
              **{f"reviews/{k}": v for k, v in drive.files("reviews").items()}}

    # The same schedule started again with an empty local folder (a rebuilt machine, say).
    fresh = sharepoint_config(tmp / "fresh.toml", drive, tmp / "fresh", tmp / "outbox2")
    sign_in(fresh, tmp)
    p = run(fresh, tmp, NEXT_DAY)
    assert p.returncode == 0, p.stdout + p.stderr
    after = {**{f"forms/{k}": v for k, v in drive.files("forms").items()},
             **{f"reviews/{k}": v for k, v in drive.files("reviews").items()}}
    assert after == before, "nothing people edit on SharePoint was replaced"
    mine = local_root(tmp / "fresh", drive)
    assert all((mine / rel).read_bytes() == data for rel, data in before.items())  # the run worked on those


def test_a_file_never_seen_here_that_exists_on_sharepoint_is_fetched_not_replaced(site):
    from automation.graph.client import GraphClient
    from automation.graph.files import DriveFolder

    drive, cfg, tmp = site
    theirs = b"filled in on SharePoint"
    drive.folder("reviews")
    (drive.root / "reviews" / "OFS-1 checklist.xlsx").write_bytes(theirs)
    root = tmp / "machine"
    (root / "reviews").mkdir(parents=True)
    (root / "reviews" / "OFS-1 checklist.xlsx").write_bytes(b"made here, never pushed")
    (root / "reports").mkdir()
    (root / "reports" / "summary.html").write_bytes(b"<p>ours</p>")
    (drive.root / "reports").mkdir()
    (drive.root / "reports" / "summary.html").write_bytes(b"<p>old</p>")
    client = GraphClient(drive.base_url, lambda refresh: drive.token(), drive.session(), max_wait=5)
    folder = DriveFolder(client, drive.drive_id, drive.item()["parentReference"]["id"], root, tmp / "state.json")
    moved = folder.push(sorted(root.rglob("*.*")), lambda rel: rel.startswith("reviews/"))
    assert moved.kept == ["reviews/OFS-1 checklist.xlsx"] and moved.done == ["reports/summary.html"]
    assert (drive.root / "reviews" / "OFS-1 checklist.xlsx").read_bytes() == theirs  # never replaced there
    assert (root / "reviews" / "OFS-1 checklist.xlsx").read_bytes() == theirs  # and this machine works on it
    assert (drive.root / "reports" / "summary.html").read_bytes() == b"<p>ours</p>"  # the tool's own: replaced

    # Changed on SharePoint after this machine last saw it: If-Match fails, theirs comes down again.
    (drive.root / "reviews" / "OFS-1 checklist.xlsx").write_bytes(b"edited again there")  # its eTag moves on
    (root / "reviews" / "OFS-1 checklist.xlsx").write_bytes(b"refreshed here")
    moved = folder.push([root / "reviews" / "OFS-1 checklist.xlsx"], lambda rel: True)
    assert moved.kept == ["reviews/OFS-1 checklist.xlsx"]
    assert (drive.root / "reviews" / "OFS-1 checklist.xlsx").read_bytes() == b"edited again there"
