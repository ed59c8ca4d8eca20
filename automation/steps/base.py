"""What a step module declares, and how the steps package finds them: a module in
automation/steps/ with a module-level STEP is a step of the run; no list to edit."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Callable

from automation.purposes import Purpose, templated


@dataclass(frozen=True)
class Step:
    """One stage of the run: a function Context -> messages, and the emails it sends."""

    run: Callable
    stage: str  # its line in the run's summary, e.g. "Contact plans"
    order: int  # the run's order, lowest first
    purposes: tuple[Purpose, ...]


def discover(package: str, path) -> list[Step]:
    """Every STEP in the package's modules, in run order; each templated purpose sent by exactly one."""
    found: dict[str, Step] = {}
    for info in pkgutil.iter_modules(path):
        step = getattr(importlib.import_module(f"{package}.{info.name}"), "STEP", None)
        if step is not None:
            found[info.name] = step
    return check(found)


def check(found: dict[str, Step]) -> list[Step]:
    """The steps in order, or a RuntimeError naming the module: a step declaring a purpose
    another already sends, two steps with one order, or a templated purpose no step sends."""
    owner: dict[Purpose, str] = {}
    orders: dict[int, str] = {}
    for name, step in found.items():
        if step.order in orders:
            raise RuntimeError(f"automation/steps/{name}.py: STEP order {step.order} is also "
                               f"automation/steps/{orders[step.order]}.py's — give it its own.")
        orders[step.order] = name
        for p in step.purposes:
            if not isinstance(p, Purpose):
                raise RuntimeError(f"automation/steps/{name}.py: {p!r} is not a Purpose — add it to "
                                   "automation/purposes.py and declare the member.")
            if p in owner:
                raise RuntimeError(f"automation/steps/{name}.py: purpose '{p}' is already sent by "
                                   f"automation/steps/{owner[p]}.py — one step per purpose.")
            owner[p] = name
    unsent = [p for p in templated() if p not in owner]
    if unsent:
        raise RuntimeError(f"purpose(s) {', '.join(map(str, unsent))} in automation/purposes.py are sent by no "
                           "step — declare them in a step module's STEP, or remove them.")
    return sorted(found.values(), key=lambda s: s.order)
