"""The service account's delegated sign-in for the Graph workbook API (which has no application
permission): msal's device-code flow once (`ofsted-tracker graph login`), the refresh token kept in
an encrypted cache (msal-extensions: DPAPI, Keychain or libsecret), a silent refresh on every run.
A lapsed sign-in, MFA or conditional access is one line naming `graph login`, never a silent skip."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from automation.config import Config
from automation.errors import ConfigError, GraphError, GraphSignInExpired, require

CACHE_NAME = "graph-sign-in.bin"
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
    """The persistent msal cache: encrypted, or refused unless the config allows it unencrypted."""
    ext = require("msal_extensions", "graph", "Keeping the SharePoint sign-in")
    path = cache_path(cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        persistence = ext.build_encrypted_persistence(str(path))
    except Exception as exc:  # no DPAPI/Keychain/libsecret here (e.g. a server without a desktop keyring)
        if not cfg.section("sharepoint").get("allow_unencrypted_cache"):
            raise GraphError(f"This machine offers no encryption for the SharePoint sign-in cache "
                             f"({_first(exc)}) — install libsecret (Linux) or run on Windows/macOS, or set "
                             "[sharepoint] allow_unencrypted_cache = true to keep it readable by this account only.")
        persistence = ext.FilePersistence(str(path))
        _owner_only(path)
    return ext.PersistedTokenCache(persistence)


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
        raise GraphError(f"Cannot reach the sign-in service at {host} ({_first(exc)}) — check the network and "
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
            raise GraphError(f"Cannot reach the sign-in service ({_first(exc)}) — check the network; the next run "
                             "tries again (nothing was sent or written).")
        if not result or "access_token" not in result:
            raise _expired(result, who)
        return result["access_token"]

    return token


def login(cfg: Config, session, say: Callable[[str], None] = print) -> str:
    """The device-code flow: say where to go and which code to enter, wait, keep the tokens. The account signed in."""
    app = public_app(cfg, session)
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


def _first(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return (text or type(exc).__name__)[:200]
