"""The officer ribbon add-in for Excel: actions, the live-workbook store, and the build."""
