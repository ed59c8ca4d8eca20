"""Ofsted Learning Review checklists (DOMAIN.md step 17)."""
