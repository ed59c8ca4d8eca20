"""The Graph drive stand-in behaves like Graph where the tracker store and file uploads rely on it:
raw HTTP against it, and the real .xlsx on disk read back with openpyxl."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest
import requests
from openpyxl.worksheet.table import Table, TableStyleInfo

from tests.standins.graph_drive import GraphDrive, graph_drive  # noqa: F401  (graph_drive: the fixture)


@pytest.fixture(scope="module")
def ca():
    import trustme

    return trustme.CA()


def _tracker(folder):
    folder.mkdir(parents=True, exist_ok=True)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Tracker"
    ws["B3"], ws["C3"], ws["D3"] = "URN", "School", "Visit date"
    ws["B4"], ws["C4"], ws["D4"] = 100001, "Alpha Primary", dt.date(2024, 1, 5)
    ws["D4"].number_format = "dd/mm/yyyy"
    log = wb.create_sheet("Email log")
    log.append(["When", "To", "Subject"])
    log.append(["2024-01-01", "a@school.example", "Hello"])
    table = Table(displayName="EmailLog", ref="A1:C2")
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2")
    log.add_table(table)
    log["B6"] = "note under the table"
    path = folder / "Tracker.xlsx"
    wb.save(path)
    return path


@pytest.fixture
def drive(tmp_path, ca):
    with GraphDrive(_tracker(tmp_path / "sp"), ca=ca) as d:
        d.http = d.session(d.token())
        d.wb_url = f"{d.base_url}/drives/{d.drive_id}/items/{d.item_id}/workbook"
        yield d
        assert d.state.errors == []


def test_msal_device_code_then_silent_refresh(drive):
    app = drive.msal_app()
    result = app.acquire_token_by_device_flow(app.initiate_device_flow(scopes=["Files.ReadWrite"]))
    assert "access_token" in result
    (account,) = app.get_accounts()
    assert account["username"] == "dsl@school.example"
    drive.expire_access_tokens()
    fresh = app.acquire_token_silent(["Files.ReadWrite"], account=account, force_refresh=True)
    assert drive.session(fresh["access_token"]).get(f"{drive.base_url}/drives/{drive.drive_id}/items/{drive.item_id}").ok
    drive.revoke_refresh_tokens("conditional_access")
    refused = app.acquire_token_silent_with_error(["Files.ReadWrite"], account=account, force_refresh=True)
    assert refused["error"] == "interaction_required" and "AADSTS53003" in refused["error_description"]


def test_device_code_waits_for_the_user(drive):
    drive.state.auto_approve = False
    app = drive.msal_app()
    flow = app.initiate_device_flow(scopes=["Files.ReadWrite"])
    assert "/devicelogin" in flow["message"] and flow["user_code"] in flow["message"]
    first = app.acquire_token_by_device_flow(flow, exit_condition=lambda f: True)
    assert first["error"] == "authorization_pending"
    assert drive.session().get(f"{drive.base}/devicelogin").ok
    assert "access_token" in app.acquire_token_by_device_flow(flow, exit_condition=lambda f: True)


def test_share_links_resolve_and_ctag_moves_only_on_content_change(drive):
    for url in (drive.web_url, drive.share_url, drive.path_url):
        r = drive.http.get(f"{drive.base_url}/shares/{drive.share_id(url)}/driveItem", params={"$select": "id,name"})
        assert r.json() == {"id": drive.item_id, "name": "Tracker.xlsx"}
    item = f"{drive.base_url}/drives/{drive.drive_id}/items/{drive.item_id}"
    tag = drive.http.get(item, params={"$select": "cTag"}).json()["cTag"]
    drive.http.get(f"{drive.wb_url}/worksheets/Tracker/usedRange")
    assert drive.http.get(item).json()["cTag"] == tag
    drive.http.patch(f"{drive.wb_url}/worksheets/Tracker/range(address='E4')", json={"values": [["'x"]]})
    assert drive.http.get(item).json()["cTag"] != tag
    assert drive.http.get(f"{drive.base_url}/drives/{drive.drive_id}/root:/tracker.XLSX").json()["id"] == drive.item_id


def test_used_range_has_graph_shape_and_need_not_start_at_a1(drive):
    r = drive.http.get(f"{drive.wb_url}/worksheets('Tracker')/usedRange",
                       params={"$select": "address,values,numberFormat,formulas"}).json()
    assert set(r) == {"address", "values", "numberFormat", "formulas"}
    assert r["address"] == "Tracker!B3:D4"
    assert r["values"] == [["URN", "School", "Visit date"], [100001, "Alpha Primary", 45296]]
    assert r["numberFormat"][1] == ["General", "General", "dd/mm/yyyy"]
    log = drive.http.get(f"{drive.wb_url}/worksheets('Email%20log')/usedRange").json()
    assert log["address"] == "'Email log'!A1:C6"


def test_patch_follows_excel_typing_rules(drive):
    values = [["'=HYPERLINK(\"x\")", "=1+1", "007", "'007", "2024-02-03", "TRUE", None, ""]]
    drive.http.patch(f"{drive.wb_url}/worksheets/Tracker/range(address='B10:I10')", json={"values": [["keep"] * 8]})
    r = drive.http.patch(f"{drive.wb_url}/worksheets/Tracker/range(address='B10:I10')", json={"values": values})
    assert r.status_code == 200
    ws = openpyxl.load_workbook(drive.path)["Tracker"]
    got = [c.value for c in ws["B10:I10"][0]]
    assert got[:4] == ['=HYPERLINK("x")', "=1+1", 7, "007"]
    assert ws["B10"].data_type == "s" and ws["C10"].data_type == "f" and ws["E10"].quotePrefix
    assert got[4] == dt.datetime(2024, 2, 3) and got[5] is True and got[6] == "keep" and got[7] is None
    bad = drive.http.patch(f"{drive.wb_url}/worksheets/Tracker/range(address='B10:C10')", json={"values": [["a"]] * 2})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "InvalidArgument"


def test_number_format_with_a_serial_reads_back_as_a_date(drive):
    drive.http.patch(f"{drive.wb_url}/worksheets/Tracker/range(address='F4')",
                     json={"values": [[45300]], "numberFormat": [["dd/mm/yyyy"]]})
    assert openpyxl.load_workbook(drive.path)["Tracker"]["F4"].value == dt.datetime(2024, 1, 9)
    r = drive.http.get(f"{drive.wb_url}/worksheets/Tracker/range(address='F4')").json()
    assert (r["values"], r["numberFormat"]) == ([[45300]], [["dd/mm/yyyy"]])


def test_table_rows_add_grows_the_table_in_the_real_file(drive):
    tables = drive.http.get(f"{drive.wb_url}/worksheets('Email log')/tables").json()["value"]
    assert [(t["name"], t["showHeaders"], t["showTotals"]) for t in tables] == [("EmailLog", True, False)]
    tid = tables[0]["id"]
    r = drive.http.post(f"{drive.wb_url}/tables/{tid}/rows/add",
                        json={"index": None, "values": [["'2024-02-01", "'b@x.example", "'=oops"], ["'2", "'c", "'d"]]})
    assert r.status_code == 201 and r.json()["index"] == 1
    assert drive.http.get(f"{drive.wb_url}/tables/{tid}/range").json()["address"] == "'Email log'!A1:C4"
    ws = openpyxl.load_workbook(drive.path)["Email log"]
    assert ws.tables["EmailLog"].ref == "A1:C4"
    assert [c.value for c in ws[3]] == ["2024-02-01", "b@x.example", "=oops"] and ws["C3"].data_type == "s"
    assert ws["B8"].value == "note under the table"  # cells under the table move down, as Excel inserts
    narrow = drive.http.post(f"{drive.wb_url}/tables/{tid}/rows/add", json={"values": [["only one"]]})
    assert narrow.status_code == 400


def test_batch_limits_and_per_item_statuses(drive):
    sid = drive.http.post(f"{drive.wb_url}/createSession", json={"persistChanges": True}).json()["id"]
    rel = f"/drives/{drive.drive_id}/items/{drive.item_id}/workbook/worksheets/Tracker"

    def req(i):
        return {"id": str(i), "method": "PATCH", "url": f"{rel}/range(address='H{i + 1}')", "body": {"values": [[f"'v{i}"]]},
                "headers": {"Content-Type": "application/json", "workbook-session-id": sid}}

    too_many = drive.http.post(f"{drive.base_url}/$batch", json={"requests": [req(i) for i in range(21)]})
    assert too_many.status_code == 400
    drive.state.faults.append(("PATCH range#2", 429, {"Retry-After": "3"}))
    batch = [req(0), req(1), req(2) | {"dependsOn": ["1"]}, {"id": "9", "method": "GET", "url": f"{rel}/usedRange",
                                                              "headers": {"workbook-session-id": sid}}]
    out = drive.http.post(f"{drive.base_url}/$batch", json={"requests": batch}).json()["responses"]
    assert [(x["id"], x["status"]) for x in out] == [("0", 200), ("1", 429), ("2", 424), ("9", 200)]
    assert out[1]["headers"]["Retry-After"] == "3"
    ws = openpyxl.load_workbook(drive.path)["Tracker"]
    assert (ws["H1"].value, ws["H2"].value, ws["H3"].value) == ("v0", None, None)
    assert drive.state.batches[-1] == ["PATCH range", "PATCH range", "GET usedRange"]


def test_sessions_expire_and_close(drive):
    sid = drive.http.post(f"{drive.wb_url}/createSession", json={"persistChanges": True}).json()["id"]
    h = {"workbook-session-id": sid}
    assert drive.http.get(f"{drive.wb_url}/worksheets", headers=h).ok
    drive.state.faults.append(("any workbook", "session_expired"))
    gone = drive.http.get(f"{drive.wb_url}/worksheets", headers=h)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "InvalidSessionReCreatable"
    sid = drive.http.post(f"{drive.wb_url}/createSession", json={"persistChanges": True}).json()["id"]
    assert drive.http.post(f"{drive.wb_url}/closeSession", headers={"workbook-session-id": sid}).status_code == 204
    assert drive.http.get(f"{drive.wb_url}/worksheets", headers={"workbook-session-id": sid}).status_code == 404


def test_cut_after_apply_applies_then_drops_the_connection(drive):
    drive.state.faults.append(("PATCH range", "cut_after_apply"))
    with pytest.raises(requests.ConnectionError):
        drive.http.patch(f"{drive.wb_url}/worksheets/Tracker/range(address='B5')", json={"values": [["'applied"]]})
    assert openpyxl.load_workbook(drive.path)["Tracker"]["B5"].value == "applied"


def test_scripted_errors_and_a_renamed_sheet(drive):
    drive.state.faults += [("createSession", 423), ("GET usedRange", 503, {"Retry-After": "2"})]
    assert drive.http.post(f"{drive.wb_url}/createSession", json={}).json()["error"]["code"] == "resourceLocked"
    r = drive.http.get(f"{drive.wb_url}/worksheets/Tracker/usedRange")
    assert (r.status_code, r.headers["Retry-After"]) == (503, "2")
    drive.rename_sheet("Tracker", "Schools")
    missing = drive.http.get(f"{drive.wb_url}/worksheets/Tracker/usedRange")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "ItemNotFound")
    assert drive.http.get(f"{drive.base_url}/drives/{drive.drive_id}/items/{drive.item_id}", headers={
        "Authorization": "Bearer stale"}).status_code == 401


def test_coauthor_edit_lands_between_read_and_write(drive):
    drive.coauthor_edit("Tracker", "C4", "'Renamed by a colleague")
    drive.http.get(f"{drive.wb_url}/worksheets/Tracker/usedRange")
    assert openpyxl.load_workbook(drive.path)["Tracker"]["C4"].value == "Alpha Primary"
    drive.http.patch(f"{drive.wb_url}/worksheets/Tracker/range(address='E4')", json={"values": [["'mine"]]})
    ws = openpyxl.load_workbook(drive.path)["Tracker"]
    assert (ws["C4"].value, ws["E4"].value) == ("Renamed by a colleague", "mine")


def test_upload_session_in_320k_chunks_and_simple_upload(drive):
    folder = drive.folder("Reports/2026")
    data = bytes(range(256)) * 3000  # 768,000 bytes: 2 whole chunks of 320 KiB and a short last one
    up = drive.http.post(f"{drive.base_url}/drives/{drive.drive_id}/items/{folder}:/report.pdf:/createUploadSession",
                         json={"item": {"@microsoft.graph.conflictBehavior": "replace"}}).json()
    raw = drive.session()  # no Authorization header on the upload URL
    assert drive.http.put(up["uploadUrl"], data=data[:10], headers={"Content-Range": f"bytes 0-9/{len(data)}"}).status_code == 401
    assert raw.put(up["uploadUrl"], data=data[:1000], headers={"Content-Range": f"bytes 0-999/{len(data)}"}).status_code == 400
    unit = 320 * 1024
    for first in range(0, len(data), unit):
        chunk = data[first:first + unit]
        r = raw.put(up["uploadUrl"], data=chunk, headers={"Content-Range": f"bytes {first}-{first + len(chunk) - 1}/{len(data)}"})
        assert r.status_code == (201 if first + unit >= len(data) else 202)
    assert drive.files("Reports") == {"2026/report.pdf": data}
    put = drive.http.put(f"{drive.base_url}/drives/{drive.drive_id}/items/{folder}:/note.txt:/content", data=b"hi")
    assert put.status_code == 201
    kids = drive.http.get(f"{drive.base_url}/drives/{drive.drive_id}/items/{folder}/children").json()["value"]
    assert [k["name"] for k in kids] == ["note.txt", "report.pdf"]
    content = drive.http.get(f"{drive.base_url}/drives/{drive.drive_id}/items/{put.json()['id']}/content")
    assert content.content == b"hi"
    made = drive.http.post(f"{drive.base_url}/drives/{drive.drive_id}/items/{folder}/children",
                           json={"name": "Sub", "folder": {}, "@microsoft.graph.conflictBehavior": "fail"})
    again = drive.http.post(f"{drive.base_url}/drives/{drive.drive_id}/items/{folder}/children",
                            json={"name": "Sub", "folder": {}, "@microsoft.graph.conflictBehavior": "fail"})
    assert (made.status_code, again.status_code) == (201, 409)


def test_deleted_file_answers_item_not_found(drive):
    drive.delete_file()
    r = drive.http.get(f"{drive.base_url}/drives/{drive.drive_id}/items/{drive.item_id}")
    assert (r.status_code, r.json()["error"]["code"]) == (404, "itemNotFound")


def test_conditional_writes_paging_and_a_moved_file(drive):
    api = f"{drive.base_url}/drives/{drive.drive_id}"
    root = drive.item()["parentReference"]["id"]
    lease = f"{api}/items/{root}:/Tracker.lease.json:/content"
    first = drive.http.put(lease, data=b"{}", headers={"If-None-Match": "*"})
    assert first.status_code == 201
    assert drive.http.put(lease, data=b"{}", headers={"If-None-Match": "*"}).status_code == 412
    etag = first.json()["eTag"]
    assert drive.http.put(lease, data=b"{1}", headers={"If-Match": etag}).status_code == 200
    stale = drive.http.put(lease, data=b"{2}", headers={"If-Match": etag})
    assert (stale.status_code, stale.json()["error"]["code"]) == (412, "preconditionFailed")
    assert drive.http.get(lease).content == b"{1}"
    assert drive.http.get(f"{api}/items/{root}:/absent.json:/content").status_code == 404
    folder = drive.folder("many")
    for i in range(5):
        (drive.root / "many" / f"f{i}.txt").write_text(str(i))
    drive.state.page_size = 2
    names, url = [], f"{api}/items/{folder}/children"
    while url:
        page = drive.http.get(url).json()
        names += [k["name"] for k in page["value"]]
        url = page.get("@odata.nextLink")
    assert names == [f"f{i}.txt" for i in range(5)]
    drive.move_file("Archive")
    moved = drive.http.get(f"{api}/items/{drive.item_id}").json()
    assert moved["parentReference"]["path"].endswith("root:/Archive")
    assert drive.http.get(f"{api}/root:/Archive/Tracker.xlsx").json()["id"] == drive.item_id


def test_clear_add_sheet_lock_and_expired_token(drive):
    drive.http.post(f"{drive.wb_url}/worksheets/Tracker/range(address='B4:D4')/clear", json={"applyTo": "Contents"})
    assert [c.value for c in openpyxl.load_workbook(drive.path)["Tracker"][4]][1:4] == [None, None, None]
    made = drive.http.post(f"{drive.wb_url}/worksheets/add", json={"name": "Problems"})
    assert made.status_code == 201 and made.json()["name"] == "Problems"
    assert drive.http.post(f"{drive.wb_url}/worksheets/add", json={"name": "problems"}).status_code == 409
    assert "Problems" in openpyxl.load_workbook(drive.path).sheetnames
    drive.lock()
    locked = drive.http.patch(f"{drive.wb_url}/worksheets/Problems/range(address='A1')", json={"values": [["'x"]]})
    assert (locked.status_code, locked.json()["error"]["code"]) == (423, "resourceLocked")
    assert drive.http.get(f"{drive.wb_url}/worksheets/Problems/usedRange").ok  # reading a locked file still works
    drive.lock(False)
    drive.state.faults.append(("any", "token_expired"))
    assert drive.http.get(f"{drive.wb_url}/worksheets").status_code == 401
    assert drive.http.get(f"{drive.wb_url}/worksheets").status_code == 401  # the token is dead, not just one answer


def test_rows_add_above_a_totals_row_and_formulas_follow(tmp_path, ca):
    path = tmp_path / "sp" / "Totals.xlsx"
    path.parent.mkdir()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Log"
    for row in (["Item", "Count"], ["a", 1], ["b", 2], ["Total", "=SUM(B2:B4)"]):
        ws.append(row)
    ws["D1"] = "=B4*2"
    ws.add_table(Table(displayName="Log", ref="A1:B4", totalsRowCount=1))
    wb.save(path)
    with GraphDrive(path, ca=ca) as d:
        http = d.session(d.token())
        url = f"{d.base_url}/drives/{d.drive_id}/items/{d.item_id}/workbook/worksheets/Log/tables/Log/rows"
        assert http.post(url, json={"values": [["'c", 3]]}).status_code == 201  # "Create tableRow" = rows/add
        assert d.state.requests[-1] == "POST rows/add"
        assert d.state.errors == []
    ws = openpyxl.load_workbook(path)["Log"]
    assert ws.tables["Log"].ref == "A1:B5"
    assert [c.value for c in ws[4]][:2] == ["c", 3] and [c.value for c in ws[5]][:2] == ["Total", "=SUM(B2:B5)"]
    assert ws["D1"].value == "=B5*2"


def test_deferred_saves_and_a_session_that_keeps_nothing(tmp_path, ca):
    with GraphDrive(_tracker(tmp_path / "sp"), ca=ca, defer_saves=True) as d:
        http = d.session(d.token())
        wb_url = f"{d.base_url}/drives/{d.drive_id}/items/{d.item_id}/workbook"
        view = http.post(f"{wb_url}/createSession", json={"persistChanges": False}).json()["id"]
        http.patch(f"{wb_url}/worksheets/Tracker/range(address='B8')", json={"values": [["'scratch"]]},
                   headers={"workbook-session-id": view})
        seen = http.get(f"{wb_url}/worksheets/Tracker/range(address='B8')", headers={"workbook-session-id": view})
        assert seen.json()["values"] == [["scratch"]]
        sid = http.post(f"{wb_url}/createSession", json={"persistChanges": True}).json()["id"]
        tag = d.item()["cTag"]
        http.patch(f"{wb_url}/worksheets/Tracker/range(address='B9')", json={"values": [["'kept"]]},
                   headers={"workbook-session-id": sid})
        assert openpyxl.load_workbook(d.path)["Tracker"]["B9"].value is None  # not saved yet
        http.post(f"{wb_url}/closeSession", headers={"workbook-session-id": sid})
        ws = openpyxl.load_workbook(d.path)["Tracker"]
        assert (ws["B8"].value, ws["B9"].value) == (None, "kept") and d.item()["cTag"] != tag


def test_a_tracker_in_a_sub_folder_of_the_library(tmp_path, ca):
    path = _tracker(tmp_path / "library" / "Safeguarding")
    with GraphDrive(path, ca=ca, root=tmp_path / "library") as d:
        http = d.session(d.token())
        item = http.get(f"{d.base_url}/shares/{d.share_id(d.path_url)}/driveItem").json()
        assert item["id"] == d.item_id and item["parentReference"]["path"].endswith("root:/Safeguarding")
        forms = d.folder("forms")
        assert http.get(f"{d.base_url}/drives/{d.drive_id}/items/{item['parentReference']['id']}:/forms").json()["id"] == forms
        assert d.state.errors == []


def test_an_empty_tables_placeholder_row_is_filled_first(tmp_path, ca):
    path = tmp_path / "sp" / "Empty.xlsx"
    path.parent.mkdir()
    wb = openpyxl.Workbook()
    wb.active.title = "Log"
    wb.active.append(["When", "To"])
    wb.active.add_table(Table(displayName="Log", ref="A1:B2"))  # as Excel makes a table with no data yet
    wb.save(path)
    with GraphDrive(path, ca=ca) as d:
        url = f"{d.base_url}/drives/{d.drive_id}/items/{d.item_id}/workbook/tables/Log/rows/add"
        r = d.session(d.token()).post(url, json={"values": [["'a", "'b"], ["'c", "'d"]]})
        assert (r.status_code, r.json()["index"]) == (201, 0)
    ws = openpyxl.load_workbook(path)["Log"]
    assert ws.tables["Log"].ref == "A1:B3" and [[c.value for c in row] for row in ws["A2:B3"]] == [["a", "b"], ["c", "d"]]


def test_the_fixture_opens_and_closes_drives(graph_drive, tmp_path, ca):
    d = graph_drive(_tracker(tmp_path / "a"), ca=ca)
    assert d.session(d.token()).get(f"{d.base_url}/me").json()["userPrincipalName"] == "dsl@school.example"
    assert d.state.requests == ["GET me"]
