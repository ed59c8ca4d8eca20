"""The run's feedback-form hook (edge): write the forms that are due into the forms folder
(never over an existing one), read the completed ones, and hand the results to the core:
cells for the tracker update, problems for the Problems sheet, forms for the email step."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from automation.context import Context
from automation.errors import Problem, UnsafeFileName, WorkbookError
from automation.forms.readback import FormPlan, ReadBack, apply_to_inspection, forms_due, read_back
from automation.forms.workbook import read_form, write_form
from automation.purposes import Purpose
from automation.safefiles import file_in
from automation.update import TrackerUpdate
from automation.workbook.protocol import TrackerStore, current as last_read


@dataclass
class FormsRun:
    folder: Path
    due: list[tuple[FormPlan, Path]] = field(default_factory=list)  # forms to write, and where
    written: list[Path] = field(default_factory=list)  # written now (or, in a dry run, would be)
    read: list[ReadBack] = field(default_factory=list)  # completed forms read back

    def merge_into(self, update: TrackerUpdate) -> None:
        """Add the forms' cells to the tracker update (the tool's own cells take precedence)."""
        for rb in self.read:
            row = update.inspection_cells.get(rb.inspection.row, {})
            for header, value in rb.cells.items():
                if header not in row:
                    update.set(rb.inspection.row, header, value)


def forms_folder(workbook: Path, ctx: Context) -> Path:
    """[feedback_forms] folder, relative to the workbook's folder (default forms/)."""
    return ctx.config.resolve(Path(workbook), ctx.config.forms_dir)


def existing_forms(folder: Path) -> list[Path]:
    """The forms in the folder ("~$name.xlsx" is Excel's lock file for an open form: not a form)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.xlsx") if not p.name.startswith("~$"))


def plan_forms(workbook: Path, store: TrackerStore, ctx: Context, dry_run: bool = False) -> FormsRun:
    """Read completed forms (folding them into ctx: call before planning messages) and list the
    due forms to write; writes nothing. dry_run only changes the wording of the notes."""
    out = FormsRun(forms_folder(workbook, ctx))
    files = existing_forms(out.folder)
    # Forms already there, by file name or (for a form copied by hand) by the ID typed in it.
    have = {p.name.split(" ", 1)[0] for p in files} | _read_completed(files, store, ctx, out, dry_run)
    for plan in forms_due(ctx):
        if plan.inspection.inspection_id in have:
            continue  # never overwrite a form an officer may be filling in
        try:
            out.due.append((plan, file_in(out.folder, plan.file_name)))
        except UnsafeFileName:
            ctx.tracker.problems.append(Problem(
                "error", "Inspections", plan.inspection.row, "Inspection ID", plan.file_name,
                f"the feedback form's file name would not be inside {out.folder}, so it was not written",
                "correct the Inspection ID here or the School name on the Schools sheet, then run again."))
    return out


def write_forms(forms: FormsRun, ctx: Context, dry_run: bool = False) -> None:
    """Write the due forms (in a dry run, only say they would be); a failure is a Problem."""
    for plan, path in forms.due:
        try:
            if not dry_run:
                write_form(path, plan.spec, plan.values, plan.contacts, ctx.config.la_name)
        except OSError as exc:
            ctx.tracker.problems.append(Problem(
                "warning", "Inspections", plan.inspection.row, None, plan.inspection.inspection_id,
                f"the feedback form could not be written to {forms.folder} ({exc.strerror or exc})",
                "check the forms folder exists and can be written to ([feedback_forms] folder); the next run tries again."))
            continue
        forms.written.append(path)
        ctx.notes.append(f"{plan.inspection.inspection_id}: feedback form {'would be ' if dry_run else ''}written to {path}")


def prepare_forms(workbook: Path, store: TrackerStore, ctx: Context, dry_run: bool = False) -> FormsRun:
    """Write due forms and read completed ones; folds the results into ctx (call before plan)."""
    out = plan_forms(workbook, store, ctx, dry_run)
    write_forms(out, ctx, dry_run)
    return out


def _read_completed(files: list[Path], store, ctx: Context, out: FormsRun, dry_run: bool) -> set[str]:
    """Read back every completed form; returns the Inspection IDs of all the forms read."""
    by_id = {i.inspection_id: i for i in ctx.tracker.inspections}
    sheet = last_read(store).sheets["Inspections"]
    current, columns = dict(sheet.rows), set(sheet.columns)
    seen: dict[str, str] = {}
    ids: set[str] = set()
    for path in files:
        guess = by_id.get(path.name.split(" ", 1)[0])
        if guess and guess.report_published and ctx.sent(guess.inspection_id, Purpose.FEEDBACK_FORM):
            continue  # history: read and shared long ago
        try:
            form = read_form(path)
        except WorkbookError as exc:
            ctx.tracker.problems.append(Problem("warning", f"Feedback form {path.name}", None, None, "", str(exc),
                                                "see the message; the other forms were read."))
            continue
        ids.add(form.inspection_id)
        if not form.complete:
            continue
        insp = by_id.get(form.inspection_id)
        if insp is None:
            ctx.tracker.problems.append(Problem(
                "warning", f"Feedback form {path.name}", form.rows.get("inspection_id"), "Inspection ID", form.inspection_id,
                "the form is for an inspection that is not on the Inspections sheet (or whose row has errors)",
                "check the Inspection ID on the form matches the tracker, and fix any errors on that row."))
            continue
        if insp.inspection_id in seen:
            ctx.tracker.problems.append(Problem(
                "warning", f"Feedback form {path.name}", None, "Inspection ID", insp.inspection_id,
                f"{seen[insp.inspection_id]} is already the completed form for this inspection; this one was not read",
                "keep one form per inspection: move the other out of the forms folder."))
            continue
        seen[insp.inspection_id] = path.name
        rb = read_back(form, insp, current.get(insp.row, {}), columns, ctx.rules, ctx.now.date())
        out.read.append(rb)
        ctx.tracker.problems.extend(rb.problems)
        ctx.forms.append(rb)
        if rb.cells:
            ctx.notes.append(f"{insp.inspection_id}: completed feedback form {path.name} {'would fill' if dry_run else 'fills'} "
                             + ", ".join(rb.cells) + " in the tracker")
        _replace(ctx, insp, apply_to_inspection(insp, rb.cells, ctx.rules.frameworks[insp.framework]))
    return ids


def _replace(ctx: Context, old, new) -> None:
    # The rest of the run (status, follow-ups) sees the form's outcomes straight away.
    ins = ctx.tracker.inspections
    ins[ins.index(old)] = new
