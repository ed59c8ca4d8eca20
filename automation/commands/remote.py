"""`run` on a SharePoint/OneDrive tracker: the Graph store, its cheap version for the unchanged-run
skip (one $batch: the item's eTag/cTag and the forms folder's listing), the one-scheduler lease, and
the cells left for the next run because a co-author changed them; logged like a local run."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path


class RemoteRun:
    """What the run command needs to know about a tracker kept in SharePoint/OneDrive."""

    def __init__(self, store, cfg):
        self.store, self.cfg = store, cfg
        self._version = None

    @property
    def identity(self) -> Path:
        return self.store.identity

    def _fetch(self):
        try:
            from automation.graph.files import forms_listing_request, forms_version
        except ImportError:  # the generated-files module not there: the tracker's version alone
            forms_listing_request = forms_version = None
        req = forms_listing_request(self.store, self.cfg) if forms_listing_request else None
        got = self.store.version([req] if req else None)
        return {"item": got["tracker"], "forms": forms_version(got["extra"][0]) if req else None}

    def version(self):
        """The tracker's version, fetched once for the skip check and the fingerprint before the run."""
        if self._version is None:
            self._version = self._fetch()
        return self._version

    def fresh(self):
        """The version after the run, without a request: unchanged by this run when it wrote no cell (a
        co-author's change meanwhile then shows at the next run's check, which runs); "written" otherwise,
        which never matches, so the next run reads afresh."""
        return self.version() if self.store.written == 0 else {"item": "written by this run"}

    def hold(self, log, now: datetime) -> None:
        """Take or renew this machine's lease on the tracker (raises LeaseHeld)."""
        from automation.graph import lease

        line = lease.hold(self.store, self.identity, now, int(self.cfg.section("sharepoint")["lease_minutes"]))
        log.info("  %s", line)

    def report(self, result, log) -> None:
        """Cells a co-author changed meanwhile: in the run's notes and the log, left for the next run."""
        for note in self.store.notes:
            log.warning("  left for the next run: %s", note)
        result.notes.extend(f"Left for the next run: {n}" for n in self.store.notes)

