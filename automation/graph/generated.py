"""The run's hook for a SharePoint tracker's generated files (edge): before planning, pull the
folders people edit there (feedback forms, learning-review checklists) so the run reads and
refreshes SharePoint's copies; after files are written, push the forms, checklists, oversight
workbook and summaries beside the tracker where it is now. Nothing
silent: a file that did not move is a Problem (when the tracker is still to be written),
a line in the run's summary and files_failed (exit 1), and is retried on the next run."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from automation.config import Config
from automation.context import Context
from automation.errors import Problem, TrackerError
from automation.graph.files import DriveFolder, Failure, drive_folder
from automation.oversight.settings import report_paths

RETRY = "nothing to do if SharePoint is working again: the next run tries again"


@dataclass
class GeneratedFiles:
    """One run's traffic of generated files with the tracker's folder on the drive."""

    drive: DriveFolder
    workbook: Path  # the store's identity: generated files are made beside it
    cfg: Config
    failed: list[str] = field(default_factory=list)  # lines for the summary and files_failed
    notes: list[str] = field(default_factory=list)
    read: set[Path] = field(default_factory=set)  # folders people edit, listed: their new files may go up
    tried: set[str] = field(default_factory=set)  # failed this run already: not tried twice in one run
    pushed: list[str] = field(default_factory=list)  # uploaded this run

    @property
    def forms(self) -> Path:
        return self.cfg.resolve(self.workbook, self.cfg.forms_dir)

    @property
    def reviews(self) -> Path:
        return report_paths(self.cfg, self.workbook).reviews

    @property
    def forms_read(self) -> bool:
        return self.forms in self.read

    def pull_forms(self, ctx: Context) -> None:
        """Bring down the forms and checklists whose content changed on SharePoint, before the run
        reads the forms and refreshes the checklists (so it works on SharePoint's copies)."""
        if self.drive.moved_from:
            self.notes.append("The tracker was moved to another folder since the last run: its generated files now "
                              "go beside it there; those in its old folder are left as they are.")
        self._pull(ctx, self.forms, "Feedback forms", "Feedback form", "completed forms there are read, and new "
                   "forms uploaded")
        self._pull(ctx, self.reviews, "Learning reviews", "Checklist", "reviewers' edits there are kept, and new "
                   "checklists uploaded")

    def _pull(self, ctx: Context, folder: Path, sheet: str, one: str, then: str) -> None:
        if not self._inside(folder):  # an absolute folder elsewhere: this machine's files only
            self.read.add(folder)
            return
        try:
            moved = self.drive.pull(folder)
        except (TrackerError, OSError) as exc:
            self.failed.append(f"{sheet} on SharePoint not read: {exc} By the next run, {then}.")
            ctx.tracker.problems.append(Problem("warning", sheet, None, None, self._remote(folder),
                                                f"the {self._remote(folder)} folder beside the tracker could not be "
                                                f"read ({exc})", f"{RETRY} ({then} then)."))
            return
        self.read.add(folder)
        for rel in moved.done:
            ctx.notes.append(f"{one} {Path(rel).name} fetched from SharePoint (changed there).")
        for f in moved.failed:
            self._failed(f, ctx.tracker.problems, "fetched from")

    def push(self, problems: list[Problem] | None = None) -> list[str]:
        """Upload every generated file that changed; failures go to `problems` when given
        (the tracker is still to be written) and always to the summary. Returns the pushed paths."""
        todo = [p for p in self.local_files() if self.drive.rel(p) not in self.tried]
        edited = {self._remote(f) + "/" for f in (self.forms, self.reviews)}
        moved = self.drive.push(todo, lambda rel: any(rel.startswith(d) for d in edited))
        for rel in moved.kept:
            self.notes.append(f"{rel} was changed on SharePoint: that copy is kept, and replaced this machine's "
                              "(not uploaded over it).")
        for f in moved.failed:
            self.tried.add(f.path)
            self._failed(f, problems, "uploaded to")
        self.pushed += moved.done
        return moved.done

    def summary(self) -> list[str]:
        """The run's lines about its generated files on SharePoint (uploads, and what did not move)."""
        done = sorted(self.pushed)
        lines = [f"Uploaded to SharePoint beside the tracker: {len(done)} file(s) "
                 f"({', '.join(done[:3])}{', ...' if len(done) > 3 else ''})."] if done else []
        return lines + self.notes + self.failed

    def local_files(self) -> list[Path]:
        """The tool's files under the local folder: forms and checklists (once their SharePoint folder
        was read, so one filled in there is never replaced), oversight, summaries."""
        paths = report_paths(self.cfg, self.workbook)
        folders = [paths.summaries] + [f for f in (self.forms, paths.reviews) if f in self.read]
        files = {paths.oversight} if paths.oversight.is_file() else set()
        for folder in folders:
            if folder.is_dir():
                files |= {p for p in folder.iterdir() if p.is_file() and not p.name.startswith((".", "~$"))}
        root = self.drive.root.resolve()
        outside = sorted(p for p in files if not self._inside(p))
        line = (f"Not uploaded to SharePoint (configured outside {root}): "
                + ", ".join(str(p) for p in outside[:3]) + (", ..." if len(outside) > 3 else ""))
        if outside and line not in self.notes:  # an absolute [reports]/[feedback_forms] folder: kept here, said so
            self.notes.append(line)
        return sorted(p for p in files if self._inside(p))

    def _inside(self, path: Path) -> bool:
        return self.drive.root.resolve() in Path(path).resolve().parents

    def _remote(self, local: Path) -> str:
        try:
            return self.drive.rel(local)
        except ValueError:
            return str(local)

    def _failed(self, f: Failure, problems: list[Problem] | None, verb: str) -> None:
        name = Path(f.path).name
        self.failed.append(f"{f.path} not {verb} SharePoint: {f.why} (the next run tries again).")
        if problems is not None:
            form = f.path.startswith(self._remote(self.forms) + "/")
            where = ("it stays on SharePoint; this run used this machine's copy, if it had one" if verb == "fetched from"
                     else f"meanwhile it is on this machine under {self.drive.root}")
            problems.append(Problem("warning", f"Feedback form {name}" if form else "Generated files", None, None,
                                    f.path, f"the file was not {verb} SharePoint ({f.why})", f"{RETRY}; {where}."))


def for_run(store, cfg: Config) -> GeneratedFiles | None:
    """The run's generated-files hook, when the tracker is on SharePoint/OneDrive (else None)."""
    # A SharePoint store exists only once its module is loaded: importing it to ask about a local
    # file would cost every local run openpyxl's import (with numpy, about 0.8 s and 20 MB).
    graph_store = sys.modules.get("automation.graph.store")
    if graph_store is None or not isinstance(store, graph_store.GraphWorkbookStore):
        return None
    store.parent()  # where the tracker is now (this run's item GET): a moved tracker's files follow it
    return GeneratedFiles(drive_folder(store, cfg), Path(store.identity), cfg)
