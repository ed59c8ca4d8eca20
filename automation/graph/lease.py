"""One scheduler per SharePoint tracker: a lease file beside the tracker in its drive folder
("<tracker>.ofsted-tracker-lease.json": machine, renewed, expires), written with If-Match on its
eTag so two machines cannot both think they hold it. Renewed by every run that reads the tracker;
a second machine finding another's live lease is refused with one line (LeaseHeld, exit 11)."""

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
    return identity.parent / "lease.json"  # this machine's note of the eTag it last wrote


def hold(store, identity: Path, now: datetime, minutes: int) -> str:
    """Take or renew the lease for this machine; the line saying so. Raises LeaseHeld. Renewed once
    half its time has gone, so most runs spend no request on it."""
    if not store.parent_id:
        store.fetch_item()  # the folder the lease file lives in
    body = json.dumps({"machine": machine(), "renewed": now.isoformat(timespec="seconds"),
                       "expires": (now + timedelta(minutes=minutes)).isoformat(timespec="seconds"),
                       "tracker": store.name}, indent=1).encode()
    mine, renewed = _mine(identity)
    if mine and renewed and now - renewed < timedelta(minutes=minutes / 2):
        return f"Lease on {store.name} held by {machine()} (renewed {renewed:%H:%M})."  # renewed at half-life
    if mine:
        try:
            return _put(store, identity, body, {"If-Match": mine}, "renewed", now)
        except (GraphPreconditionFailed, GraphNotFound):
            pass  # changed or removed since our last write: look at it
    current = _current(store)
    if current is None:
        try:
            return _put(store, identity, body, {"If-None-Match": "*"}, "taken", now)
        except GraphPreconditionFailed:
            current = _current(store)  # another machine took it just now
            if current is None:
                raise
    etag, lease = current
    if lease.get("machine") != machine() and _live(lease, now):
        raise LeaseHeld(f"{store.name} is scheduled on {lease.get('machine')!r} (its lease, renewed "
                        f"{_when(lease.get('renewed'))}, runs until {_when(lease.get('expires'))}) — run it there "
                        f"only: one scheduler per tracker. To move the schedule, stop it there and run "
                        f"`ofsted-tracker graph release` on that machine (or wait until the lease ends).")
    try:
        return _put(store, identity, body, {"If-Match": etag}, "taken over" if lease.get("machine") != machine() else "renewed", now)
    except GraphPreconditionFailed:
        raise LeaseHeld(f"Another machine took the lease on {store.name} at this very moment — run it on one "
                        "machine only (one scheduler per tracker).")


def release(store, identity: Path) -> bool:
    """Give the lease up (this machine's only); whether there was one to give up."""
    if not store.parent_id:
        store.fetch_item()
    current = _current(store)
    if current is None or current[1].get("machine") != machine():
        return False
    raise_for(store.client.request("DELETE", _path(store), headers={"If-Match": current[0]}), f"Releasing the lease on {store.name}")
    _local(identity).unlink(missing_ok=True)
    return True


def _path(store) -> str:
    return f"drives/{store.drive_id}/items/{store.parent_id}:/{quote(lease_name(store.name))}"


def _put(store, identity: Path, body: bytes, headers: dict, done: str, now: datetime) -> str:
    reply = store.client.request("PUT", f"{_path(store)}:/content", data=body,
                                 headers={"Content-Type": "application/json", **headers})
    raise_for(reply, f"Writing the lease on {store.name}")
    note = _local(identity)
    note.parent.mkdir(parents=True, exist_ok=True)
    note.write_text(json.dumps({"etag": reply.json().get("eTag", ""), "renewed": now.isoformat()}), encoding="utf-8")
    return f"Lease on {store.name} {done} by {machine()}."


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


def _mine(identity: Path) -> tuple[str, datetime | None]:
    """(eTag, when) of this machine's last lease write, from its note; ("", None) without one."""
    try:
        note = json.loads(_local(identity).read_text(encoding="utf-8"))
        return note.get("etag", ""), datetime.fromisoformat(note["renewed"]) if note.get("renewed") else None
    except (OSError, ValueError, AttributeError, TypeError):
        return "", None


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
