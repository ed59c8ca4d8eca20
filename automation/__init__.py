"""ofsted-tracker: keeps the local authority's promise to schools through Ofsted inspection."""

__version__ = "0.1.0"
