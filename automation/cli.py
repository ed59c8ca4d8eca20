"""The command line: thin wrappers over library functions, and the one place that turns
an error into a message and an exit code."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from automation import __version__
from automation.errors import TrackerError

# Each module registers its subcommands; handlers return an exit status.
COMMAND_MODULES = [
    "automation.commands.basic",
    "automation.commands.mail",
    "automation.commands.after",  # issue 5: follow-ups, reminders, schedule
    "automation.commands.forms",  # issue 5: feedback forms
    "automation.commands.oversight",  # issue 6: review, summary, import-schools
    "automation.commands.addin",  # issue 7: the Excel ribbon add-in
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
        print("ofsted-tracker: stopped. Anything already sent is in the journal; run again to finish.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
