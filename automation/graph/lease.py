"""One scheduler per SharePoint tracker: a lease file beside the tracker in its drive folder
("<tracker>.ofsted-tracker-lease.json": machine, renewed, expires), written with If-Match on its
eTag so two machines cannot both think they hold it. Renewed by every run that reads the tracker;
a second machine finding another's live lease is refused with one line (LeaseHeld, exit 11).
The lease is always beside the tracker where the drive says it is now: after a move, this machine's
lease is carried across (If-None-Match, so one taken there meanwhile wins) and the old one deleted."""

from __future__ import annotations

import json
import os
import socket
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from automation.errors import GraphNotFound, GraphPreconditionFailed, LeaseHeld
from automation.graph.client import raise_for

SUFFIX = ".ofsted-tracker-lease.json"
MACHINE_ENV = "OFSTED_TRACKER_MACHINE_NAME"  # names this machine in the lease (default: the host name)


def machine() -> str:
    return os.environ.get(MACHINE_ENV) or socket.gethostname()


def lease_name(tracker_name: str) -> str:
    return f"{Path(tracker_name).stem}{SUFFIX}"


def _local(identity: Path) -> Path:
    return identity.parent / "lease.json"  # this machine's note of the lease it last wrote (eTag, id, folder)


def hold(store, identity: Path, now: datetime, minutes: int) -> str:
    """Take or renew the lease for this machine beside the tracker where it is now; the line saying so.
    Raises LeaseHeld. Renewed once half its time has gone, so most runs spend no request on it; when
    the tracker was moved since this machine's last run, the lease is carried to its new folder."""
    parent = store.parent()  # from this run's item GET: a moved tracker's lease goes where it is now
    body = json.dumps({"machine": machine(), "renewed": now.isoformat(timespec="seconds"),
                       "expires": (now + timedelta(minutes=minutes)).isoformat(timespec="seconds"),
                       "tracker": store.name}, indent=1).encode()
    note = _note(identity)
    mine, renewed = note.get("etag", ""), _time(note.get("renewed"))
    moved = bool(note.get("parent")) and note["parent"] != parent
    if not moved and note.get("parent") and mine and renewed and now - renewed < timedelta(minutes=minutes / 2):
        return f"Lease on {store.name} held by {machine()} (renewed {renewed:%H:%M})."  # renewed at half-life
    if mine and not moved:
        try:
            return _put(store, identity, body, {"If-Match": mine}, "renewed", now, note)
        except (GraphPreconditionFailed, GraphNotFound):
            pass  # changed or removed since our last write: look at it
    done = "carried to the tracker's new folder" if moved else "taken"
    current = None if moved else _current(store)
    if current is None:
        try:  # If-None-Match: a lease already there (another machine took it since the move) is never replaced
            return _put(store, identity, body, {"If-None-Match": "*"}, done, now, note)
        except GraphPreconditionFailed:
            current = _current(store)  # another machine took it just now
            if current is None:
                raise
    etag, lease = current
    if lease.get("machine") != machine() and _live(lease, now):
        why = ("The tracker was moved to another folder since this machine's last run, and "
               if moved else "")
        raise LeaseHeld(f"{why}{store.name} is scheduled on {lease.get('machine')!r} (its lease, renewed "
                        f"{_when(lease.get('renewed'))}, runs until {_when(lease.get('expires'))}) — run it there "
                        f"only: one scheduler per tracker. To move the schedule, stop it there and run "
                        f"`ofsted-tracker graph release` on that machine (or wait until the lease ends).")
    try:
        return _put(store, identity, body, {"If-Match": etag},
                    "taken over" if lease.get("machine") != machine() else "renewed", now, note)
    except GraphPreconditionFailed:
        raise LeaseHeld(f"Another machine took the lease on {store.name} at this very moment — run it on one "
                        "machine only (one scheduler per tracker).")


def release(store, identity: Path) -> bool:
    """Give the lease up (this machine's only, beside the tracker where it is now); whether there was one."""
    store.parent()
    current = _current(store)
    if current is None or current[1].get("machine") != machine():
        note = _note(identity)  # the tracker moved since this machine's last run: its lease is in the old folder
        if not (note.get("id") and note.get("parent") != store.parent_id and _delete_old(store, note) < 300):
            return False
        _local(identity).unlink(missing_ok=True)
        return True
    raise_for(store.client.request("DELETE", _path(store), headers={"If-Match": current[0]}), f"Releasing the lease on {store.name}")
    _local(identity).unlink(missing_ok=True)
    return True


def _path(store) -> str:
    return f"drives/{store.drive_id}/items/{store.parent_id}:/{quote(lease_name(store.name))}"


def _put(store, identity: Path, body: bytes, headers: dict, done: str, now: datetime, note: dict) -> str:
    reply = store.client.request("PUT", f"{_path(store)}:/content", data=body,
                                 headers={"Content-Type": "application/json", **headers})
    raise_for(reply, f"Writing the lease on {store.name}")
    got = reply.json()
    local = _local(identity)
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_text(json.dumps({"etag": got.get("eTag", ""), "id": got.get("id", ""), "parent": store.parent_id,
                                 "renewed": now.isoformat()}), encoding="utf-8")
    line = f"Lease on {store.name} {done} by {machine()}."
    if note.get("id") and note["id"] != got.get("id"):
        line += _drop_old(store, note)
    return line


def _drop_old(store, note: dict) -> str:
    """Delete the lease this machine wrote where the tracker was before (moved or renamed since), only
    if it is still the one written (If-Match): never another machine's. Words for the run's line."""
    status = _delete_old(store, note)
    if status < 300 or status == 404:
        return " Its lease in the tracker's old folder was deleted."
    return (f" Its lease in the tracker's old folder was left there (SharePoint answered {status}); "
            "it lapses by itself.")


def _delete_old(store, note: dict) -> int:
    """DELETE this machine's earlier lease file by id, If-Match the eTag it wrote; the status."""
    return store.client.request("DELETE", f"drives/{store.drive_id}/items/{note['id']}",
                                headers={"If-Match": note.get("etag") or "*"}).status


def _current(store) -> tuple[str, dict] | None:
    """(eTag, lease) of the lease file on the drive, or None when there is none."""
    meta = store.client.request("GET", _path(store), params={"$select": "id,eTag"})
    if meta.status == 404:
        return None
    raise_for(meta, f"Reading the lease on {store.name}")
    got = store.client.request("GET", f"drives/{store.drive_id}/items/{meta.json()['id']}/content")
    raise_for(got, f"Reading the lease on {store.name}")
    try:
        lease = json.loads(got.body if isinstance(got.body, (bytes, str)) else json.dumps(got.body))
    except ValueError:
        lease = {}
    return meta.json().get("eTag", ""), lease if isinstance(lease, dict) else {}


def _note(identity: Path) -> dict:
    """This machine's note of its last lease write ({} without one): eTag, item id, the folder, when."""
    try:
        note = json.loads(_local(identity).read_text(encoding="utf-8"))
        return note if isinstance(note, dict) else {}
    except (OSError, ValueError):
        return {}


def _time(text) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except (TypeError, ValueError):
        return None


def _live(lease: dict, now: datetime) -> bool:
    try:
        return datetime.fromisoformat(lease["expires"]) > now
    except (KeyError, TypeError, ValueError):
        return False  # unreadable: treated as lapsed (it is rewritten with this machine's)


def _when(text) -> str:
    try:
        return f"{datetime.fromisoformat(text):%d/%m/%Y %H:%M}"
    except (TypeError, ValueError):
        return "at an unknown time"
