"""The drive half of the Graph drive stand-in: driveItems over a real folder on disk (ids that
survive renames and moves, eTag/cTag that change when content changes, SharePoint-like web URLs
and the /shares links that resolve to them)."""

from __future__ import annotations

import base64
import mimetypes
import os
import re
import secrets
import shutil
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlparse

from tests.standins.graph_workbook import GraphError

SITE = "https://contoso.sharepoint.com/sites/Safeguarding"
LIBRARY = f"{SITE}/Shared%20Documents"
HIDDEN = (".~", "~$")  # the stand-in's own save files, and Office's lock files


def _new_id() -> str:
    return "01" + base64.b32encode(secrets.token_bytes(20)).decode()[:32]


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def signature(path: Path):
    """What tells that a file's content changed on disk (by us or by a test)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def not_found(what: str = "item") -> GraphError:
    return GraphError(404, "itemNotFound", f"The resource could not be found. ({what})")


class Items:
    """driveItems for the files and folders under `root`; ids are kept by relative path."""

    def __init__(self, root: Path, drive_id: str, user: str, base: str):
        self.root, self.drive_id, self.user, self.base = root, drive_id, user, base
        self.ids: dict[str, str] = {"": _new_id()}
        self.rels: dict[str, str] = {self.ids[""]: ""}
        self.meta: dict[str, dict] = {}
        self.links: dict[str, str] = {}  # sharing-link URL (no query) -> item id

    @property
    def root_id(self) -> str:
        return self.ids[""]

    def id_for(self, rel: str) -> str:
        """The item id of an existing path, made on first sight."""
        if rel not in self.ids:
            self.ids[rel] = _new_id()
            self.rels[self.ids[rel]] = rel
        return self.ids[rel]

    def rel(self, item_id: str) -> str:
        """The relative path of a live item; 404 itemNotFound if it is gone."""
        rel = self.rels.get(item_id)
        if rel is None or not (self.root / rel).exists():
            raise not_found(f"item {item_id}")
        return rel

    def path(self, item_id: str) -> Path:
        return self.root / self.rel(item_id)

    def find(self, base_id: str, sub: str) -> str | None:
        """Rel path of base + sub, matching names case-insensitively as SharePoint does; None if absent."""
        rel = self.rel(base_id)
        for part in [p for p in sub.split("/") if p]:
            here = self.root / rel
            if not here.is_dir():
                return None
            match = next((c.name for c in here.iterdir() if c.name.casefold() == part.casefold()), None)
            if match is None:
                return None
            rel = f"{rel}/{match}" if rel else match
        return rel

    def lookup(self, base_id: str, sub: str) -> str:
        """Item id of base + sub; 404 itemNotFound if absent."""
        rel = self.find(base_id, sub)
        if rel is None:
            raise not_found(f"path {sub!r}")
        return self.id_for(rel)

    def target(self, base_id: str, sub: str) -> tuple[str, str]:
        """(parent rel, file name) for a path that may not exist yet (uploads)."""
        parts = [p for p in sub.split("/") if p]
        if not parts:
            raise GraphError(400, "invalidRequest", "A file name is needed.")
        parent = self.rel(base_id)
        for part in parts[:-1]:
            found = self.find(self.id_for(parent), part)
            if found is None:
                found = f"{parent}/{part}" if parent else part
                (self.root / found).mkdir()  # Graph makes the missing folders of a path upload
            parent = found
        existing = self.find(self.id_for(parent), parts[-1])
        return parent, (existing.rsplit("/", 1)[-1] if existing else parts[-1])

    def content_changed(self, item_id: str) -> None:
        """Our own write: the cTag (and eTag) move on."""
        m = self._meta(item_id)
        m["cver"] += 1
        m["sig"] = signature(self.path(item_id))

    def _meta(self, item_id: str) -> dict:
        p = self.root / self.rels[item_id]
        m = self.meta.setdefault(item_id, {"guid": str(uuid.uuid4()).upper(), "sig": signature(p), "cver": 1,
                                           "mver": 0, "created": time.time()})
        if p.is_file():
            cur = signature(p)
            if cur != m["sig"]:  # changed on disk by a test: that is a content change too
                m["cver"] += 1
                m["sig"] = cur
        return m

    def web_url(self, item_id: str) -> str:
        """Office files open in the browser (Doc.aspx); other files and folders by path."""
        rel = self.rels[item_id]
        if rel.lower().endswith((".xlsx", ".xlsm", ".docx", ".pptx")):
            guid = self._meta(item_id)["guid"]
            return (f"{SITE}/_layouts/15/Doc.aspx?sourcedoc=%7B{guid}%7D&file={quote(rel.rsplit('/', 1)[-1])}"
                    f"&action=default&mobileredirect=true")
        return f"{LIBRARY}/{quote(rel)}" if rel else LIBRARY

    def json(self, item_id: str, select: set[str] | None = None) -> dict:
        """A driveItem body (narrowed by $select)."""
        rel = self.rel(item_id)
        p = self.root / rel
        m = self._meta(item_id)
        parent_rel = rel.rsplit("/", 1)[0] if "/" in rel else ""
        who = {"user": {"displayName": "Stand-in Officer", "email": self.user}}
        body = {"id": item_id, "name": p.name if rel else "root",
                "eTag": f'"{{{m["guid"]}}},{m["cver"] + m["mver"]}"', "cTag": f'"c:{{{m["guid"]}}},{m["cver"]}"',
                "size": p.stat().st_size if p.is_file() else sum(f.stat().st_size for f in p.rglob("*") if f.is_file()),
                "createdDateTime": _iso(m["created"]), "lastModifiedDateTime": _iso(p.stat().st_mtime),
                "webUrl": self.web_url(item_id), "createdBy": who, "lastModifiedBy": who}
        if rel:
            body["parentReference"] = {"driveType": "documentLibrary", "driveId": self.drive_id,
                                       "id": self.id_for(parent_rel),
                                       "path": f"/drives/{self.drive_id}/root:" + (f"/{parent_rel}" if parent_rel else "")}
        else:
            body["root"] = {}
            body["parentReference"] = {"driveType": "documentLibrary", "driveId": self.drive_id}
        if p.is_dir():
            body["folder"] = {"childCount": len(self.listing(rel))}
        else:
            body["file"] = {"mimeType": mimetypes.guess_type(p.name)[0] or "application/octet-stream"}
            body["@microsoft.graph.downloadUrl"] = self.download_url(item_id)
        return {k: v for k, v in body.items() if k in select} if select else body

    def download_url(self, item_id: str) -> str:
        """A short-lived, pre-authorised URL for the content (no Authorization header needed)."""
        return f"{self.base}/download/{item_id}?tempauth={secrets.token_urlsafe(12)}"

    def listing(self, rel: str) -> list[str]:
        """Rel paths of a folder's children, by name, without hidden files."""
        here = self.root / rel
        return [f"{rel}/{c.name}" if rel else c.name for c in sorted(here.iterdir(), key=lambda c: c.name.lower())
                if not c.name.startswith(HIDDEN)]

    def share(self, share_id: str) -> str:
        """The item a /shares/{id} names (u! + base64url of a sharing link or web URL)."""
        if not share_id.startswith("u!"):
            raise GraphError(400, "invalidRequest", "The share id is not in the u!<base64url> form.")
        raw = share_id[2:]
        try:
            url = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        except (ValueError, UnicodeDecodeError):
            raise GraphError(400, "invalidRequest", "The share id does not decode to a URL.")
        u = urlparse(url)
        plain = f"{u.scheme}://{u.netloc}{u.path}"
        if plain in self.links:
            return self.links[plain]
        if u.path.endswith("/_layouts/15/Doc.aspx"):
            guid = parse_qs(u.query).get("sourcedoc", [""])[0].strip("{}").upper()
            for item_id, m in list(self.meta.items()):
                if m["guid"] == guid and item_id in self.rels and (self.root / self.rels[item_id]).exists():
                    return item_id
            raise not_found("sharing link")
        path = re.sub(r"/:[a-z]:/r/", "/", unquote(u.path))  # the ':x:/r/' form of a browser link
        lib = unquote(urlparse(LIBRARY).path)
        if u.netloc == urlparse(LIBRARY).netloc and (path == lib or path.startswith(lib + "/")):
            return self.lookup(self.root_id, path[len(lib):])
        raise not_found("sharing link")

    def new_link(self, item_id: str) -> str:
        """A sharing link ('Copy link') for an item, that /shares resolves."""
        url = f"https://contoso.sharepoint.com/:x:/s/Safeguarding/E{secrets.token_urlsafe(30)}"
        self.links[url] = item_id
        return url + "?e=" + secrets.token_urlsafe(4)

    def moved(self, old_rel: str, new_rel: str) -> None:
        """Keep ids across a rename or move (of a folder: all it holds too)."""
        for rel in sorted(self.ids, key=len):
            if rel == old_rel or rel.startswith(old_rel + "/"):
                item_id = self.ids.pop(rel)
                nrel = new_rel + rel[len(old_rel):]
                self.ids[nrel] = item_id
                self.rels[item_id] = nrel

    def delete(self, item_id: str) -> None:
        """Delete the file or folder from disk; its id (and those under it) stop resolving."""
        p = self.path(item_id)
        shutil.rmtree(p) if p.is_dir() else p.unlink()

    def write(self, parent_rel: str, name: str, data: bytes, behavior: str) -> tuple[int, str]:
        """Create or replace a file per conflictBehavior; (201 new / 200 replaced, item id)."""
        rel = f"{parent_rel}/{name}" if parent_rel else name
        path = self.root / rel
        exists = path.exists()
        if exists and behavior == "fail":
            raise GraphError(409, "nameAlreadyExists", f"The specified item name already exists. ({name})")
        if exists and path.is_dir():
            raise GraphError(409, "nameAlreadyExists", f"A folder of that name exists. ({name})")
        if exists and behavior == "rename":
            stem, dot, ext = name.rpartition(".") if "." in name else (name, "", "")
            n = 1
            while (self.root / parent_rel / f"{stem} {n}{dot}{ext}").exists():
                n += 1
            return self.write(parent_rel, f"{stem} {n}{dot}{ext}", data, "fail")
        tmp = path.with_name(".~upload-" + name)
        tmp.write_bytes(data)
        os.replace(tmp, path)
        item_id = self.id_for(rel)
        if exists:
            self.content_changed(item_id)
        else:
            self._meta(item_id)
        return (200 if exists else 201), item_id

    def mkdir(self, parent_rel: str, name: str, behavior: str) -> tuple[int, str]:
        """POST children with a folder facet; (201, id) or 409 per conflictBehavior."""
        rel = f"{parent_rel}/{name}" if parent_rel else name
        if (self.root / rel).exists():
            if behavior == "fail":
                raise GraphError(409, "nameAlreadyExists", f"The specified item name already exists. ({name})")
            if behavior == "rename":
                n = 1
                while (self.root / f"{rel} {n}").exists():
                    n += 1
                rel = f"{rel} {n}"
            else:
                return 200, self.id_for(rel)
        (self.root / rel).mkdir()
        return 201, self.id_for(rel)
