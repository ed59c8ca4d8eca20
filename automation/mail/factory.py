"""Choose the configured transport. Backends with extras are imported only when chosen,
so a missing extra is a one-line message naming it, not a traceback."""

from __future__ import annotations

from pathlib import Path

from automation.config import Config
from automation.errors import ConfigError
from automation.mail.transport import OutboxTransport, RedirectTransport, Transport


def make_transport(cfg: Config, workbook: Path) -> Transport:
    """The transport named by [mail] transport, wrapped for test mode when configured.
    "memory" is not offered here: it delivers nothing, so only code (tests) may pass one in."""
    name = cfg.transport
    if name == "outbox":
        transport: Transport = OutboxTransport(cfg.resolve(Path(workbook), cfg.outbox_dir))
    elif name == "smtp":
        from automation.mail.smtp import SmtpTransport

        transport = SmtpTransport.from_config(cfg)
    elif name == "ews":
        from automation.mail.ews import EwsTransport

        transport = EwsTransport.from_config(cfg)
    elif name == "graph":
        from automation.mail.graph import GraphTransport

        transport = GraphTransport.from_config(cfg)
    else:  # parse_config already refuses this (and "memory"); kept so a new name cannot slip through
        raise ConfigError(f"{cfg.source}: key 'mail.transport' = {name!r} is not a known transport.")
    if cfg.redirect_to:  # test mode: everything to one address, marked as a test
        return RedirectTransport(transport, cfg.redirect_to)
    return transport
