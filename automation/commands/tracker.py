"""The tracker a command works on, taken the same way by every command: an .xlsx file, or the
SharePoint/OneDrive tracker (its URL, "drive:<id>/item:<id>", or none given: [sharepoint] tracker)
through its Graph store. A SharePoint tracker's identity is a local name only (this machine's state
and generated files), never a file to open: its sheets come through the store, and the files a
command writes go up beside the tracker."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from automation.commands.args import tracker_arg
from automation.config import Config
from automation.errors import TrackerError

TRACKER_HELP = ("the tracker: an .xlsx file, or its SharePoint/OneDrive URL or drive:<id>/item:<id> "
                "(default: [sharepoint] tracker in the config)")


def add_tracker(p) -> None:
    """The optional first argument of a command that takes a tracker."""
    p.add_argument("workbook", type=tracker_arg, nargs="?", help=TRACKER_HELP)


def is_remote(args, cfg: Config) -> bool:
    """Whether the command's tracker is the SharePoint/OneDrive one (a URL, drive ids, or none given)."""
    from automation.graph.location import is_remote as remote_text

    if args.workbook is None:
        if not cfg.section("sharepoint").get("tracker"):
            raise TrackerError("Name the tracker: an .xlsx file or its SharePoint/OneDrive URL (or set "
                               "[sharepoint] tracker in the config and pass --config).")
        return True
    return remote_text(args.workbook)


@dataclass
class Tracker:
    """A command's tracker: where its state and outputs are, and (SharePoint) the store that reads it."""

    identity: Path  # the file, or <local_folder>/<item id>/<name> for a SharePoint tracker
    store: object | None = None  # the Graph store; None for a file (each command reads a file its own, quick way)
    cfg: Config | None = None
    files: object | None = field(default=None, repr=False)  # GeneratedFiles, once asked for

    @property
    def remote(self) -> bool:
        return self.store is not None

    @property
    def name(self) -> str:
        return (self.store.name or self.identity.name) if self.store else self.identity.name

    def generated(self):
        """The SharePoint tracker's generated files beside it (None for a file)."""
        if self.remote and self.files is None:
            from automation.graph.generated import for_run

            self.files = for_run(self.store, self.cfg)
        return self.files

    def pull_forms(self, ctx) -> None:
        """Forms completed on SharePoint brought down before a report reads them (a file: nothing to do)."""
        if self.generated():
            self.files.pull_forms(ctx)

    def push(self) -> tuple[list[str], bool]:
        """Upload what the command wrote beside a SharePoint tracker: (lines to show, all went)."""
        if not self.generated():
            return [], True
        self.files.push()
        return self.files.summary(), not self.files.failed

    def hold(self, log, now: datetime) -> None:
        """A command that writes a SharePoint tracker takes this machine's lease first, as the run does
        (another machine's live lease: LeaseHeld, exit 11, nothing written)."""
        if self.remote:
            from automation.commands.remote import RemoteRun

            RemoteRun(self.store, self.cfg).hold(log, now)


def open_tracker(args, cfg: Config, remote: bool | None = None) -> Tracker:
    """The command's tracker: the file as given, or the SharePoint one located (its state folder made)."""
    if not (is_remote(args, cfg) if remote is None else remote):
        return Tracker(Path(args.workbook), None, cfg)
    from automation.session import tracker_store

    store = tracker_store(args.workbook, cfg)
    identity = Path(store.identity)
    identity.parent.mkdir(parents=True, exist_ok=True)
    return Tracker(identity, store, cfg)


def logged_on(command: str, args, cfg: Config, body, start: str = "") -> int:
    """body(tracker, log) logged in the tracker's run log; for a SharePoint tracker a failure before
    its state folder is known is logged in [sharepoint] local_folder."""
    from automation.runlog import close_log, logged, open_log

    if not is_remote(args, cfg):
        return logged(command, Path(args.workbook), cfg, lambda log: body(Tracker(Path(args.workbook), None, cfg), log),
                      start=start)
    try:
        tracker = open_tracker(args, cfg, remote=True)
    except TrackerError as exc:  # where the tracker's own log is is not known yet: the local folder's log has it
        from automation.graph.auth import local_folder

        folder = local_folder(cfg)
        folder.mkdir(parents=True, exist_ok=True)
        log = open_log(folder / "ofsted-tracker.log")
        log.error("%s stopped: %s (exit %d); tracker %s", command, exc, exc.exit_code, args.workbook or "from the config")
        close_log(log)
        raise
    return logged(command, tracker.identity, cfg, lambda log: body(tracker, log), start=start, exists=True,
                  where=tracker.store.target)
