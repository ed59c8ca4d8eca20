"""Where a SharePoint/OneDrive tracker is: a sharing or SharePoint URL (resolved once through
/shares and remembered on this machine) or "drive:<drive id>/item:<item id>"."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from pathlib import Path

from automation.errors import ConfigError

_IDS = re.compile(r"^drive:(?P<drive>[^/\s]+)/item:(?P<item>[^/\s]+)$")
LOCATIONS = "locations.json"


@dataclass(frozen=True)
class Location:
    """The tracker's drive and item ids (url: what the officer gave, if a URL)."""

    drive_id: str
    item_id: str
    url: str = ""


def is_remote(target) -> bool:
    """Whether a command's tracker argument names a SharePoint/OneDrive tracker rather than a file."""
    text = str(target or "").strip()
    return text.lower().startswith(("https://", "http://")) or bool(_IDS.match(text))


def share_id(url: str) -> str:
    """Graph's id for a sharing URL: "u!" + unpadded base64url of the URL."""
    return "u!" + base64.urlsafe_b64encode(url.encode("utf-8")).decode("ascii").rstrip("=")


def parse(target: str, source: str = "the command line") -> Location | str:
    """A Location for "drive:…/item:…"; the URL itself (to be resolved) for a URL."""
    text = str(target).strip()
    m = _IDS.match(text)
    if m:
        return Location(m["drive"], m["item"])
    if text.lower().startswith("https://"):
        return text
    raise ConfigError(f"{source}: {text!r} is neither an https:// SharePoint/OneDrive URL nor "
                      "\"drive:<drive id>/item:<item id>\" — copy the tracker's link from SharePoint (Copy link).")


def remembered(folder: Path, url: str) -> Location | None:
    """The ids a URL resolved to on an earlier run (saves a request per run)."""
    try:
        got = json.loads((folder / LOCATIONS).read_text(encoding="utf-8")).get(url)
        return Location(got["drive_id"], got["item_id"], url) if got else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def remember(folder: Path, loc: Location) -> None:
    path = folder / LOCATIONS
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            data = {}
    except (OSError, ValueError):
        data = {}
    data[loc.url] = {"drive_id": loc.drive_id, "item_id": loc.item_id}
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    tmp.replace(path)


def forget(folder: Path, url: str) -> None:
    """Drop a URL's remembered ids (the item moved: resolve it afresh)."""
    path = folder / LOCATIONS
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and data.pop(url, None) is not None:
            path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    except (OSError, ValueError):
        pass
