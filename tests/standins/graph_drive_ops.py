"""The drive operations of the Graph drive stand-in (items, content, simple upload, children,
folders, upload sessions), as a mixin of its app: `self.items`, `self.state`, `self.base`, `self._flush`."""

from __future__ import annotations

import os
import secrets
import time
from urllib.parse import urlencode, urlparse

from tests.standins.graph_http import FAULTS, Reply, error, json_body, select
from tests.standins.graph_workbook import GraphError

CHUNK_UNIT = 320 * 1024
MAX_CHUNK = 60 * 1024 * 1024
SIMPLE_UPLOAD_LIMIT = 4 * 1024 * 1024


class DriveOps:
    """GET/PUT/PATCH/DELETE on driveItems and upload sessions."""

    def _if_match(self, headers, item_id: str) -> None:
        """If-Match with a stale eTag/cTag: 412, as Graph answers a write based on an old read."""
        wanted = headers.get("if-match")
        if wanted and wanted != "*":
            now = self.items.json(item_id, {"eTag", "cTag"})
            if wanted not in now.values():
                raise GraphError(412, "preconditionFailed", "The resource has changed since it was last read "
                                 f"(If-Match {wanted}, now {now['eTag']}).")

    def _drive(self, method, op, base, sub, query, headers, body) -> Reply:
        items = self.items
        sel = select(query)
        if method in ("PUT", "PATCH", "DELETE") and op in ("item", "content"):
            existing = items.find(base, sub) if sub is not None else items.rel(base)
            if existing is not None:
                self._if_match(headers, items.id_for(existing))
                if headers.get("if-none-match") == "*":
                    raise GraphError(412, "preconditionFailed", "The item already exists (If-None-Match: *).")
            elif headers.get("if-match"):  # HTTP: If-Match on something that does not exist fails too
                raise GraphError(412, "preconditionFailed", "The item If-Match names does not exist.")
        if op == "item":
            item_id = items.lookup(base, sub) if sub is not None else base
            items.rel(item_id)
            if method == "GET":
                return Reply(200, items.json(item_id, sel))
            if method == "DELETE":
                items.delete(item_id)
                return Reply(204)
            if method == "PATCH":
                return Reply(200, items.json(self._patch_item(item_id, json_body(body))))
        if op == "content" and method == "GET":
            item_id = items.lookup(base, sub) if sub is not None else base
            if items.path(item_id).is_dir():
                raise GraphError(400, "notAllowed", "A folder has no content.")
            return Reply(302, None, {"Location": items.download_url(item_id)})
        if op == "content" and method == "PUT":
            if len(body) > SIMPLE_UPLOAD_LIMIT:
                raise GraphError(413, "requestEntityTooLarge", "Simple upload is for files up to 4 MiB; "
                                 "use an upload session.")
            behaviour = query.get("@microsoft.graph.conflictBehavior", "replace")
            if sub is None:  # PUT /items/{id}/content replaces that file's content
                rel = items.rel(base)
                parent, name = (rel.rsplit("/", 1) if "/" in rel else ("", rel))
                behaviour = "replace"
            else:
                parent, name = items.target(base, sub)
            status, item_id = items.write(parent, name, body, behaviour)
            return Reply(status, items.json(item_id))
        if op == "children" and method == "GET":
            folder = items.lookup(base, sub) if sub is not None else base
            return Reply(200, self._children(folder, query))
        if op == "children" and method == "POST":
            folder = items.lookup(base, sub) if sub is not None else base
            spec = json_body(body)
            if "folder" not in spec or not spec.get("name"):
                raise GraphError(400, "invalidRequest", "The stand-in makes folders only: name and folder are needed.")
            status, item_id = items.mkdir(items.rel(folder), spec["name"],
                                          spec.get("@microsoft.graph.conflictBehavior", "fail"))
            return Reply(status, items.json(item_id))
        if op == "createUploadSession" and method == "POST":
            return self._new_upload(base, sub, json_body(body))
        raise GraphError(405, "notSupported", f"{method} is not served for {op}.")

    def _patch_item(self, item_id: str, spec: dict) -> str:
        items = self.items
        rel = items.rel(item_id)
        parent = rel.rsplit("/", 1)[0] if "/" in rel else ""
        if "parentReference" in spec:
            parent = items.rel(spec["parentReference"]["id"])
        name = spec.get("name") or rel.rsplit("/", 1)[-1]
        new = f"{parent}/{name}" if parent else name
        if new != rel:
            if (items.root / new).exists():
                raise GraphError(409, "nameAlreadyExists", f"The specified item name already exists. ({name})")
            os.replace(items.root / rel, items.root / new)
            items.moved(rel, new)
            items._meta(item_id)["mver"] += 1
        return item_id

    def _children(self, folder: str, query: dict) -> dict:
        rel = self.items.rel(folder)
        if not (self.items.root / rel).is_dir():
            raise GraphError(400, "notAllowed", "The item is not a folder.")
        kids = self.items.listing(rel)
        start = int(query.get("$skiptoken", 0))
        size = int(query.get("$top", self.state.page_size))
        page = kids[start:start + size]
        out = {"value": [self.items.json(self.items.id_for(k), select(query)) for k in page]}
        if start + size < len(kids):
            q = dict(query) | {"$skiptoken": str(start + size)}
            out["@odata.nextLink"] = (f"{self.base}/v1.0/drives/{self.items.drive_id}/items/{folder}/children?"
                                      + urlencode(q))
        return out

    def _download(self, path: str) -> Reply:
        self.state.requests.append("GET download")
        self._flush()
        item_id = path[len("/download/"):]
        p = self.items.path(item_id)
        return Reply(200, p.read_bytes(), {"Content-Type": "application/octet-stream"})

    # --- upload sessions ------------------------------------------------------------------
    def _new_upload(self, base, sub, spec) -> Reply:
        if sub is None:
            rel = self.items.rel(base)
            parent, name = rel.rsplit("/", 1) if "/" in rel else ("", rel)
        else:
            parent, name = self.items.target(base, sub)
        item = spec.get("item") or {}
        uid = secrets.token_urlsafe(18)
        expires = time.time() + 15 * 60
        self.state.uploads[uid] = {"parent": parent, "name": item.get("name") or name, "data": bytearray(),
                                   "behaviour": item.get("@microsoft.graph.conflictBehavior", "replace"),
                                   "expires": expires, "total": None}
        return Reply(200, {"uploadUrl": f"{self.base}/upload/{uid}?tempauth={secrets.token_urlsafe(24)}",
                           "expirationDateTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(expires)),
                           "nextExpectedRanges": ["0-"]})

    def _upload(self, method, target, headers, body) -> Reply:
        uid = urlparse(target).path[len("/upload/"):]
        kind = f"{method} uploadSession"
        self.state.requests.append(kind)
        up = self.state.uploads.get(uid)
        if up is None or up["expires"] < time.time():
            return error(404, "itemNotFound", "The upload session does not exist or has expired.")
        if "authorization" in headers:  # the upload URL carries its own authorisation; Graph refuses a token
            return error(401, "unauthenticated", "The uploadUrl must be called without an Authorization header.")
        fault = self._take_fault(kind, "upload")
        if fault and fault[0] == "session_expired":  # the upload session lapsed: start again
            del self.state.uploads[uid]
            return error(404, "itemNotFound", "The upload session does not exist or has expired.")
        if fault:
            early = self._fault_reply(fault, None)
            if early is not None:
                return early
        if self.state.locked:
            return error(423, *FAULTS[423])
        reply = self._upload_op(method, uid, up, headers, body)
        reply.cut = bool(fault and fault[0] == "cut_after_apply")  # the fragment is kept; the answer is lost
        return reply

    def _upload_op(self, method, uid, up, headers, body) -> Reply:
        if method == "DELETE":
            del self.state.uploads[uid]
            return Reply(204)
        if method == "GET":
            return Reply(200, self._upload_status(up))
        if method != "PUT":
            return error(405, "notSupported", f"{method} on an upload URL")
        try:
            unit, _, span = headers.get("content-range", "").partition(" ")
            first_last, _, total = span.partition("/")
            first, _, last = first_last.partition("-")
            first, last, total = int(first), int(last), int(total)
        except ValueError:
            return error(400, "invalidRange", "Content-Range must be 'bytes first-last/total'.")
        size = last - first + 1
        if unit != "bytes" or size != len(body) or last >= total:
            return error(400, "invalidRange", f"Content-Range {headers.get('content-range')!r} does not match "
                          f"the {len(body)} bytes sent.")
        if first != len(up["data"]):
            return error(416, "invalidRange", f"Expected the fragment starting at byte {len(up['data'])}.")
        if size > MAX_CHUNK or (last + 1 < total and size % CHUNK_UNIT):
            return error(400, "invalidRange", "Each fragment but the last must be a multiple of 320 KiB, under 60 MiB.")
        if up["total"] not in (None, total):
            return error(400, "invalidRange", "The total size changed between fragments.")
        up["total"] = total
        up["data"] += body
        if len(up["data"]) < total:
            return Reply(202, self._upload_status(up))
        del self.state.uploads[uid]
        status, item_id = self.items.write(up["parent"], up["name"], bytes(up["data"]), up["behaviour"])
        return Reply(status, self.items.json(item_id))

    @staticmethod
    def _upload_status(up) -> dict:
        return {"expirationDateTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(up["expires"])),
                "nextExpectedRanges": [f"{len(up['data'])}-"]}

    # --- workbook -------------------------------------------------------------------------
