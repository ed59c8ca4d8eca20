"""Microsoft Graph transport (the `graph` extra): POST /users/{mailbox}/sendMail with the
message's MIME bytes, an app-only token from msal (client credentials) or an injected
token provider, Retry-After honoured, one token refresh on 401, and confirm() by looking
the deterministic Message-ID up in the mailbox's Sent Items. The lasting route on Microsoft 365."""

from __future__ import annotations

import base64
import time
from typing import Callable
from urllib.parse import quote

from automation.config import Config, get_secret
from automation.errors import ConfigError, require
from automation.mail.message import OutgoingMessage
from automation.mail.transport import (AmbiguousSendError, PermanentSendError, RateLimiter,
                                       TransientSendError, TransportDown, no_handover,
                                       poll_sent_items)

CLIENT_SECRET_ENV = "OFSTED_TRACKER_GRAPH_CLIENT_SECRET"
SCOPE = ["https://graph.microsoft.com/.default"]
TokenProvider = Callable[[bool], str]  # force_refresh -> access token


def msal_token_provider(tenant_id: str, client_id: str, secret: str, authority_host: str,
                        session, scope=SCOPE) -> TokenProvider:
    """Client-credentials tokens from msal; force_refresh drops the cached token first."""
    msal = require("msal", "graph", "Sending through Microsoft Graph")
    custom = "login.microsoftonline.com" not in authority_host
    apps: list = []  # made on first use: msal contacts the authority when constructed

    def token(force_refresh: bool = False) -> str:
        try:
            if not apps:
                apps.append(msal.ConfidentialClientApplication(
                    client_id, client_credential=secret, authority=f"{authority_host.rstrip('/')}/{tenant_id}",
                    http_client=session, validate_authority=not custom, instance_discovery=not custom))
            app = apps[0]
            if force_refresh:
                for at in list(app.token_cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
                    app.token_cache.remove_at(at)
            result = app.acquire_token_for_client(scopes=scope)
        except Exception as exc:  # discovery, TLS or network failure inside msal
            raise TransportDown(f"cannot get a Microsoft Graph token from {authority_host}: {exc}")
        if "access_token" not in result:
            raise TransportDown(f"Microsoft Entra refused the app login: {result.get('error')}: "
                                f"{' '.join(str(result.get('error_description', '')).split())[:300]} — check [mail.graph] "
                                f"tenant_id, client_id and the secret in {CLIENT_SECRET_ENV} or the keyring")
        return result["access_token"]

    return token


def _reason(resp) -> str:
    try:
        err = resp.json().get("error", {})
        return f"{resp.status_code} {err.get('code', '')}: {err.get('message', '')}".strip()
    except ValueError:
        return f"{resp.status_code} {resp.text[:200]}"


def _retry_after(resp) -> float | None:
    try:
        return float(resp.headers.get("Retry-After", ""))
    except ValueError:
        return None


def _session(requests, ca_bundle: str):
    """A requests session trusting the configured CA bundle (the SharePoint store's own maker)."""
    from automation.graph.client import make_session

    return make_session(ca_bundle)


class GraphTransport:
    """Sends through Graph sendMail as the shared mailbox; saves to its Sent Items."""

    name = "graph"

    def __init__(self, mailbox: str, token: TokenProvider, session=None,
                 graph_url: str = "https://graph.microsoft.com/v1.0", timeout: float = 60,
                 rate_per_minute: float = 30, confirm_wait: float = 30, confirm_every: float = 3,
                 max_wait: float = 120, sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic):
        requests = require("requests", "graph", "Sending through Microsoft Graph")
        self.mailbox, self.token_provider = mailbox, token
        self.session = session or requests.Session()
        self.base = f"{graph_url.rstrip('/')}/users/{quote(mailbox)}"
        self.timeout = timeout
        self.limiter = RateLimiter(rate_per_minute, clock, sleep)
        self.confirm_wait, self.confirm_every = confirm_wait, confirm_every
        self.max_wait = max_wait
        self.sleep, self.clock = sleep, clock
        self._token: str | None = None

    @classmethod
    def from_config(cls, cfg: Config, token: TokenProvider | None = None) -> "GraphTransport":
        """Build from [mail.graph]; the client secret comes from the environment or keyring only."""
        requests = require("requests", "graph", "Sending through Microsoft Graph")
        sec = cfg.section("mail.graph")
        session = _session(requests, sec.get("ca_bundle", ""))
        if token is None:
            for key in ("tenant_id", "client_id"):
                if not sec.get(key):
                    raise ConfigError(f"{cfg.source}: [mail.graph] needs {key} — add it (from the Entra app registration).")
            secret = get_secret(CLIENT_SECRET_ENV, sec["client_id"], "Microsoft Graph app login")
            token = msal_token_provider(sec["tenant_id"], sec["client_id"], secret,
                                        sec.get("authority", "https://login.microsoftonline.com"), session)
        return cls(sec.get("mailbox") or cfg.sender, token, session,
                   sec.get("graph_url", "https://graph.microsoft.com/v1.0"),
                   float(sec.get("timeout_seconds", 60)), float(sec.get("rate_per_minute", 30)),
                   float(sec.get("confirm_wait_seconds", 30)), float(sec.get("confirm_every_seconds", 3)),
                   float(sec.get("max_wait_seconds", 120)))

    def _request(self, method: str, url: str, **kw):
        """One authorised request; on 401 the token is refreshed once and the request repeated."""
        import requests

        for attempt in (1, 2):
            if self._token is None or attempt == 2:
                self._token = self.token_provider(attempt == 2)
            headers = {"Authorization": f"Bearer {self._token}", **kw.pop("headers", {})}
            try:
                resp = self.session.request(method, url, headers=headers, timeout=self.timeout, **kw)
            except requests.exceptions.SSLError as exc:
                raise TransportDown(f"TLS with {url.split('/')[2]} failed ({exc}) — check [mail.graph] ca_bundle or the proxy")
            except requests.exceptions.ConnectionError as exc:
                if isinstance(exc, requests.exceptions.ConnectTimeout) or "NewConnectionError" in repr(exc):
                    raise TransportDown(f"cannot reach Microsoft Graph at {url.split('/')[2]}: {exc}")
                raise AmbiguousSendError(f"the connection to Microsoft Graph was cut before it answered: {exc}")
            except requests.exceptions.Timeout as exc:
                raise AmbiguousSendError(f"Microsoft Graph did not answer within {self.timeout:g} s: {exc}")
            if resp.status_code != 401:
                return resp
            kw["headers"] = {k: v for k, v in headers.items() if k != "Authorization"}
        raise TransportDown(f"Microsoft Graph refused the app's token twice ({_reason(resp)}) — check the app has "
                            "the Mail.Send application permission with admin consent")

    def send(self, message: OutgoingMessage, on_handover: Callable[[], None] = no_handover) -> None:
        """POST the MIME bytes (base64, text/plain) to sendMail; 202 means accepted. Throttling
        (429/503: not accepted) is waited out as Graph asks, up to `max_wait` seconds in all."""
        self.limiter.wait()
        body, waited, tries = base64.b64encode(message.as_bytes()), 0.0, 0
        on_handover()
        while True:
            resp = self._request("POST", f"{self.base}/sendMail", data=body, headers={"Content-Type": "text/plain"})
            if resp.status_code not in (429, 503):
                break
            tries += 1
            wait = _retry_after(resp) or min(2.0 ** tries, 30.0)
            if waited + wait > self.max_wait:
                raise TransientSendError(f"Microsoft Graph asked to wait ({_reason(resp)}) beyond "
                                         f"[mail.graph] max_wait_seconds", wait)
            self.sleep(wait)
            waited += wait
        code = resp.status_code
        if code == 202:
            return
        if code in (500, 502, 504):  # may have been accepted before the failure: confirm decides
            raise AmbiguousSendError(f"Microsoft Graph failed after receiving the message ({_reason(resp)})")
        if code in (403, 404):
            raise TransportDown(f"Microsoft Graph refused to send as {self.mailbox} ({_reason(resp)}) — check "
                                "[mail.graph] mailbox and that the app may send as it (Mail.Send, application access policy)")
        raise PermanentSendError(f"Microsoft Graph refused it: {_reason(resp)}")

    def _in_sent_items(self, message: OutgoingMessage) -> bool:
        mid = message.message_id.replace("'", "''")
        resp = self._request("GET", f"{self.base}/mailFolders/SentItems/messages",
                             params={"$filter": f"internetMessageId eq '{mid}'", "$select": "id,internetMessageId"})
        if resp.status_code != 200:
            raise TransientSendError(f"Sent Items lookup failed: {_reason(resp)}")
        return any(m.get("internetMessageId") == message.message_id for m in resp.json().get("value", []))

    def confirm(self, message: OutgoingMessage) -> bool | None:
        """Look the Message-ID up in Sent Items, allowing `confirm_wait` seconds for it to appear."""
        return poll_sent_items(lambda: self._in_sent_items(message), self.clock, self.sleep,
                               self.confirm_wait, self.confirm_every)

    def close(self) -> None:
        self.session.close()
