"""The tracker workbook: its contract (schema), reading, validating and writing back."""
