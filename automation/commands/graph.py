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
    who = auth.login(cfg, _session(cfg), say=lambda line: print(line, flush=True))
    print(f"Signed in as {who}; the sign-in is kept (encrypted) in {auth.cache_path(cfg)} and renewed by every run.")
    return 0


def cmd_status(args) -> int:
    from automation.graph import auth

    cfg = load_config(args.config)
    session = _session(cfg)
    names = auth.accounts(cfg, session)
    if not names:
        print("Not signed in on this machine — run `ofsted-tracker graph login` as the service account.")
        return 10
    auth.token_provider(cfg, session)(False)  # a lapsed sign-in raises its one line (exit 10)
    print(f"Signed in as {', '.join(names)}; the sign-in works (cache {auth.cache_path(cfg)}).")
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
    from automation.graph import lease
    from automation.graph.store import GraphWorkbookStore

    cfg = load_config(args.config)
    store = GraphWorkbookStore.from_config(cfg)
    where = store.identity
    if lease.release(store, where):
        print(f"Released this machine's lease on {store.name}: another machine may now run it.")
    else:
        print(f"This machine ({lease.machine()}) holds no lease on {store.name}.")
    return 0
