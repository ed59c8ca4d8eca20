"""The run's hook for a SharePoint tracker's generated files (edge): before planning, pull the
feedback forms folder so forms completed on SharePoint are read; after files are written,
push the forms, checklists, oversight workbook and summaries beside the tracker. Nothing
silent: a file that did not move is a Problem (when the tracker is still to be written),
a line in the run's summary and files_failed (exit 1), and is retried on the next run."""

from __future__ import annotations

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
    forms_read: bool = False  # the forms folder was listed: a new form may go up without replacing one
    tried: set[str] = field(default_factory=set)  # failed this run already: not tried twice in one run
    pushed: list[str] = field(default_factory=list)  # uploaded this run

    @property
    def forms(self) -> Path:
        return self.cfg.resolve(self.workbook, self.cfg.forms_dir)

    def pull_forms(self, ctx: Context) -> None:
        """Bring down the forms whose content changed on SharePoint, before they are read."""
        if not self._inside(self.forms):  # an absolute [feedback_forms] folder elsewhere: local forms only
            self.forms_read = True
            return
        try:
            moved = self.drive.pull(self.forms)
        except (TrackerError, OSError) as exc:
            line = (f"Feedback forms on SharePoint not read: {exc} Completed forms there are read, and new "
                    "forms uploaded, by the next run.")
            self.failed.append(line)
            ctx.tracker.problems.append(Problem("warning", "Feedback forms", None, None, self._remote(self.forms),
                                                f"the forms folder beside the tracker could not be read ({exc})",
                                                RETRY + " (completed forms there are read then)."))
            return
        self.forms_read = True
        for rel in moved.done:
            ctx.notes.append(f"Feedback form {Path(rel).name} fetched from SharePoint (changed there).")
        for f in moved.failed:
            self._failed(f, ctx.tracker.problems, "fetched from")

    def push(self, problems: list[Problem] | None = None) -> list[str]:
        """Upload every generated file that changed; failures go to `problems` when given
        (the tracker is still to be written) and always to the summary. Returns the pushed paths."""
        todo = [p for p in self.local_files() if self.drive.rel(p) not in self.tried]
        moved = self.drive.push(todo)
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
        """The tool's files under the local folder: forms (once the SharePoint folder was read,
        so a new form never replaces one filled in there), checklists, oversight, summaries."""
        paths = report_paths(self.cfg, self.workbook)
        folders = [paths.reviews, paths.summaries] + ([self.forms] if self.forms_read else [])
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
    try:
        from automation.graph.store import GraphWorkbookStore
    except ImportError:  # no SharePoint store in this install: every tracker is a local file
        return None
    if not isinstance(store, GraphWorkbookStore):
        return None
    if not store.parent_id:  # the tracker's folder is named by its driveItem: one GET when not seen yet
        store.fetch_item()
    return GeneratedFiles(drive_folder(store, cfg), Path(store.identity), cfg)
