"""A local HTTPS stand-in (127.0.0.1, trustme certificate) for the Microsoft Graph drive and
workbook APIs the SharePoint/OneDrive tracker store uses, and the Entra endpoints msal's
PublicClientApplication calls (discovery, device code, device_code and refresh_token grants).
It keeps a REAL .xlsx on disk: after every change the file is what openpyxl reads. Requests are
counted by kind (state.requests), faults are scripted per kind (state.faults), and a co-author's
edit can be made to land between the store's read and its write (state.coauthor_edit)."""

from __future__ import annotations

import base64
import os
import secrets
import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest
import trustme

from tests.standins import HttpStandIn
from tests.standins.graph import CLIENT_ID, TENANT
from tests.standins.graph_app import App
from tests.standins.graph_entra import REFUSALS, Entra
from tests.standins.graph_http import Handler
from tests.standins.graph_items import LIBRARY, Items


@dataclass
class DriveState:
    """What tests script and inspect. Everything is read and changed under `lock`."""
    lock: threading.RLock = field(default_factory=threading.RLock)
    requests: list[str] = field(default_factory=list)  # "METHOD kind", in order
    batches: list[list[str]] = field(default_factory=list)  # the kinds inside each $batch
    faults: list[tuple] = field(default_factory=list)  # (kind, fault[, headers[, times]]), first match wins
    fired: list[tuple] = field(default_factory=list)  # (kind, fault) of every fault that was served
    hooks: list[dict] = field(default_factory=list)  # pending co-author edits
    coauthor_fired: list[tuple] = field(default_factory=list)  # (kind it ran before, sheet, cell, value)
    errors: list[str] = field(default_factory=list)  # stand-in failures (answered 500): a test should see none
    token_requests: list[dict] = field(default_factory=list)
    access_tokens: set[str] = field(default_factory=set)
    refresh_tokens: set[str] = field(default_factory=set)
    tokens_issued: int = 0
    refusal: tuple | None = None  # (error, description) every refresh_token grant gets, once revoked
    device_codes: dict = field(default_factory=dict)
    auto_approve: bool = True  # device code counts as signed in at once
    device_interval: int = 1
    access_ttl: int = 3599
    sessions: dict = field(default_factory=dict)  # id -> {"item", "persist", "expires", "book"}
    session_ttl: float = 420.0  # idle seconds before a workbook session lapses
    session_error: str = "InvalidSessionReCreatable"  # or "sessionNotFound": 404 ItemNotFound/innerError
    uploads: dict = field(default_factory=dict)
    locked: bool = False  # every write answers 423 (file checked out / open exclusively)
    denied: bool = False  # every Graph request answers 403
    page_size: int = 200
    batch_order: str = "given"  # "reversed": requests without dependsOn run last-first, as Graph may run them in any order

    def count(self, kind: str) -> int:
        """How many requests of a kind ("PATCH range", or just "range" for any method) were made."""
        with self.lock:
            return sum(1 for k in self.requests if k == kind or k.split(" ", 1)[-1] == kind)

    def coauthor_edit(self, sheet: str, cell: str, value, when: str = "before_first_patch") -> None:
        """Another person's edit, made just before the first request matching `when` is served:
        "before_first_patch" (any workbook write), or a kind like "PATCH range" / "createSession#2"."""
        with self.lock:
            self.hooks.append({"sheet": sheet, "cell": cell, "value": value, "when": when})


class GraphDrive(HttpStandIn):
    """`with GraphDrive(xlsx_path) as drive:` a Graph drive + workbook + Entra stand-in over the real
    file `xlsx_path`. The drive's root is the file's folder (give the tracker a folder of its own),
    or `root=` a folder above it. Options: auto_approve (device code signed in at once), preload
    (load the workbook in the background), defer_saves (save at closeSession, not per request)."""

    def __init__(self, xlsx_path, *, tenant: str = TENANT, client_id: str = CLIENT_ID, ca=None,
                 user: str = "dsl@school.example", auto_approve: bool = True, state: DriveState | None = None,
                 defer_saves: bool = False, preload: bool = True, root=None):
        self.path = Path(xlsx_path).resolve()
        if not self.path.is_file():
            raise FileNotFoundError(f"GraphDrive needs the tracker workbook on disk: {self.path}")
        # the drive's root folder: the tracker's own folder, or a folder above it (root=) so the tracker
        # sits in a sub-folder of the library as it often does on SharePoint
        self.root = Path(root).resolve() if root else self.path.parent
        self.home = self.path.parent
        if not self.path.is_relative_to(self.root):
            raise ValueError(f"the tracker {self.path} is not under the drive root {self.root}")
        rel = self.path.relative_to(self.root).as_posix()
        self.tenant, self.client_id = tenant, client_id
        self.state = state or DriveState()
        self.state.auto_approve = auto_approve
        super().__init__(Handler)
        self.ca = ca or trustme.CA()
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("127.0.0.1").configure_cert(ctx)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.base = f"https://127.0.0.1:{self.server.server_port}"
        self.base_url = f"{self.base}/v1.0"
        self.authority = f"{self.base}/{tenant}"
        self._tmp = tempfile.TemporaryDirectory(prefix="graph-drive-")
        self.ca_bundle = str(Path(self._tmp.name) / "ca.pem")
        self.ca.cert_pem.write_to_path(self.ca_bundle)
        self.drive_id = "b!" + secrets.token_urlsafe(48)
        self.items = Items(self.root, self.drive_id, user, self.base)
        self.app = App(self.state, self.base, self.items, Entra(self.state, self.base, tenant, client_id, user))
        self.server.RequestHandlerClass = type("Handler", (Handler,), {"app": self.app})
        self.item_id = self.items.id_for(rel)
        self.app.tracker_id = self.item_id
        self.app.defer_saves = defer_saves
        if preload:
            self.app.warm(self.item_id)
        self.web_url = self.items.web_url(self.item_id)  # the Doc.aspx address the browser shows
        self.path_url = f"{LIBRARY}/{quote(rel)}"  # the library path of the file
        self.share_url = self.items.new_link(self.item_id)  # a 'Copy link' sharing link

    def __enter__(self):
        # a short poll interval: shutdown() waits up to one interval, and tests open many drives
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc):
        super().__exit__(*exc)
        self.flush()
        self._tmp.cleanup()

    def flush(self) -> None:
        """Save workbook changes not yet on disk (only ever pending with defer_saves=True)."""
        with self.state.lock:
            self.app._flush()

    @staticmethod
    def share_id(url: str) -> str:
        """The /shares/{id} form of a URL: u! + base64url, no padding."""
        return "u!" + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")

    # --- the drive, as a test sees it -----------------------------------------------------
    def folder(self, path: str) -> str:
        """Item id of a folder under the tracker's folder, made (with its parents) if missing."""
        with self.state.lock:
            where = self.home / path.strip("/")
            where.mkdir(parents=True, exist_ok=True)
            rel = where.resolve().relative_to(self.root).as_posix()
            return self.items.id_for("" if rel == "." else rel)

    def files(self, folder: str = "") -> dict[str, bytes]:
        """{relative name: bytes} of every file under a folder of the drive (the stand-in's own hidden)."""
        with self.state.lock:
            self.app._flush()
            top = self.home / folder
            return {p.relative_to(top).as_posix(): p.read_bytes() for p in sorted(top.rglob("*"))
                    if p.is_file() and not p.name.startswith((".~", "~$"))}

    def item(self, item_id: str | None = None) -> dict:
        """The driveItem JSON Graph would give now."""
        with self.state.lock:
            self.app._flush()
            return self.items.json(item_id or self.item_id)

    # --- sign-in ---------------------------------------------------------------------------
    def grant_device_code(self, user_code: str | None = None) -> int:
        """The user signs in at the device-login page: pending device codes are approved."""
        with self.state.lock:
            return self.app.grant(user_code)

    def decline_device_code(self, user_code: str | None = None) -> int:
        """The user declines at the device-login page."""
        with self.state.lock:
            return self.app.grant(user_code, "declined")

    def expire_access_tokens(self) -> None:
        """Every access token issued so far stops working (401 until msal refreshes)."""
        with self.state.lock:
            self.state.access_tokens.clear()

    def revoke_refresh_tokens(self, why: str = "refresh_revoked") -> None:
        """From now on every refresh_token grant is refused: refresh_revoked (AADSTS700082),
        interaction_required / mfa_required (AADSTS50076) or conditional_access (AADSTS53003)."""
        with self.state.lock:
            self.state.refresh_tokens.clear()
            self.state.refusal = REFUSALS[why]

    def session(self, token: str | None = None):
        """A requests session that trusts this stand-in's certificate (over REQUESTS_CA_BUNDLE, which
        requests would otherwise let win), with a Bearer token if given."""
        import requests

        ca = self.ca_bundle

        class Session(requests.Session):
            def request(self, *args, **kwargs):
                kwargs.setdefault("verify", ca)
                return super().request(*args, **kwargs)

        s = Session()
        if token:
            s.headers["Authorization"] = f"Bearer {token}"
        return s

    def token(self) -> str:
        """A live access token, issued without msal (for tests that talk to Graph directly)."""
        with self.state.lock:
            return self.app.entra._issue("Files.ReadWrite")["access_token"]

    def msal_app(self, token_cache=None):
        """A msal PublicClientApplication pointed at this stand-in (as the store should make one)."""
        import msal

        return msal.PublicClientApplication(self.client_id, authority=self.authority, token_cache=token_cache,
                                            http_client=self.session(), validate_authority=False,
                                            instance_discovery=False)

    def signed_in_cache(self, scopes=("Files.ReadWrite",)) -> str:
        """A serialised msal token cache holding a signed-in account (device code, approved at once)."""
        import msal

        cache = msal.SerializableTokenCache()
        app = self.msal_app(cache)
        with self.state.lock:
            was, self.state.auto_approve = self.state.auto_approve, True
        try:
            flow = app.initiate_device_flow(scopes=list(scopes))
            result = app.acquire_token_by_device_flow(flow)
        finally:
            self.state.auto_approve = was
        if "access_token" not in result:
            raise RuntimeError(f"stand-in sign-in failed: {result}")
        return cache.serialize()

    # --- what other people do to the file -------------------------------------------------
    def coauthor_edit(self, sheet: str, cell: str, value, when: str = "before_first_patch") -> None:
        """Another person's edit between the store's read and its write (see DriveState.coauthor_edit);
        when="now" makes it at once."""
        if when == "now":
            return self.edit(sheet, cell, value)
        self.state.coauthor_edit(sheet, cell, value, when)

    def edit(self, sheet: str, cell: str, value) -> None:
        """Change one cell now, as a person typing in Excel (the cTag moves on)."""
        with self.state.lock:
            self.app.edit(sheet, cell, value)

    def rename_sheet(self, old: str, new: str) -> None:
        """Someone renames a worksheet (its Graph id stays)."""
        with self.state.lock:
            book = self.app.book(self.item_id)
            book.sheet(old).title = new
            self.app.save(self.item_id, book)

    def delete_file(self) -> None:
        """Someone deletes the tracker: its id answers 404 itemNotFound."""
        with self.state.lock:
            self.items.delete(self.item_id)

    def move_file(self, folder: str) -> None:
        """Someone moves the tracker to another folder of the drive (relative to its root; the id stays)."""
        with self.state.lock:
            (self.root / folder.strip("/")).mkdir(parents=True, exist_ok=True)
            rel = self.items.rel(self.item_id)
            new = f"{folder.strip('/')}/{self.path.name}"
            os.replace(self.root / rel, self.root / new)
            self.items.moved(rel, new)
            self.items._meta(self.item_id)["mver"] += 1
            self.path = self.root / new

    def lock(self, locked: bool = True) -> None:
        """The file is checked out / locked: every write answers 423 resourceLocked."""
        with self.state.lock:
            self.state.locked = locked

    def deny(self, denied: bool = True) -> None:
        """The signed-in user loses access: every Graph request answers 403 accessDenied."""
        with self.state.lock:
            self.state.denied = denied

    def expire_sessions(self) -> None:
        """Every workbook session lapses (the next request with one gets the session error)."""
        with self.state.lock:
            for s in self.state.sessions.values():
                s["expires"] = 0.0

    def workbook(self):
        """The tracker as openpyxl reads it from disk now."""
        import openpyxl

        with self.state.lock:
            self.app._flush()
            return openpyxl.load_workbook(self.path)


@pytest.fixture
def graph_drive():
    """A factory: graph_drive(xlsx_path, **options) -> a running GraphDrive, closed after the test."""
    opened: list[GraphDrive] = []

    def make(xlsx_path, **options) -> GraphDrive:
        drive = GraphDrive(xlsx_path, **options)
        drive.__enter__()
        opened.append(drive)
        return drive

    yield make
    for drive in opened:
        drive.__exit__(None, None, None)
