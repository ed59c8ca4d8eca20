"""Final-feedback forms: one workbook per inspection, written by the run on the last day on
site, completed by the officer at feedback, read back into the tracker and emailed once.

Core (no openpyxl, no files): spec.py (what a form asks), readback.py (due forms, form
values -> tracker cells and conflicts). Edge: workbook.py (form writer, openpyxl; reader, calamine),
runner.py (the run's hook), templates.py (the blank templates in workbook_templates/)."""
