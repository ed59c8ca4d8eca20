"""The service account's delegated sign-in for the Graph workbook API (which has no application
permission): msal's device-code flow once (`ofsted-tracker graph login`), the refresh token kept in
an encrypted cache (msal-extensions: DPAPI, Keychain or libsecret), a silent refresh on every run.
A lapsed sign-in, MFA or conditional access is one line naming `graph login`, never a silent skip."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Callable

from automation.config import Config
from automation.errors import ConfigError, GraphError, GraphSignInExpired, require

_log = logging.getLogger(__name__)
CACHE_NAME = "graph-sign-in.bin"
_STORE = {"lin": "libsecret keyring", "dar": "Keychain", "win": "DPAPI"}  # what encrypts the cache where
LOGIN = "ofsted-tracker graph login"
# Entra's codes for a sign-in that needs a person again, and what to tell them.
_WHY = {
    "AADSTS700082": "has expired (the refresh token lapsed after its inactivity limit)",
    "AADSTS700084": "has expired",
    "AADSTS50173": "was revoked (the password changed or sessions were revoked)",
    "AADSTS50076": "needs multi-factor authentication again",
    "AADSTS50079": "needs multi-factor authentication to be set up",
    "AADSTS53003": "is blocked by a conditional access policy",
    "AADSTS50158": "needs an extra security challenge (conditional access)",
}


def settings(cfg: Config) -> dict:
    """The [sharepoint] table, with tenant_id and client_id required."""
    sec = cfg.section("sharepoint")
    for key in ("tenant_id", "client_id"):
        if not sec.get(key):
            raise ConfigError(f"{cfg.source}: [sharepoint] needs {key} for a SharePoint/OneDrive tracker — add it "
                              "(from the Entra app registration; see README 'The tracker in SharePoint or OneDrive').")
    return sec


def local_folder(cfg: Config) -> Path:
    """[sharepoint] local_folder on this machine, relative to the config file's folder."""
    folder = Path(cfg.section("sharepoint").get("local_folder") or "sharepoint").expanduser()
    if folder.is_absolute():
        return folder
    base = Path(cfg.source).resolve().parent if Path(cfg.source).is_file() else Path.cwd()
    return base / folder


def cache_path(cfg: Config) -> Path:
    given = cfg.section("sharepoint").get("sign_in_cache") or ""
    if not given:
        return local_folder(cfg) / CACHE_NAME
    p = Path(given).expanduser()
    return p if p.is_absolute() else local_folder(cfg) / p


def token_cache(cfg: Config):
    """The persistent msal cache: encrypted, or refused unless the config allows it unencrypted.
    Its `encrypted` attribute says which (login says so)."""
    ext = require("msal_extensions", "graph", "Keeping the SharePoint sign-in")
    path = cache_path(cfg)
    made = [d for d in (path.parent, *path.parent.parents) if not d.exists()]
    had = path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        persistence, encrypted = ext.build_encrypted_persistence(str(path)), True
    except Exception as exc:  # no DPAPI/Keychain/libsecret here (e.g. a server without a desktop keyring)
        # The library's own text (e.g. "sudo apt install python3-gi ...") is for -v; the line is ours.
        _log.info("no encrypted persistence for %s: %s", path, _first(exc))
        if not cfg.section("sharepoint").get("allow_unencrypted_cache"):
            _undo(path, had, made)
            raise GraphError(f"This machine offers no encryption for the SharePoint sign-in cache {path} (no "
                             f"{_STORE.get(sys.platform[:3], 'system keyring')} found) — run `{LOGIN}` on "
                             "Windows or macOS, or install a keyring with libsecret here (Linux), or, knowingly, set "
                             "[sharepoint] allow_unencrypted_cache = true (the cache is then readable by this account "
                             "only); nothing was kept.")
        persistence, encrypted = ext.FilePersistence(str(path)), False
        _owner_only(path)
    cache = ext.PersistedTokenCache(persistence)
    cache.encrypted = encrypted
    return cache


def _undo(path: Path, had: bool, made: list[Path]) -> None:
    """A refused cache leaves nothing behind: no empty file, no folder made for it."""
    for leftover in () if had else (path, path.with_name(path.name + ".lockfile")):
        try:
            if leftover.is_file() and leftover.stat().st_size == 0:
                leftover.unlink()
        except OSError:
            pass
    for folder in made:  # innermost first
        try:
            folder.rmdir()
        except OSError:
            break


def _owner_only(path: Path) -> None:
    """An unencrypted cache readable by this account only (mode 0600), before anything is put in it."""
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(fd)
    os.chmod(path, 0o600)


def public_app(cfg: Config, session, cache=None):
    """msal's PublicClientApplication for [sharepoint] (no secret: a public client)."""
    msal = require("msal", "graph", "Signing in to SharePoint/OneDrive")
    sec = settings(cfg)
    host = sec["authority"].rstrip("/")
    custom = "login.microsoftonline.com" not in host
    try:
        return msal.PublicClientApplication(
            sec["client_id"], authority=f"{host}/{sec['tenant_id']}", token_cache=cache or token_cache(cfg),
            http_client=session, validate_authority=not custom, instance_discovery=not custom)
    except ValueError as exc:
        raise GraphError(f"Cannot reach the sign-in service at {host} ({_first(exc)}) — check [sharepoint] "
                         "authority, tenant_id and the network.")
    except Exception as exc:  # discovery, TLS or network inside msal
        if isinstance(exc, (GraphError, ConfigError)):
            raise
        raise GraphError(f"cannot reach the sign-in service at {_host(host)} ({_why(exc)}) — check the network and "
                         "[sharepoint] authority / ca_bundle.")


def scopes(cfg: Config) -> list[str]:
    return list(cfg.section("sharepoint").get("scopes") or ["Files.ReadWrite.All"])


def _expired(result: dict | None, who: str) -> GraphSignInExpired:
    desc = " ".join(str((result or {}).get("error_description", "")).split())
    code = next((c for c in _WHY if c in desc), "")
    why = _WHY.get(code, "has lapsed" if result else "is missing on this machine")
    err = (result or {}).get("error", "")
    if not code and err == "interaction_required":
        why = "needs the person to sign in again (MFA or conditional access)"
    shown = f" ({code or err})" if code or err else ""
    policy = code in ("AADSTS50076", "AADSTS50079", "AADSTS53003", "AADSTS50158") or err == "interaction_required"
    again = " (if a policy keeps blocking the scheduled run, see README 'Conditional access and MFA')" if policy else ""
    return GraphSignInExpired(f"The SharePoint sign-in{who} {why}{shown} — run `{LOGIN}` as the service account "
                              f"on this machine{again}; nothing was sent or written.")


def token_provider(cfg: Config, session) -> Callable[[bool], str]:
    """Access tokens for the signed-in service account, refreshed silently; raises GraphSignInExpired."""
    made: list = []

    def token(force_refresh: bool = False) -> str:
        if not made:
            made.append(public_app(cfg, session))
        app = made[0]
        accounts = app.get_accounts()
        if not accounts:
            raise _expired(None, "")
        who = f" of {accounts[0].get('username')}" if accounts[0].get("username") else ""
        try:
            result = app.acquire_token_silent_with_error(scopes(cfg), account=accounts[0], force_refresh=force_refresh)
        except Exception as exc:  # the network or TLS inside msal
            raise GraphError(f"cannot reach the sign-in service at {_host(settings(cfg)['authority'])} ({_why(exc)}) — "
                             "check the network; the next run tries again (nothing was sent or written).")
        if not result or "access_token" not in result:
            raise _expired(result, who)
        return result["access_token"]

    return token


def login(cfg: Config, session, say: Callable[[str], None] = print, cache=None) -> str:
    """The device-code flow: say where to go and which code to enter, wait, keep the tokens. The account signed in."""
    app = public_app(cfg, session, cache)
    flow = app.initiate_device_flow(scopes=scopes(cfg))
    if "user_code" not in flow:
        raise GraphError(f"The sign-in service refused to start a device sign-in: {flow.get('error')}: "
                         f"{_first(Exception(flow.get('error_description', '')))} — check [sharepoint] client_id "
                         "and that the app registration allows public client flows.")
    say(f"To sign in as the service account, open {flow['verification_uri']} and enter the code {flow['user_code']}")
    result = app.acquire_token_by_device_flow(flow)
    if "access_token" not in result:
        raise GraphSignInExpired(f"The sign-in did not complete ({result.get('error')}: "
                                 f"{_first(Exception(result.get('error_description', '')))}) — run `{LOGIN}` again.")
    claims = result.get("id_token_claims") or {}
    return str(claims.get("preferred_username") or claims.get("upn") or claims.get("name") or "the account")


def check(cfg: Config, session) -> str:
    """Really use the sign-in: a refresh with the refresh token (not the cached access token) and one cheap
    Graph call as the account. The account's name; raises the run's own one line when either fails."""
    from automation.graph.client import GraphClient

    sec = settings(cfg)
    tokens = token_provider(cfg, session)
    tokens(True)
    client = GraphClient(sec["graph_url"], tokens, session, float(sec["timeout_seconds"]),
                         float(sec["max_wait_seconds"]))
    me = client.request("GET", "me", params={"$select": "userPrincipalName"},
                        what="Checking the SharePoint sign-in (GET /me)").json()
    return str(me.get("userPrincipalName") or "")


def accounts(cfg: Config, session) -> list[str]:
    """The accounts signed in on this machine (from the cache; nothing sent)."""
    return [a.get("username", "") for a in public_app(cfg, session).get_accounts()]


def logout(cfg: Config, session) -> list[str]:
    """Forget every signed-in account on this machine; the accounts removed."""
    app = public_app(cfg, session)
    gone = []
    for a in app.get_accounts():
        app.remove_account(a)
        gone.append(a.get("username", ""))
    return gone


def _host(url: str) -> str:
    from automation.graph.client import host

    return host(str(url).rstrip("/"))


def _why(exc: BaseException) -> str:
    """The network's refusal in a few words (requests' own text runs to a cut-off repr)."""
    from automation.graph.client import why_unreachable

    return why_unreachable(exc) if isinstance(exc, OSError) else _first(exc)


def _first(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return (text or type(exc).__name__)[:200]
