"""Exchange Web Services transport (exchangelib, the `ews` extra): sends the same RFC 5322
bytes as every other transport (MimeContent) and saves them to Sent Items, where confirm()
looks the message up by its deterministic Message-ID. For on-premises Exchange and
allow-listed Exchange Online tenants (EWS is being retired in Exchange Online)."""

from __future__ import annotations

import time
from typing import Callable

from automation.config import Config, get_secret
from automation.errors import ConfigError, require
from automation.mail.message import OutgoingMessage
from automation.mail.transport import (AmbiguousSendError, PermanentSendError,
                                       TransientSendError, TransportDown, no_handover,
                                       poll_sent_items)

PASSWORD_ENV = "OFSTED_TRACKER_EWS_PASSWORD"
CLIENT_SECRET_ENV = "OFSTED_TRACKER_EWS_CLIENT_SECRET"
AUTH_TYPES = ("basic", "ntlm", "oauth")

# Server answers that mean "not now" rather than "never" (EWS response codes).
TRANSIENT_CODES = {"ErrorServerBusy", "ErrorInternalServerTransientError", "ErrorMailboxStoreUnavailable",
                   "ErrorConnectionFailed", "ErrorTooManyObjectsOpened", "ErrorMailboxMoveInProgress",
                   "ErrorExceededConnectionCount", "ErrorTimeoutExpired"}


def _account(cfg: Config, sec: dict):
    """An exchangelib Account for the shared mailbox, as [mail.ews] says."""
    el = require("exchangelib", "ews", "Sending through Exchange Web Services")
    where = f"{cfg.source}: [mail.ews]"
    auth = sec.get("auth", "ntlm")
    if auth not in AUTH_TYPES:
        raise ConfigError(f"{where} auth = {auth!r} is not one of {', '.join(AUTH_TYPES)} — correct it.")
    mailbox = sec.get("mailbox") or cfg.sender
    access = el.DELEGATE
    if auth == "oauth":
        for key in ("tenant_id", "client_id"):
            if not sec.get(key):
                raise ConfigError(f"{where} auth = \"oauth\" needs {key} — add it (from the Entra app registration).")
        secret = get_secret(CLIENT_SECRET_ENV, sec["client_id"], "EWS OAuth app login")
        creds = el.OAuth2Credentials(client_id=sec["client_id"], client_secret=secret, tenant_id=sec["tenant_id"],
                                     identity=el.Identity(primary_smtp_address=mailbox))
        auth_type, access = el.OAUTH2, el.IMPERSONATION
    else:
        username = sec.get("username", "")
        if not username:
            raise ConfigError(f"{where} auth = {auth!r} needs username (e.g. \"LA\\\\svc-ofsted\" or an address) — add it.")
        creds = el.Credentials(username, get_secret(PASSWORD_ENV, username, f"EWS login as {username}"))
        auth_type = el.BASIC if auth == "basic" else el.NTLM
    version = None
    if sec.get("server_version"):  # skips the version probe, e.g. "15.1" for Exchange 2016
        major, _, minor = str(sec["server_version"]).partition(".")
        version = el.Version(build=el.Build(int(major), int(minor or 0)))
    # One connection: exchangelib then never re-posts a request whose connection was cut,
    # so a cut after hand-over reaches us as ambiguous instead of becoming a second send.
    common = dict(credentials=creds, auth_type=auth_type, version=version, max_connections=1,
                  retry_policy=el.FaultTolerance(max_wait=float(sec.get("max_wait_seconds", 120))))
    endpoint = sec.get("endpoint", "")
    if endpoint:
        config = el.Configuration(service_endpoint=endpoint, **common)
        return el.Account(mailbox, config=config, autodiscover=False, access_type=access)
    return el.Account(mailbox, config=el.Configuration(**common), autodiscover=True, access_type=access)


class EwsTransport:
    """Sends MIME through EWS CreateItem (SendAndSaveCopy) and confirms in Sent Items."""

    name = "ews"

    def __init__(self, account_factory: Callable[[], object], confirm_wait: float = 30,
                 confirm_every: float = 3, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic):
        self._factory = account_factory
        self._account = None
        self.confirm_wait, self.confirm_every = confirm_wait, confirm_every
        self.sleep, self.clock = sleep, clock

    @classmethod
    def from_config(cls, cfg: Config) -> "EwsTransport":
        """Build from [mail.ews]; the account is made (and autodiscovered) on first use."""
        # Before anything is journalled: a missing extra is a one-line message, not a pending send.
        require("exchangelib", "ews", "Sending through Exchange Web Services")
        sec = cfg.section("mail.ews")
        if sec.get("auth", "ntlm") not in AUTH_TYPES:
            raise ConfigError(f"{cfg.source}: [mail.ews] auth = {sec.get('auth')!r} is not one of {', '.join(AUTH_TYPES)} — correct it.")
        return cls(lambda: _account(cfg, sec), float(sec.get("confirm_wait_seconds", 30)),
                   float(sec.get("confirm_every_seconds", 3)))

    @property
    def account(self):
        if self._account is None:
            self._account = self._call(self._factory, "connect to Exchange")
        return self._account

    def _call(self, fn, doing: str):
        """Run an exchangelib call, turning its errors into SendErrors that say what to do."""
        import exchangelib.errors as e

        try:
            return fn()
        except (TransientSendError, PermanentSendError, AmbiguousSendError):
            raise
        except e.UnauthorizedError as exc:
            raise TransportDown(f"Exchange refused the login ({exc}) — check [mail.ews] username/auth and "
                                f"the secret in {PASSWORD_ENV} / {CLIENT_SECRET_ENV} or the keyring")
        except e.RateLimitError as exc:
            raise TransportDown(f"Exchange kept answering 'busy' beyond [mail.ews] max_wait_seconds while trying to {doing} "
                                f"({exc}); it answers a wrong password the same way — check the login too")
        except e.ErrorTimeoutExpired as exc:
            text = str(exc)
            if "NewConnectionError" in text or "Failed to establish" in text or "refused" in text.lower():
                raise TransportDown(f"cannot reach the Exchange server to {doing}: {text}")
            raise AmbiguousSendError(f"the connection to Exchange was cut while trying to {doing}: {text}")
        except e.AutoDiscoverFailed as exc:
            raise TransportDown(f"autodiscover found no EWS endpoint ({exc}) — set [mail.ews] endpoint")
        except e.ResponseMessageError as exc:
            code = type(exc).__name__
            if code in TRANSIENT_CODES:
                raise TransientSendError(f"Exchange said {code}: {exc}", getattr(exc, "back_off", None))
            raise PermanentSendError(f"Exchange refused it: {code}: {exc}")
        except e.TransportError as exc:
            raise TransportDown(f"cannot reach the Exchange server to {doing}: {exc}")

    def send(self, message: OutgoingMessage, on_handover: Callable[[], None] = no_handover) -> None:
        """CreateItem with the message's MIME bytes; Exchange sends it and keeps a copy in Sent Items."""
        from exchangelib import Message

        account = self.account
        sent = self._call(lambda: account.sent, "open Sent Items")
        item = Message(account=account, folder=sent, mime_content=message.as_bytes())
        on_handover()
        self._call(item.send_and_save, f"send {message.message_id}")

    def _in_sent_items(self, message: OutgoingMessage) -> bool:
        account = self.account
        return self._call(lambda: account.sent.filter(message_id=message.message_id).exists(),
                          "look in Sent Items")

    def confirm(self, message: OutgoingMessage) -> bool | None:
        """Look the Message-ID up in Sent Items, allowing `confirm_wait` seconds for it to appear."""
        return poll_sent_items(lambda: self._in_sent_items(message), self.clock, self.sleep,
                               self.confirm_wait, self.confirm_every)

    def close(self) -> None:
        if self._account is not None:
            self._account.protocol.close()
            self._account = None
