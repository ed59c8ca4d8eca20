"""The Graph drive stand-in's app: one request at a time under the state lock — Entra, Graph
routing, auth, scripted faults, co-author edits, workbook files and sessions, and $batch."""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import threading
import time
import traceback
from urllib.parse import parse_qs, unquote, urlparse

from tests.standins import graph_excel as xl
from tests.standins.graph_drive_ops import DriveOps
from tests.standins.graph_entra import REFUSALS, Entra, openid_configuration
from tests.standins.graph_http import FAULTS, Reply, error, json_body, select
from tests.standins.graph_items import Items, signature
from tests.standins.graph_workbook import WRITES, Book, GraphError, execute, kind_of, parse

BATCH_LIMIT = 20
FILE_WRITES = {"PUT content", "PUT uploadSession", "PATCH item", "DELETE item", "POST children"}
_DRIVE = re.compile(r"^/drives/(?P<d>[^/]+)/(?P<sel>root|items/[^/:]+)(?::(?P<p>/[^:]*):?)?(?P<rest>/.*)?$")


def _matches(pattern: str, kind: str, nth: int, area: str) -> bool:
    base, _, n = pattern.partition("#")
    if n and int(n) != nth:
        return False
    if base in ("before_first_patch", "write"):
        return kind in WRITES
    if base == "any":  # any Graph request; the sign-in endpoints are scripted as "token" etc.
        return area != "entra"
    return (base in (kind, kind.split(" ", 1)[-1]) or (base == "any workbook" and area == "workbook")
            or (base == "any drive" and area == "drive") or (base == "token" and kind == "POST token"))


class App(DriveOps):
    """Routing, auth, faults and the drive/workbook/upload operations; one request at a time."""

    def __init__(self, state, base: str, items: Items, entra: Entra):
        self.state, self.base, self.items, self.entra = state, base, items, entra
        self.books: dict[str, tuple] = {}  # item id -> (signature, Book)
        self.dirty: set[str] = set()
        self.defer_saves = False  # True: save at closeSession / before file requests / at the end, not per request
        self.warming: dict[str, tuple] = {}  # item id -> (loader thread, [signature, Book])
        self.tracker_id: str | None = None  # the item co-author edits change

    # --- entry ----------------------------------------------------------------------------
    def handle(self, method: str, target: str, headers: dict, body: bytes) -> Reply:
        """Answer one HTTP request; workbook changes are saved before the answer goes out."""
        with self.state.lock:
            try:
                reply = self._dispatch(method, target, headers, body)
            except GraphError as e:
                reply = Reply(e.status, e.body(), dict(e.headers))
            except Exception:  # a stand-in bug: answer 500 and keep it for the test to see
                self.state.errors.append(traceback.format_exc())
                reply = error(500, "generalException", "stand-in failure: " + traceback.format_exc(limit=1))
            finally:
                self._flush(force=False)
            return reply

    def _dispatch(self, method, target, headers, body) -> Reply:
        path = urlparse(target).path
        if path == "/v1.0/$batch" or path == "/v1.0/%24batch":
            return self._batch(headers, body)
        if path.startswith("/v1.0/"):
            return self._graph(method, target[len("/v1.0"):], headers, body)
        if path.startswith("/upload/"):
            return self._upload(method, target, headers, body)
        if path.startswith("/download/"):
            return self._download(path)
        if path == "/devicelogin":
            code = parse_qs(urlparse(target).query).get("code", [None])[0]
            return Reply(200, f"signed in: {self.grant(code)} device code(s)".encode(), {"Content-Type": "text/plain"})
        return self._entra(method, path, body)

    # --- Entra ----------------------------------------------------------------------------
    def _entra(self, method, path, body) -> Reply:
        tenant, _, rest = path.strip("/").partition("/")
        kinds = {("GET", "v2.0/.well-known/openid-configuration"): "GET openid-configuration",
                 ("POST", "oauth2/v2.0/devicecode"): "POST devicecode", ("POST", "oauth2/v2.0/token"): "POST token"}
        kind = kinds.get((method, rest))
        if kind is None:
            return error(404, "NotFound", f"the stand-in has no {method} {path}")
        self.state.requests.append(kind)
        if not self.entra.tenant_ok(tenant):
            return Reply(400, {"error": "invalid_tenant", "error_description":
                               f"AADSTS90002: Tenant '{tenant}' not found."})
        fault = self._take_fault(kind, "entra")
        if fault and isinstance(fault[0], int):  # Entra words its errors the OAuth way, not Graph's
            oauth = "temporarily_unavailable" if fault[0] in (429, 503, 504) else "server_error"
            return Reply(fault[0], {"error": oauth, "error_description": f"AADSTS90033: scripted {fault[0]}.",
                                    "error_codes": [90033]}, ({"Retry-After": "1"} if fault[0] == 429 else {}) | fault[1])
        if fault and fault[0] not in REFUSALS:
            early = self._fault_reply(fault, None)
            if early is not None:
                return early
        if kind == "GET openid-configuration":
            return Reply(200, openid_configuration(self.base, tenant))
        status, out = (self.entra.devicecode(body) if kind == "POST devicecode"
                       else self.entra.token(body, fault[0] if fault else None))
        return Reply(status, out)

    def grant(self, user_code: str | None = None, status: str = "approved") -> int:
        """Sign the user in (or decline) for pending device codes; how many were changed."""
        n = 0
        for flow in self.state.device_codes.values():
            if flow["status"] == "pending" and user_code in (None, flow["user_code"]):
                flow["status"] = status
                n += 1
        return n

    # --- faults and co-author edits -------------------------------------------------------
    def _take_fault(self, kind: str, area: str):
        st = self.state
        nth = sum(1 for k in st.requests if k == kind)
        for i, f in enumerate(st.faults):
            pattern, fault = f[0], f[1]
            headers = f[2] if len(f) > 2 else {}
            times = f[3] if len(f) > 3 else 1
            if _matches(pattern, kind, nth, area):
                if times is not None:
                    if times <= 1:
                        del st.faults[i]
                    else:
                        st.faults[i] = (pattern, fault, headers, times - 1)
                st.fired.append((kind, fault))
                return fault, headers or {}
        return None

    def _fault_reply(self, fault, session_id) -> Reply | None:
        """The answer a scripted fault gives instead of the real one; None = carry on (cut_after_apply)."""
        value, headers = fault
        if value == "cut_after_apply":
            return None
        if value == "cut":
            return Reply(0, cut=True)
        if value == "token_expired":
            self.state.access_tokens.clear()
            return error(401, *FAULTS[401], headers)
        if value == "session_expired":
            self.state.sessions.pop(session_id, None)
            return self._session_refusal(headers)
        if isinstance(value, dict):
            return error(value.get("status", 400), value.get("code", "invalidRequest"),
                          value.get("message", "scripted fault"), headers, value.get("inner"))
        if isinstance(value, int):
            code, message = FAULTS.get(value, ("error", f"scripted {value}"))
            if value == 429:
                headers = {"Retry-After": "1"} | headers
            return error(value, code, message, headers)
        raise ValueError(f"unknown scripted fault {value!r}")

    def _session_refusal(self, headers=None) -> Reply:
        if self.state.session_error == "sessionNotFound":
            return error(404, "ItemNotFound", "The session does not exist or has expired.", headers, "sessionNotFound")
        return error(404, "InvalidSessionReCreatable", "The session specified in the request does not exist or is "
                      "invalid due to a transient error.", headers, "invalidSessionReCreatable")

    def _run_hooks(self, kind: str, area: str) -> None:
        st = self.state
        nth = sum(1 for k in st.requests if k == kind)
        for hook in list(st.hooks):
            if _matches(hook["when"], kind, nth, area):
                st.hooks.remove(hook)
                try:
                    self.edit(hook["sheet"], hook["cell"], hook["value"])
                except Exception:  # a test's own mistake (no such sheet): shown to it, not to the store
                    st.errors.append("co-author edit failed: " + traceback.format_exc())
                    continue
                st.coauthor_fired.append((kind, hook["sheet"], hook["cell"], hook["value"]))

    def edit(self, sheet: str, cell: str, value, item_id: str | None = None) -> None:
        """Change one cell as a person in Excel would (typed text, Excel's conversions); saved at once."""
        item_id = item_id or self.tracker_id
        book = self.book(item_id)
        xl.set_value(book.sheet(sheet)[cell], value)
        self.save(item_id, book)

    # --- workbook files -------------------------------------------------------------------
    def book(self, item_id: str) -> Book:
        """The item's workbook, reloaded when the file on disk changed."""
        path = self.items.path(item_id)
        sig = signature(path)
        warm = self.warming.pop(item_id, None)
        if warm:
            warm[0].join()
            if warm[1] and warm[1][0] == sig and item_id not in self.books:
                self.books[item_id] = (sig, warm[1][1])
        cached = self.books.get(item_id)
        if cached and cached[0] == sig:
            return cached[1]
        try:
            book = Book(path, previous=cached[1] if cached else None)
        except Exception as exc:
            raise GraphError(400, "FileCorruptTryRepair", f"The workbook cannot be opened: {exc}")
        self.books[item_id] = (sig, book)
        return book

    def save(self, item_id: str, book: Book) -> None:
        """Write the workbook to disk (atomically) and move the item's cTag on."""
        path = self.items.path(item_id)
        tmp = path.with_name(".~save-" + path.name)
        book.wb.save(tmp)
        os.replace(tmp, path)
        self.books[item_id] = (signature(path), book)
        self.items.content_changed(item_id)
        self.dirty.discard(item_id)

    def warm(self, item_id: str) -> None:
        """Load the workbook in the background (Graph has it open already; the store should not wait for us)."""
        holder: list = []
        path = self.items.path(item_id)

        def load():
            try:
                sig = signature(path)
                holder.extend([sig, Book(path)])
            except Exception:
                holder.clear()

        thread = threading.Thread(target=load, daemon=True)
        self.warming[item_id] = (thread, holder)
        thread.start()

    def _flush(self, force: bool = True) -> None:
        if self.defer_saves and not force:
            return
        for item_id in list(self.dirty):
            cached = self.books.get(item_id)
            self.dirty.discard(item_id)
            try:
                if cached:
                    self.save(item_id, cached[1])
            except GraphError:  # deleted or moved away meanwhile: nothing left to save to
                pass

    # --- Graph routing --------------------------------------------------------------------
    def _graph(self, method: str, target: str, headers: dict, body: bytes, batch: list | None = None) -> Reply:
        url = urlparse(target)
        query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        kind, area, run = self._route(method, url.path)
        self.state.requests.append(kind)
        if batch is not None:
            batch.append(kind)
        elif not self.entra.valid(headers.get("authorization", "")):
            return error(401, *FAULTS[401])
        sid = headers.get("workbook-session-id")
        fault = self._take_fault(kind, area)
        if fault:
            early = self._fault_reply(fault, sid)
            if early is not None:
                return early
        if area != "workbook":
            self._flush()  # a file request sees the workbook as last changed (and its cTag moved on)
        self._run_hooks(kind, area)
        if self.state.denied:
            return error(403, *FAULTS[403])
        if self.state.locked and (kind in WRITES or kind in FILE_WRITES or kind == "POST createSession"):
            return error(423, *FAULTS[423])
        reply = run(query, headers, body)
        if fault and fault[0] == "cut_after_apply":
            self._flush()
            reply.cut = True
        return reply

    def _route(self, method: str, path: str):
        """(kind, area, runner) for a Graph path (after /v1.0)."""
        for alias in ("/me/drive", "/drive"):
            if path == alias or path.startswith(alias + "/"):
                path = f"/drives/{self.items.drive_id}" + path[len(alias):]
        if path == "/me" and method == "GET":
            user = self.items.user
            return "GET me", "drive", lambda q, h, b: Reply(200, {
                "id": "aaaaaaaa-0000-0000-0000-00000000000b", "displayName": "Stand-in Officer",
                "userPrincipalName": user, "mail": user})
        if path.startswith("/shares/"):
            share, _, rest = path[len("/shares/"):].partition("/")
            if rest in ("driveItem", "root") and method == "GET":
                return "GET shares", "drive", lambda q, h, b: Reply(200, self.items.json(
                    self.items.share(unquote(share)), select(q)))
        m = _DRIVE.match(path)
        if not m:
            return f"{method} unknown", "drive", lambda q, h, b: error(
                400, "BadRequest", f"Resource not found for the segment in {path!r} (the stand-in serves a subset).")
        if m.group("d") != self.items.drive_id:
            return f"{method} unknown", "drive", lambda q, h, b: error(404, "itemNotFound", "The drive does not exist.")
        base = self.items.root_id if m.group("sel") == "root" else unquote(m.group("sel")[len("items/"):])
        sub = unquote(m.group("p")) if m.group("p") is not None else None
        rest = m.group("rest") or ""
        if rest.startswith("/workbook"):
            op, params = parse(unquote(rest[len("/workbook"):]))
            kind = kind_of(method, op)
            return kind, "workbook", lambda q, h, b: self._workbook(method, op, params, base, sub, kind, q, h, b)
        op = {"": "item", "/content": "content", "/children": "children",
              "/createUploadSession": "createUploadSession"}.get(rest)
        if op is None:
            return f"{method} unknown", "drive", lambda q, h, b: error(400, "BadRequest", f"not served: {rest}")
        kind = f"{method} {op}" + (":path" if op == "item" and method == "GET" and sub is not None else "")
        return kind, "drive", lambda q, h, b: self._drive(method, op, base, sub, q, h, b)

    # --- drive ----------------------------------------------------------------------------

    def _workbook(self, method, op, params, base, sub, kind, query, headers, body) -> Reply:
        st = self.state
        item_id = self.items.lookup(base, sub) if sub is not None else base
        self.items.rel(item_id)
        sid = headers.get("workbook-session-id")
        if op == "createSession" and method == "POST":
            persist = json_body(body).get("persistChanges", True) is not False
            self.book(item_id)  # a file that is not a workbook fails here, as it does on Graph
            new = "cluster=SN2&session=" + secrets.token_urlsafe(24)
            st.sessions[new] = {"item": item_id, "persist": persist, "expires": time.monotonic() + st.session_ttl,
                                "book": None if persist else Book(self.items.path(item_id))}
            return Reply(201, {"id": new, "persistChanges": persist})
        session = None
        if sid is not None:
            session = st.sessions.get(sid)
            if session is None or session["expires"] < time.monotonic() or session["item"] != item_id:
                st.sessions.pop(sid, None)
                return self._session_refusal()
            session["expires"] = time.monotonic() + st.session_ttl
        if op == "closeSession" and method == "POST":
            if sid is None:
                return error(400, "invalidRequest", "closeSession needs the workbook-session-id header.")
            del st.sessions[sid]
            self._flush()
            return Reply(204)
        if op == "refreshSession" and method == "POST":
            return Reply(204)
        if not op:
            return error(400, "BadRequest", "The stand-in does not serve this workbook path.")
        book = session["book"] if session and not session["persist"] else self.book(item_id)
        status, out = execute(book, method, op, params, json_body(body), query)
        if kind in WRITES and not (session and not session["persist"]):
            self.dirty.add(item_id)
        return Reply(status, out)

    # --- $batch ---------------------------------------------------------------------------
    def _batch(self, headers, body) -> Reply:
        st = self.state
        st.requests.append("POST $batch")
        if not self.entra.valid(headers.get("authorization", "")):
            return error(401, *FAULTS[401])
        fault = self._take_fault("POST $batch", "batch")
        if fault:
            early = self._fault_reply(fault, None)
            if early is not None:
                return early
        try:
            reqs = json.loads(body or b"{}")["requests"]
            assert isinstance(reqs, list)
        except (ValueError, KeyError, TypeError, AssertionError):
            return error(400, "BadRequest", "The batch body must be JSON with a 'requests' array.")
        if len(reqs) > BATCH_LIMIT:
            return error(400, "BadRequest", f"Number of batch requests ({len(reqs)}) exceeds the maximum of {BATCH_LIMIT}.")
        ids = [str(r.get("id")) for r in reqs]
        if len(set(ids)) != len(ids) or not all(r.get("id") and r.get("method") and r.get("url") for r in reqs):
            return error(400, "BadRequest", "Each batch request needs a unique id, a method and a url.")
        kinds: list[str] = []
        st.batches.append(kinds)
        done: dict[str, int] = {}
        out, cut = [], False
        for r in self._batch_order(reqs):
            rid = str(r["id"])
            deps = [str(d) for d in (r.get("dependsOn") or [])]
            if any(done.get(d, 424) >= 400 for d in deps):
                reply = error(424, "FailedDependency", "A request this one depends on failed.")
            elif "://" in str(r["url"]):
                reply = error(400, "BadRequest", "Batch request urls are relative, like /drives/...")
            else:
                inner = {k.lower(): v for k, v in (r.get("headers") or {}).items()}
                data = r.get("body")
                raw = json.dumps(data).encode() if isinstance(data, (dict, list)) else (
                    base64.b64decode(data) if isinstance(data, str) else b"")
                try:
                    url = r["url"] if r["url"].startswith("/") else "/" + r["url"]  # Graph takes both
                    reply = self._graph(r["method"].upper(), url, inner, raw, batch=kinds)
                except GraphError as e:
                    reply = Reply(e.status, e.body(), dict(e.headers))
            done[rid] = reply.status or 500
            cut = cut or reply.cut
            hdrs = {"Content-Type": "application/json"} | reply.headers
            rbody = reply.body
            if isinstance(rbody, bytes):
                rbody = base64.b64encode(rbody).decode()
            out.append({"id": rid, "status": reply.status or 500, "headers": hdrs, **({"body": rbody} if rbody is not None else {})})
        return Reply(200, {"responses": out}, cut=cut)

    def _batch_order(self, reqs: list) -> list:
        """The order the batch runs in: as given, or reversed but never before what a request depends on."""
        if self.state.batch_order != "reversed":
            return reqs
        pending, order, seen = list(reversed(reqs)), [], set()
        while pending:
            ready = next((r for r in pending if all(str(d) in seen or str(d) not in {str(x["id"]) for x in reqs}
                                                    for d in (r.get("dependsOn") or []))), pending[0])
            pending.remove(ready)
            order.append(ready)
            seen.add(str(ready["id"]))
        return order
