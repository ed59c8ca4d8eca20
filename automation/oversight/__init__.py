"""Leadership oversight: the oversight workbook, the HMI meeting summary, and the run's hook."""
