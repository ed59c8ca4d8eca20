"""graph login / status / logout / release: the service account's sign-in for a SharePoint or
OneDrive tracker, kept on this machine, and the tracker's one-scheduler lease."""

from __future__ import annotations

from pathlib import Path

from automation.config import load_config


def register(sub) -> None:
    p = sub.add_parser("graph", help="sign in to SharePoint/OneDrive for a tracker kept there (the service account)")
    gsub = p.add_subparsers(dest="graph_command", required=True, metavar="ACTION")
    for name, helptext, handler in (
            ("login", "sign in once (device code: open the page shown and enter the code)", cmd_login),
            ("status", "who is signed in here, and whether the sign-in still works", cmd_status),
            ("logout", "forget the sign-in kept on this machine", cmd_logout),
            ("release", "give up this machine's lease on the tracker (to move its schedule)", cmd_release)):
        q = gsub.add_parser(name, help=helptext)
        q.add_argument("--config", type=Path, help="config.toml with the [sharepoint] table")
        q.set_defaults(handler=handler)


def _session(cfg):
    from automation.graph.client import make_session

    return make_session(cfg.section("sharepoint").get("ca_bundle", ""))


def cmd_login(args) -> int:
    from automation.graph import auth

    cfg = load_config(args.config)
    path = auth.cache_path(cfg)
    had = path.exists()
    cache = auth.token_cache(cfg)
    try:
        who = auth.login(cfg, _session(cfg), say=lambda line: print(line, flush=True), cache=cache)
    except BaseException:  # Ctrl-C or a refusal: "nothing changed" must be true, no empty cache left behind
        if not had and path.is_file() and path.stat().st_size == 0:
            path.unlink()
        raise
    kept = ("kept (encrypted)" if getattr(cache, "encrypted", True) else
            "kept UNENCRYPTED (allow_unencrypted_cache = true; readable by this account only)")
    print(f"Signed in as {who}; the sign-in is {kept} in {path} and renewed by every run.")
    return 0


def cmd_status(args) -> int:
    from automation.graph import auth

    cfg = load_config(args.config)
    session = _session(cfg)
    names = auth.accounts(cfg, session)
    if not names:
        print("Not signed in on this machine — run `ofsted-tracker graph login` as the service account.")
        return 10
    # A cached access token outlives a revoked refresh token by up to an hour: refresh and call Graph, as a run would.
    me = auth.check(cfg, session)  # a lapsed, revoked or blocked sign-in raises the run's one line (exit 10)
    print(f"Signed in as {me or ', '.join(names)}; the sign-in works: refreshed and used just now "
          f"(cache {auth.cache_path(cfg)}).")
    return 0


def cmd_logout(args) -> int:
    from automation.graph import auth

    cfg = load_config(args.config)
    gone = auth.logout(cfg, _session(cfg))
    print(f"Signed out {', '.join(gone)} on this machine." if gone else "Nobody was signed in on this machine.")
    if gone:
        print("The tracker's lease (if this machine held one) stays until it lapses: run `ofsted-tracker graph "
              "release` before logging out to hand the schedule to another machine at once.")
    return 0


def cmd_release(args) -> int:
    from automation.errors import ConfigError
    from automation.graph import auth, lease
    from automation.graph.store import GraphWorkbookStore

    cfg = load_config(args.config)
    if not str(auth.settings(cfg).get("tracker") or "").strip():
        raise ConfigError(f"{cfg.source}: no tracker to release — set [sharepoint] tracker to the tracker whose "
                          "lease this machine holds, then run `ofsted-tracker graph release` again.")
    store = GraphWorkbookStore.from_config(cfg)
    where = store.identity
    if lease.release(store, where):
        print(f"Released this machine's lease on {store.name}: another machine may now run it.")
    else:
        print(f"This machine ({lease.machine()}) holds no lease on {store.name}.")
    return 0
