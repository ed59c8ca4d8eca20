"""One small Microsoft Graph client for the SharePoint/OneDrive tracker: a bearer token from the
sign-in (automation/graph/auth.py), throttling waited out as Graph asks (Retry-After), one token
refresh on 401, JSON $batch in twenties, and every refusal mapped to the one error hierarchy
(automation/errors.py) with a line saying what to do."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from automation.errors import (GraphCut, GraphError, GraphForbidden, GraphLocked, GraphNotFound,
                               GraphPreconditionFailed, GraphSignInExpired)

TokenProvider = Callable[[bool], str]  # force_refresh -> access token (raises GraphSignInExpired)
RETRIED = (429, 503, 504)  # throttled or busy: Graph says when to come back
BATCH_MAX = 20  # Graph's limit of requests in one $batch
# A server answering "come back in 0 s" for ever would never use up max_wait: tries are capped too.
MAX_TRIES = 10
LOGIN = "ofsted-tracker graph login"


@dataclass
class Reply:
    """One answer: from a plain request or from inside a $batch."""

    status: int
    headers: dict = field(default_factory=dict)
    body: object = None  # parsed JSON, bytes for content, or None
    url: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> dict:
        return self.body if isinstance(self.body, dict) else {}


def error_code(reply: Reply) -> str:
    """Graph's error code, with the inner code when there is one (e.g. "InvalidSessionReCreatable")."""
    err = reply.json().get("error") or {}
    codes = [str(err.get("code", ""))]
    inner = err.get("innerError") or err.get("innererror") or {}
    while isinstance(inner, dict) and inner.get("code"):
        codes.append(str(inner["code"]))
        inner = inner.get("innerError") or inner.get("innererror") or {}
    return "/".join(c for c in codes if c)


def session_expired(reply: Reply) -> bool:
    """A workbook session that timed out or was lost: make a new one and redo the request."""
    code = error_code(reply).lower()
    return reply.status in (400, 404, 409) and ("invalidsessionrecreatable" in code or "sessionnotfound" in code
                                                 or "invalidsession" in code)


def reason(reply: Reply) -> str:
    err = reply.json().get("error") or {}
    text = " ".join(str(err.get("message", "")).split())[:200]
    return f"{reply.status} {error_code(reply)}{': ' + text if text else ''}".strip()


def raise_for(reply: Reply, what: str) -> Reply:
    """The reply if it succeeded; else the error for its status, naming `what` was being done."""
    if reply.ok:
        return reply
    s, why = reply.status, reason(reply)
    if s == 404:
        raise GraphNotFound(f"{what}: not found on SharePoint/OneDrive ({why}) — was it moved, renamed or deleted? "
                            "Correct [sharepoint] tracker (or the sheet's name) and run again.")
    if s == 403:
        raise GraphForbidden(f"{what}: the signed-in account has no access ({why}) — give the service account edit "
                             "rights on the tracker and its folder (or check the app's delegated permissions).")
    if s in (409, 423):
        # No "the next run ..." here: the run's summary says what happens next (and says it once).
        raise GraphLocked(f"{what}: the tracker is locked or in an editing conflict ({why}) — nothing more was "
                          "written (if it stays locked, check it is not checked out or open exclusively).")
    if s == 412:
        raise GraphPreconditionFailed(f"{what}: changed by someone else meanwhile ({why}).")
    if s == 401:
        raise GraphSignInExpired(f"{what}: Microsoft Graph refused the sign-in ({why}) — sign in again with "
                                 f"`{LOGIN}`; nothing was sent or written.")
    if s in RETRIED:
        raise GraphError(f"{what}: Microsoft Graph stayed busy beyond [sharepoint] max_wait_seconds ({why}) — "
                         "nothing is lost; the next run tries again.")
    raise GraphError(f"{what}: Microsoft Graph refused it ({why}) — the next run tries again; if this repeats, "
                     "tell IT what it says.")


def _wait_for(headers: dict, tries: int) -> float:
    for k, v in headers.items():
        if k.lower() == "retry-after":
            try:
                return max(0.0, float(v))
            except (TypeError, ValueError):
                break
    return min(2.0 ** tries, 30.0)


class GraphClient:
    """Authorised requests to Graph: relative paths against base_url, or absolute URLs."""

    def __init__(self, base_url: str, token_provider: TokenProvider, session, timeout: float = 60,
                 max_wait: float = 120, sleep: Callable[[float], None] = time.sleep):
        self.base = base_url.rstrip("/")
        self.token_provider, self.session = token_provider, session
        self.timeout, self.max_wait, self.sleep = timeout, max_wait, sleep
        self.count = 0  # HTTP requests made (the benchmark and the README's costs)
        self._token: str | None = None

    def url(self, path: str) -> str:
        return path if path.startswith(("https://", "http://")) else f"{self.base}/{path.lstrip('/')}"

    def request(self, method: str, path: str, json=None, data=None, headers: dict | None = None,
                params: dict | None = None, auth: bool = True, what: str = "") -> Reply:
        """One request, throttling waited out (up to max_wait in all) and the token refreshed once on 401.
        Returns the Reply whatever its status; `what` given: raises the mapped error unless it succeeded."""
        waited, tries, refreshed = 0.0, 0, False
        while True:
            reply = self._send(method, path, json, data, headers, params, auth, refreshed)
            if reply.status == 401 and auth and not refreshed:
                refreshed = True
                continue
            if reply.status in RETRIED:
                tries += 1
                wait = _wait_for(reply.headers, tries)
                if tries < MAX_TRIES and waited + wait <= self.max_wait:
                    self.sleep(wait)
                    waited += wait
                    continue
            return raise_for(reply, what) if what else reply

    def _send(self, method, path, json, data, headers, params, auth: bool, refresh: bool) -> Reply:
        import requests

        url = self.url(path)
        hdrs = dict(headers or {})
        if auth:
            if self._token is None or refresh:
                self._token = self.token_provider(refresh)
            hdrs["Authorization"] = f"Bearer {self._token}"
        self.count += 1
        try:
            resp = self.session.request(method, url, json=json, data=data, headers=hdrs, params=params,
                                        timeout=self.timeout)
        except requests.exceptions.SSLError as exc:
            raise GraphError(f"TLS with {host(url)} failed ({why_unreachable(exc)}) — check [sharepoint] ca_bundle "
                             "or the proxy; nothing was written.")
        except requests.exceptions.ConnectTimeout as exc:
            raise GraphError(f"cannot reach {host(url)} ({why_unreachable(exc)}) — check the network; the next run "
                             "tries again.")
        except requests.exceptions.ConnectionError as exc:
            if _never_connected(exc):
                raise GraphError(f"cannot reach {host(url)} ({why_unreachable(exc)}) — check the network; the next "
                                 "run tries again.")
            raise GraphCut(f"the connection to Microsoft Graph was cut before it answered {method} "
                           f"{url.split('?')[0].rsplit('/', 1)[-1]} ({_first(exc)}).")
        except requests.exceptions.Timeout as exc:
            raise GraphCut(f"Microsoft Graph did not answer within {self.timeout:g} s ({_first(exc)}).")
        return _reply(resp)

    def batch(self, requests: list[dict], what: str = "") -> list[Reply]:
        """Run requests ({"method", "url", optional "body", "headers"}) through $batch, at most 20 at a
        time; items answered 429/503/504 are sent again after their Retry-After (up to max_wait in all).
        One Reply per request, in order; with `what`, the first failure raises its mapped error."""
        out: list[Reply | None] = [None] * len(requests)
        todo, waited, tries = list(range(len(requests))), 0.0, 0
        while todo:
            again: list[int] = []
            wait = 0.0
            for start in range(0, len(todo), BATCH_MAX):
                chunk = todo[start:start + BATCH_MAX]
                for i, reply in zip(chunk, self._batch_once([requests[i] for i in chunk])):
                    out[i] = reply
                    if reply.status in RETRIED:
                        again.append(i)
                        wait = max(wait, _wait_for(reply.headers, tries + 1))
            if not again:
                break
            tries += 1
            if tries >= MAX_TRIES or waited + wait > self.max_wait:
                break
            self.sleep(wait)
            waited += wait
            todo = again
        replies = [r for r in out if r is not None]
        if what:
            for r in replies:
                raise_for(r, what)
        return replies

    def _batch_once(self, chunk: list[dict]) -> list[Reply]:
        body = {"requests": [_batch_item(str(i), r) for i, r in enumerate(chunk)]}
        reply = self.request("POST", "$batch", json=body, headers={"Content-Type": "application/json"})
        raise_for(reply, "a $batch of workbook requests")
        by_id = {str(r.get("id")): r for r in reply.json().get("responses", [])}
        out = []
        for i, req in enumerate(chunk):
            r = by_id.get(str(i))
            if r is None:  # Graph answers every id; a missing one is a failure, never a success
                out.append(Reply(500, {}, {"error": {"code": "missingResponse"}}, req["url"]))
            else:
                out.append(Reply(int(r.get("status", 500)), r.get("headers") or {}, r.get("body"), req["url"]))
        return out

    def close(self) -> None:
        self.session.close()


def _batch_item(rid: str, r: dict) -> dict:
    item = {"id": rid, "method": r["method"], "url": "/" + r["url"].lstrip("/")}
    headers = dict(r.get("headers") or {})
    if r.get("body") is not None:
        item["body"] = r["body"]
        headers.setdefault("Content-Type", "application/json")
    if headers:
        item["headers"] = headers
    return item


def _reply(resp) -> Reply:
    kind = resp.headers.get("Content-Type", "")
    body: object = None
    if resp.content:
        if "json" in kind:
            try:
                body = resp.json()
            except ValueError:
                body = resp.content
        else:
            body = resp.content
    return Reply(resp.status_code, dict(resp.headers), body, resp.url)


def _first(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]


def host(url: str) -> str:
    """The host of an absolute URL (what "cannot reach" names)."""
    return url.split("/")[2] if "://" in url else url


def _chain(exc: BaseException):
    """The exception and what caused it, down to the socket (requests wraps urllib3 wraps OSError)."""
    seen: list[BaseException] = []
    while isinstance(exc, BaseException) and exc not in seen and len(seen) < 10:
        seen.append(exc)
        yield exc
        exc = (exc.__cause__ or getattr(exc, "reason", None) or (exc.args[0] if exc.args else None)
               or exc.__context__)


def _never_connected(exc: BaseException) -> bool:
    """No connection was ever made (refused, no such name, no route): nothing was sent."""
    import socket

    names = {type(e).__name__ for e in _chain(exc)}
    return bool(names & {"NewConnectionError", "NameResolutionError", "ConnectionRefusedError", "gaierror"}) or any(
        isinstance(e, (ConnectionRefusedError, socket.gaierror)) for e in _chain(exc))


def why_unreachable(exc: BaseException) -> str:
    """A short reason in our words: connection refused / name not found / timed out / TLS: ... ."""
    import socket
    import ssl

    for e in _chain(exc):
        if isinstance(e, ssl.SSLCertVerificationError):
            return f"TLS: {e.verify_message or 'certificate verify failed'}"
        if isinstance(e, ssl.SSLError):
            return f"TLS: {(e.reason or _first(e)).replace('_', ' ').lower()}"
    for e in _chain(exc):
        name = type(e).__name__
        if isinstance(e, ConnectionRefusedError):
            return "connection refused"
        if isinstance(e, socket.gaierror) or name == "NameResolutionError":
            return "name not found"
        if isinstance(e, (TimeoutError, socket.timeout)) or "Timeout" in name:
            return "timed out"
        if isinstance(e, ConnectionResetError):
            return "connection reset"
        if isinstance(e, OSError) and e.strerror:
            return e.strerror.lower()
    return "no connection"


def make_session(ca_bundle: str = ""):
    """A requests session; a configured CA bundle wins over REQUESTS_CA_BUNDLE in the environment."""
    from automation.errors import require

    requests = require("requests", "graph", "A SharePoint/OneDrive tracker")

    class Session(requests.Session):
        def request(self, *args, **kwargs):
            if ca_bundle:
                kwargs.setdefault("verify", ca_bundle)
            return super().request(*args, **kwargs)

    return Session()
