"""The tracker in SharePoint or OneDrive, through the Microsoft Graph drive and workbook APIs (the `graph` extra)."""
