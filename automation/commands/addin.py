"""addin build / install: the officer ribbon add-in for Excel."""

from __future__ import annotations

import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("addin", help="the Excel ribbon add-in: build it, install it")
    asub = p.add_subparsers(dest="addin_command", required=True, metavar="ACTION")
    b = asub.add_parser("build", help="build OfstedTracker.xlam from text (reproducible, any OS)")
    b.add_argument("--out", type=Path, default=Path("dist"), help="folder for the .xlam and its sources (default: dist)")
    b.add_argument("--with-excel", action="store_true",
                   help="Windows with Excel: build through Excel itself (for code signing)")
    b.set_defaults(handler=cmd_build)
    i = asub.add_parser("install", help="Windows: put the add-in in XLSTART and write its settings")
    i.add_argument("--xlam", type=Path, help="an add-in already built (default: build one now)")
    i.add_argument("--interpreter", type=Path, help="the Python that runs the actions (default: this one)")
    i.add_argument("--config", type=Path, help="a config.toml to use when none is beside the tracker")
    i.add_argument("--xlstart", type=Path, help="Excel's start-up folder (default: %%APPDATA%%\\Microsoft\\Excel\\XLSTART)")
    i.set_defaults(handler=cmd_install)


def cmd_build(args) -> int:
    from automation.addin.build import build_addin

    if args.with_excel:
        from automation.addin.excel_build import excel_shell

        excel_shell()  # refuse before building anything, rather than after saying "Built"
    target = build_addin(args.out)
    print(f"Built {target} (sources for a build through Excel in {args.out / 'src'}).")
    if args.with_excel:
        from automation.addin.excel_build import build_with_excel

        signed = build_with_excel(args.out / "src", (args.out / "OfstedTracker-excel.xlam").resolve())
        print(f"Built {signed} through Excel: sign it in the VBA editor (Tools > Digital Signature).")
    return 0


def cmd_install(args) -> int:
    from automation.addin.install import install

    xlam = args.xlam
    if xlam is None and sys.platform.startswith("win"):
        from automation.addin.build import build_addin

        xlam = build_addin(Path.home() / ".ofstedtracker" / "build")
    interpreter = args.interpreter or _pythonw()
    root = Path(__file__).resolve().parents[2]  # the checkout, for non-installed copies
    for line in install(xlam or Path("dist/OfstedTracker.xlam"), interpreter, [root], args.xlstart, config=args.config):
        print(line)
    return 0


def _pythonw() -> Path:
    """pythonw.exe beside this Python: runs the actions without a console window."""
    exe = Path(sys.executable)
    windowless = exe.with_name("pythonw.exe")
    return windowless if windowless.exists() else exe
