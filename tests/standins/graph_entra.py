"""The Microsoft Entra endpoints msal's PublicClientApplication talks to, for the Graph drive
stand-in: OpenID discovery, device-code start, and the token endpoint with the device_code and
refresh_token grants (with scriptable refusals: revoked token, MFA, conditional access)."""

from __future__ import annotations

import base64
import json
import secrets
import time
from urllib.parse import parse_qs

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
RESERVED = {"openid", "profile", "offline_access"}
REFUSALS = {  # fault name -> (error, AADSTS text) as Entra words them
    "refresh_revoked": ("invalid_grant", "AADSTS700082: The refresh token has expired due to inactivity."),
    "interaction_required": ("interaction_required", "AADSTS50076: Due to a configuration change made by your "
                             "administrator, or because you moved to a new location, you must use multi-factor "
                             "authentication to access the resource."),
    "mfa_required": ("interaction_required", "AADSTS50076: you must use multi-factor authentication to access the resource."),
    "conditional_access": ("interaction_required", "AADSTS53003: Access has been blocked by Conditional Access policies."),
}


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def openid_configuration(base: str, tenant: str) -> dict:
    """What GET {authority}/v2.0/.well-known/openid-configuration answers."""
    root = f"{base}/{tenant}"
    return {"token_endpoint": f"{root}/oauth2/v2.0/token",
            "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
            "issuer": f"{base}/{tenant}/v2.0",
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"]}


class Entra:
    """Token issuing and checking; every call is made under the stand-in's lock."""

    def __init__(self, state, base: str, tenant: str, client_id: str, user: str):
        self.state, self.base, self.tenant, self.client_id, self.user = state, base, tenant, client_id, user

    def tenant_ok(self, tenant: str) -> bool:
        """The configured tenant, or the multi-tenant aliases Entra also answers."""
        return tenant in (self.tenant, "organizations", "common")

    def devicecode(self, body: bytes) -> tuple[int, dict]:
        """POST /{tenant}/oauth2/v2.0/devicecode."""
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        if form.get("client_id") != self.client_id:
            return 400, _refusal("unauthorized_client", f"AADSTS700016: Application with identifier "
                                 f"'{form.get('client_id')}' was not found in the directory.")
        code = secrets.token_urlsafe(24)
        user_code = secrets.token_hex(4).upper()
        st = self.state
        st.device_codes[code] = {"user_code": user_code, "status": "approved" if st.auto_approve else "pending",
                                 "scope": form.get("scope", "")}
        url = f"{self.base}/devicelogin"
        return 200, {"device_code": code, "user_code": user_code, "verification_uri": url,
                     "expires_in": 900, "interval": st.device_interval,
                     "message": f"To sign in, use a web browser to open the page {url} and enter the code "
                                f"{user_code} to authenticate."}

    def token(self, body: bytes, fault) -> tuple[int, dict]:
        """POST /{tenant}/oauth2/v2.0/token: device_code and refresh_token grants."""
        st = self.state
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        st.token_requests.append({k: v for k, v in form.items() if k not in ("refresh_token", "device_code")}
                                 | {"grant_type": form.get("grant_type", "")})
        if form.get("client_id") != self.client_id:
            return 400, _refusal("unauthorized_client", f"AADSTS700016: Application with identifier "
                                 f"'{form.get('client_id')}' was not found in the directory.")
        grant = form.get("grant_type")
        if isinstance(fault, str) and fault in REFUSALS:
            if fault == "refresh_revoked":
                st.refresh_tokens.clear()
            return 400, _refusal(*REFUSALS[fault])
        if grant == DEVICE_GRANT:
            flow = st.device_codes.get(form.get("device_code", ""))
            if flow is None:
                return 400, _refusal("invalid_grant", "AADSTS70000: The provided device code is invalid.")
            if flow["status"] == "pending":
                return 400, _refusal("authorization_pending", "AADSTS70016: OAuth 2.0 device flow error. "
                                     "Authorization is pending. Continue polling.")
            if flow["status"] == "declined":
                return 400, _refusal("authorization_declined", "AADSTS70000: The user declined to authorize.")
            del st.device_codes[form["device_code"]]
            return 200, self._issue(form.get("scope", flow["scope"]))
        if grant == "refresh_token":
            if st.refusal:
                return 400, _refusal(*st.refusal)
            if form.get("refresh_token") not in st.refresh_tokens:
                return 400, _refusal(*REFUSALS["refresh_revoked"])
            return 200, self._issue(form.get("scope", ""))
        return 400, _refusal("unsupported_grant_type", f"AADSTS70003: grant type {grant!r} is not supported here.")

    def _issue(self, scope: str) -> dict:
        st = self.state
        st.tokens_issued += 1
        access = f"at-{st.tokens_issued}-{secrets.token_hex(8)}"
        refresh = f"rt-{st.tokens_issued}-{secrets.token_hex(16)}"
        st.access_tokens.add(access)
        st.refresh_tokens.add(refresh)
        now = int(time.time())
        oid = "aaaaaaaa-0000-0000-0000-00000000000b"
        claims = {"iss": f"{self.base}/{self.tenant}/v2.0", "aud": self.client_id, "iat": now, "nbf": now,
                  "exp": now + 3600, "sub": "stand-in-subject", "oid": oid, "tid": self.tenant,
                  "preferred_username": self.user, "name": "Stand-in Officer", "ver": "2.0"}
        id_token = f"{_b64({'typ': 'JWT', 'alg': 'none'})}.{_b64(claims)}.stand-in"
        granted = " ".join(s for s in scope.split() if s not in RESERVED)
        return {"token_type": "Bearer", "scope": granted, "expires_in": st.access_ttl,
                "ext_expires_in": st.access_ttl, "access_token": access, "refresh_token": refresh,
                "id_token": id_token, "client_info": _b64({"uid": oid, "utid": self.tenant})}

    def valid(self, authorization: str) -> bool:
        """Whether an Authorization header carries a live access token."""
        return authorization.removeprefix("Bearer ").strip() in self.state.access_tokens


def _refusal(error: str, description: str) -> dict:
    return {"error": error, "error_description": description, "error_codes": [int(description[6:].split(":")[0])]
            if description.startswith("AADSTS") else [], "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ"),
            "trace_id": secrets.token_hex(8), "correlation_id": secrets.token_hex(8)}
