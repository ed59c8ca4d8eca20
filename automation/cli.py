"""The command line: thin wrappers over library functions, and the one place that turns
an error into a message and an exit code."""

from __future__ import annotations

import argparse
import errno
import gc
import importlib
import logging
import sys
import traceback

from automation import __version__
from automation.errors import TrackerError

# Each module registers its subcommands; handlers return an exit status.
COMMAND_MODULES = [
    "automation.commands.basic",
    "automation.commands.mail",
    "automation.commands.after",  # follow-ups, reminders, schedule
    "automation.commands.forms",  # feedback forms
    "automation.commands.oversight",  # review, summary, import-schools
    "automation.commands.addin",  # the Excel ribbon add-in
    "automation.commands.graph",  # the SharePoint/OneDrive sign-in and lease
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ofsted-tracker",
        description="Keeps the LA's promise to schools through Ofsted inspection, from the shared tracker workbook.")
    parser.add_argument("--version", action="version", version=f"ofsted-tracker {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="say more about what happens")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            importlib.import_module(name).register(sub)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a command; errors become a plain message and an exit status, never a traceback."""
    # A command builds hundreds of thousands of small objects (a tracker's cells) and frees few
    # cycles: with the default thresholds the cycle collector ran often enough to cost about a
    # sixth of a 10,000-row run's CPU. Collections still happen, just less often.
    gc.set_threshold(50_000, 20, 100)
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        return int(args.handler(args) or 0)
    except TrackerError as exc:
        print(f"ofsted-tracker: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # output piped into `head` and the like: nothing more to say
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print(f"ofsted-tracker: {_interrupted(args)}", file=sys.stderr)
        return 130
    except OSError as exc:  # full disk, no permission, share gone: the machine, not the tool
        _details(args)
        print(f"ofsted-tracker: {_os_message(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:  # a fault in the tool: one line, never silent; -v shows where
        _details(args)
        print(f"ofsted-tracker: internal error ({type(exc).__name__}: {_first_line(exc)}) — a fault in the tool, "
              "not in your tracker; it stopped here. Run again with -v for details and report them.", file=sys.stderr)
        return 2


_OS_ADVICE = {
    errno.ENOSPC: "the disk or share is full — free some space (or ask IT about the quota) and run again",
    errno.EDQUOT: "your disk quota is used up — free some space (or ask IT to raise it) and run again",
    errno.EACCES: "permission denied — check that your account may read and write that file and its folder",
    errno.EPERM: "not permitted — check that your account may read and write that file and its folder",
    errno.EROFS: "the disk or share is read-only — ask IT, or run on a copy you can write",
}


def _os_message(exc: OSError) -> str:
    where = f" {exc.filename}" if exc.filename else ""
    advice = _OS_ADVICE.get(exc.errno, f"{exc.strerror or _first_line(exc)} — check the file, its folder and the disk, then run again")
    return (f"could not use{where}: {advice}. Emails already sent are in the journal; "
            "the next run finishes the job.")


def _interrupted(args) -> str:
    """What Ctrl-C left: a sign-in only keeps its tokens once complete; a run has its journal."""
    if getattr(args, "command", "") == "graph" and getattr(args, "graph_command", "") == "login":
        return "Sign-in cancelled; nothing changed."
    return "stopped. Anything already sent is in the journal; run again to finish."


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "no detail"


def _details(args) -> None:
    """With -v, the traceback too (for whoever maintains the tool)."""
    if getattr(args, "verbose", False):
        traceback.print_exc(file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
