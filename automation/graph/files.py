"""Generated files beside a SharePoint tracker (edge): what the run makes locally under the
store's local folder (feedback forms, checklists, the oversight workbook, summaries) pushed
to the folder of the same relative name beside the tracker on the drive, and the forms
folders people edit there (forms, checklists) pulled back before the run reads or refreshes them.
Only what changed moves: a state file keeps each file's hash (local side) and the drive's eTag/cTag
(remote side). A file people edit is never replaced once it changed on SharePoint: it goes up with
If-Match on the eTag last seen, or (never seen) with conflictBehavior "fail", and when SharePoint's
copy won, that copy comes down instead. The tool's own output (oversight, summaries) is replaced."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from automation.config import Config
from automation.errors import GraphError, GraphForbidden, GraphNotFound, GraphPreconditionFailed, TrackerError
from automation.graph.client import raise_for
from automation.safefiles import file_in

SIMPLE_MAX = 4 * 1024 * 1024  # Graph's PUT .../content takes files up to 4 MiB; above that, an upload session
UNIT = 320 * 1024  # upload-session chunks must be a multiple of 320 KiB
CHUNK = 16 * UNIT  # 5 MiB: what Microsoft suggests (5-10 MiB), far below the 60 MiB cap
CONFLICT = "@microsoft.graph.conflictBehavior"
LISTED = "id,name,eTag,cTag,size,file"
STATE_SUFFIX = "sharepoint-files.json"
PAGE = 999  # children per listing page asked for (Graph may give fewer and a next link)


@dataclass
class Failure:
    """A file that did not move, and why (one line)."""

    path: str  # relative to the local folder, e.g. "forms/OFS-1 Acorn feedback form.xlsx"
    why: str


@dataclass
class Moved:
    """What a push or pull did."""

    done: list[str] = field(default_factory=list)  # relative paths uploaded / downloaded
    failed: list[Failure] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # not uploaded: SharePoint's copy (changed there) came down


class _Theirs(Exception):
    """The file on SharePoint is not the one this machine last saw (409 exists / 412 changed)."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class DriveFolder:
    """The tracker's folder on the drive, mirrored one way per file kind: the tool's files go
    up (replace), forms completed on SharePoint come down. `root` is the local folder that
    stands for the tracker's folder; `state` the JSON file remembering what moved."""

    def __init__(self, client, drive_id: str, parent_id: str, root: Path, state: Path, chunk: int = CHUNK):
        if chunk % UNIT:
            raise ValueError("upload chunks must be a multiple of 320 KiB")
        self.client, self.drive, self.parent = client, drive_id, parent_id
        self.root, self.state_path, self.chunk = Path(root), Path(state), chunk
        self.state = self._read_state()
        self.moved_from = ""  # the tracker's folder at the last run, when it has been moved since
        self._follow(parent_id)

    def _follow(self, parent_id: str) -> None:
        """The state is about the folder the tracker was in; moved since, it starts afresh beside it
        where it is now (every file goes up there; the old folder's files are left as they are)."""
        if not parent_id:  # not known yet (the skip check's listing): the state as it is
            return
        was = self.state.get("parent")
        if was and was != parent_id:
            self.moved_from = was
            self.state = {"files": {}, "folders": {}}
        if was != parent_id:
            self.state["parent"] = parent_id
            self._save_state()

    # ---- state ------------------------------------------------------------------------
    def _read_state(self) -> dict:
        try:
            data = json.loads(self.state_path.read_text(encoding="utf-8"))
            if isinstance(data.get("files"), dict) and isinstance(data.get("folders"), dict):
                return data
        except (OSError, ValueError, AttributeError):
            pass  # missing or unreadable: everything is pushed once more, nothing is lost
        return {"files": {}, "folders": {}}

    def _save_state(self) -> None:
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_name(self.state_path.name + ".tmp")
        tmp.write_text(json.dumps(self.state, indent=1, sort_keys=True), encoding="utf-8")
        tmp.replace(self.state_path)

    def rel(self, path: Path) -> str:
        """A local file's path relative to the local folder, as the drive names it."""
        return Path(path).resolve().relative_to(self.root.resolve()).as_posix()

    # ---- push -------------------------------------------------------------------------
    def changed(self, paths) -> list[Path]:
        """The files that differ from what was last pushed (or were never pushed)."""
        out = []
        for p in paths:
            entry = self.state["files"].get(self.rel(p))
            st = p.stat()
            if entry and entry.get("pushed") and entry.get("size") == st.st_size:
                if entry.get("mtime_ns") == st.st_mtime_ns:
                    continue
                if entry.get("sha256") == _sha256(p):  # rewritten with the same bytes (e.g. fetched)
                    entry["mtime_ns"] = st.st_mtime_ns
                    continue
            out.append(p)
        return out

    def push(self, paths, edited=lambda rel: False) -> Moved:
        """Upload each file that changed since its last push, to the same relative folder
        beside the tracker (made if missing); a failure stays "not pushed" for the next run.
        `edited(rel)`: a file people edit there, which never replaces a copy changed on SharePoint."""
        moved = Moved()
        todo = self.changed(list(paths))
        for i, p in enumerate(todo):
            rel = self.rel(p)
            st = p.stat()
            last = self.state["files"].get(rel) or {}
            seen = {k: last[k] for k in ("id", "eTag", "cTag") if last.get(k)}  # as last seen on SharePoint
            entry = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": _sha256(p), "pushed": False, **seen}
            guard = ({"If-Match": seen["eTag"]} if seen.get("eTag") else {CONFLICT: "fail"}) if edited(rel) else {}
            try:
                item = self._guarded(rel, p, st.st_size, guard)
                if item is None:  # SharePoint's copy came down instead (state recorded by the download)
                    moved.kept.append(rel)
                    continue
            except (TrackerError, OSError) as exc:  # Graph's refusal (GraphLocked is a WorkbookLocked), a local read
                entry["error"] = str(exc)
                moved.failed.append(Failure(rel, str(exc)))
                self.state["files"][rel] = entry
                self._save_state()
                if _about_graph(exc):  # SharePoint busy, unreachable or the sign-in gone: not file by file
                    why = f"not tried: the upload before it failed ({exc})"
                    moved.failed += [Failure(self.rel(q), why) for q in todo[i + 1:]]
                    break
                continue
            else:
                entry.update(pushed=True, id=item.get("id"), eTag=item.get("eTag"), cTag=item.get("cTag"))
                moved.done.append(rel)
            self.state["files"][rel] = entry
            self._save_state()  # after each file: a run cut short still knows what went
        return moved

    def _upload(self, rel: str, path: Path, size: int, guard: dict) -> dict:
        folder, name = str(PurePosixPath(rel).parent), PurePosixPath(rel).name
        parent = self.folder_id(folder, create=True)
        try:
            return self._send(parent, name, path, size, guard)
        except GraphNotFound:  # the folder was deleted or moved since it was remembered: find or make it again
            self.state["folders"].pop(folder, None)
            return self._send(self.folder_id(folder, create=True), name, path, size, guard)

    def _send(self, parent: str, name: str, path: Path, size: int, guard: dict) -> dict:
        """Upload one file; guard: {} (replace), {CONFLICT: "fail"} (only if new) or {"If-Match": eTag}.
        Raises _Theirs when SharePoint's copy is not the one last seen."""
        where, what = f"drives/{self.drive}/items/{parent}:/{quote(name)}:", f"uploading {name}"
        behaviour = guard.get(CONFLICT, "replace")
        match = {"If-Match": guard["If-Match"]} if "If-Match" in guard else {}
        if size <= SIMPLE_MAX:
            reply = self.client.request("PUT", f"{where}/content", params={CONFLICT: behaviour}, data=path.read_bytes(),
                                        headers={"Content-Type": "application/octet-stream", **match})
            return _mine(reply, what, bool(guard)).json()
        made = _mine(self.client.request("POST", f"{where}/createUploadSession", headers=match,
                                         json={"item": {CONFLICT: behaviour}}), what, bool(guard)).json()
        return self._chunks(made["uploadUrl"], path, size, what, bool(guard))

    def _guarded(self, rel: str, path: Path, size: int, guard: dict) -> dict | None:
        """The driveItem uploaded, or None when SharePoint's copy won and came down over this machine's."""
        try:
            return self._upload(rel, path, size, guard)
        except _Theirs:
            pass
        try:
            self._take_theirs(rel, path)
            return None
        except GraphNotFound:  # changed there, then deleted: this machine's copy goes up, as a new file
            if "If-Match" not in guard:
                raise
        return self._guarded(rel, path, size, {CONFLICT: "fail"})

    def _take_theirs(self, rel: str, path: Path) -> None:
        """SharePoint's copy of a file people edit, over this machine's (which is not uploaded)."""
        folder, name = str(PurePosixPath(rel).parent), PurePosixPath(rel).name
        reply = self.client.request("GET", f"drives/{self.drive}/items/{self.folder_id(folder)}:/{quote(name)}",
                                    params={"$select": LISTED}, what=f"finding {name} on SharePoint")
        self._fetch(reply.json(), path, rel)

    def _chunks(self, url: str, path: Path, size: int, what: str, guarded: bool = False) -> dict:
        """PUT the file to the upload session in chunks (no Authorization header: the URL is
        the credential); the last answer is the driveItem."""
        start = 0
        with open(path, "rb") as fh:
            for _ in range(size // self.chunk + 8):  # a few chunks asked for again at most, never an endless loop
                fh.seek(start)
                data = fh.read(self.chunk)
                end = start + len(data) - 1
                reply = self.client.request("PUT", url, data=data, auth=False, what=what,
                                            headers={"Content-Range": f"bytes {start}-{end}/{size}",
                                                     "Content-Length": str(len(data))})
                if reply.status in (200, 201):
                    return reply.json()
                _mine(reply, what, guarded)  # a conflict at the end (the file exists / changed there) or a refusal
                ranges = reply.json().get("nextExpectedRanges") or [f"{end + 1}-"]
                start = int(str(ranges[0]).split("-")[0])
                if start >= size:
                    break
        raise GraphError(f"the upload session for {path.name} did not finish (it asked for {ranges}) — the next "
                         "run uploads the file again.")

    def folder_id(self, rel_dir: str, create: bool = False) -> str | None:
        """The drive item id of a folder beside the tracker ("." is the tracker's own folder);
        made level by level when create, else None when it is not there."""
        if rel_dir in ("", "."):
            return self.parent
        known = self.state["folders"].get(rel_dir)
        if known:
            return known
        parent = self.folder_id(str(PurePosixPath(rel_dir).parent), create)
        if parent is None:
            return None
        name = PurePosixPath(rel_dir).name
        reply = self.client.request("GET", f"drives/{self.drive}/items/{parent}:/{quote(name)}",
                                    params={"$select": "id,folder"})
        if reply.status == 404 and not create:
            return None
        if reply.status == 404:
            item = self._make_folder(parent, name)
        else:
            item = raise_for(reply, f"finding the folder {rel_dir}").json()
        self.state["folders"][rel_dir] = item["id"]
        self._save_state()
        return item["id"]

    def _make_folder(self, parent: str, name: str) -> dict:
        reply = self.client.request("POST", f"drives/{self.drive}/items/{parent}/children",
                                    json={"name": name, "folder": {}, CONFLICT: "fail"})
        if reply.status == 409:  # made by someone else a moment ago: use theirs
            reply = self.client.request("GET", f"drives/{self.drive}/items/{parent}:/{quote(name)}",
                                        params={"$select": "id"})
        return raise_for(reply, f"making the folder {name} beside the tracker").json()

    # ---- pull -------------------------------------------------------------------------
    def listing(self, rel_dir: str) -> list[dict] | None:
        """The files in a folder beside the tracker (None: no such folder)."""
        fid = self.folder_id(rel_dir)
        if fid is None:
            return None
        try:
            return self._children(fid)
        except GraphNotFound:
            self.state["folders"].pop(rel_dir, None)
            fid = self.folder_id(rel_dir)
            return None if fid is None else self._children(fid)

    def _children(self, fid: str) -> list[dict]:
        out: list[dict] = []
        url, params = f"drives/{self.drive}/items/{fid}/children", {"$select": LISTED, "$top": str(PAGE)}
        while url:
            page = self.client.request("GET", url, params=params, what="listing the files beside the tracker").json()
            out += page.get("value", [])
            url, params = page.get("@odata.nextLink"), None  # the next link carries its own query
        return out

    def pull(self, local: Path, suffix: str = ".xlsx") -> Moved:
        """Download the files of the folder beside the tracker whose content changed there
        (cTag) since they were last seen, over the local copies. Raises GraphError when the
        folder cannot be listed; a file that cannot be fetched is a Failure."""
        moved = Moved()
        rel_dir = self.rel(local) if Path(local).resolve() != self.root.resolve() else "."
        items = self.listing(rel_dir)
        for item in items or []:
            name = item.get("name", "")
            if "file" not in item or not name.lower().endswith(suffix) or name.startswith("~$"):
                continue  # a subfolder, an Excel lock file, something that is not a form
            rel = f"{rel_dir}/{name}" if rel_dir != "." else name
            entry = self.state["files"].get(rel)
            if entry and entry.get("cTag") == item.get("cTag") and (Path(local) / name).exists():
                continue
            try:
                self._fetch(item, file_in(local, name), rel)
            except (TrackerError, OSError) as exc:
                moved.failed.append(Failure(rel, str(exc)))
                continue
            moved.done.append(rel)
        return moved

    def _fetch(self, item: dict, dest: Path, rel: str) -> None:
        """Download a driveItem over the local file and remember it as SharePoint has it."""
        name = item.get("name", dest.name)
        data = self.client.request("GET", f"drives/{self.drive}/items/{item['id']}/content",
                                   what=f"downloading {name}").body
        if not isinstance(data, bytes):
            raise GraphError(f"downloading {name}: SharePoint answered without the file's content — "
                             "the next run tries again.")
        _write_atomic(dest, data)
        st = dest.stat()  # as if pushed: the same bytes as SharePoint's, so they never go back up
        self.state["files"][rel] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "pushed": True,
                                    "sha256": hashlib.sha256(data).hexdigest(), "id": item["id"],
                                    "eTag": item.get("eTag"), "cTag": item.get("cTag")}
        self._save_state()


def _mine(reply, what: str, guarded: bool):
    """The reply of an upload; for a guarded one, _Theirs when the file exists there (409
    nameAlreadyExists, "fail") or changed there (412 on If-Match); else the mapped error."""
    if guarded and (reply.status == 412 or (reply.status == 409 and "namealreadyexists" in str(reply.body).lower())):
        raise _Theirs(what)
    return raise_for(reply, what)


def _about_graph(exc: Exception) -> bool:
    """A failure of Graph itself (busy beyond max_wait, unreachable, cut, signed out), not of one
    file (missing folder, no access to it, locked, checked out): the other files would only wait too."""
    return isinstance(exc, GraphError) and not isinstance(exc, (GraphNotFound, GraphForbidden, GraphPreconditionFailed))


def _write_atomic(dest: Path, data: bytes) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".~{dest.name}")
    tmp.write_bytes(data)
    os.replace(tmp, dest)


def state_file(identity: Path, cfg: Config) -> Path:
    """What was pushed and pulled, kept in the tracker's state folder on this machine."""
    return cfg.resolve(identity, cfg.state_dir) / f"{identity.stem}.{STATE_SUFFIX}"


def drive_folder(store, cfg: Config) -> DriveFolder:
    """The folder of a SharePoint tracker (a GraphWorkbookStore) on its drive, mirrored under
    the local folder that stands for it (beside the store's identity)."""
    identity = Path(store.identity)  # locates the item: client, drive and parent ids are known after it
    return DriveFolder(store.client, store.drive_id, store.parent_id, identity.parent, state_file(identity, cfg))


def forms_listing_request(store, cfg: Config) -> dict | None:
    """For a GraphWorkbookStore's unchanged-run check ($batch): the forms folder's listing
    (None until a run has found or made that folder), so a form completed on SharePoint
    breaks the skip."""
    drive = drive_folder(store, cfg)
    try:
        rel = drive.rel(cfg.resolve(Path(store.identity), cfg.forms_dir))
    except ValueError:  # an absolute forms folder elsewhere: not on SharePoint
        return None
    fid = drive.state["folders"].get(rel)
    if not fid:
        return None
    return {"id": "forms", "method": "GET",
            "url": f"/drives/{drive.drive}/items/{fid}/children?$select=name,cTag&$top={PAGE}"}


def forms_version(body: dict | None) -> list:
    """What the fingerprint keeps of the forms folder's listing ([] when it is missing)."""
    if not isinstance(body, dict):
        return []
    if body.get("@odata.nextLink"):  # more forms than one page shows: a change may be on the next one, so never skip
        return [["more than one page", os.urandom(8).hex()]]
    return sorted([str(i.get("name", "")), str(i.get("cTag", ""))] for i in body.get("value", []))
