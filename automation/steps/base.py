"""What a step module declares, and how the steps package finds them: a module in
automation/steps/ with a module-level STEP is a step of the run; no list to edit."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Callable

from automation.errors import TemplateError
from automation.purposes import Purpose, templated


@dataclass(frozen=True)
class Step:
    """One stage of the run: a function Context -> messages, and the emails it sends."""

    run: Callable
    stage: str  # its line in the run's summary, e.g. "Contact plans"
    order: int  # the run's order, lowest first
    purposes: tuple[Purpose, ...]


def discover(package: str, path) -> list[Step]:
    """Every STEP in the package's modules, in run order; each templated purpose sent by exactly one
    (else a TemplateError when the package is imported, so before anything is read or sent)."""
    found: dict[str, Step] = {}
    for info in pkgutil.iter_modules(path):
        step = getattr(importlib.import_module(f"{package}.{info.name}"), "STEP", None)
        if step is not None:
            found[info.name] = step
    return check(found)


def check(found: dict[str, Step]) -> list[Step]:
    """The steps in order, or a TemplateError (exit 6, as for a template) with one line per problem:
    a step declaring a purpose another already sends, two steps with one order, or a templated
    purpose no step sends."""
    problems: list[str] = []
    owner: dict[Purpose, str] = {}
    orders: dict[int, str] = {}
    for name, step in found.items():
        if step.order in orders:
            problems.append(f"automation/steps/{name}.py: STEP order {step.order} is also "
                            f"automation/steps/{orders[step.order]}.py's — give it its own.")
        orders.setdefault(step.order, name)
        for p in step.purposes:
            if not isinstance(p, Purpose):
                problems.append(f"automation/steps/{name}.py: {p!r} is not a Purpose — add it to "
                                "automation/purposes.py and declare the member.")
            elif p in owner:
                problems.append(f"automation/steps/{name}.py: purpose '{p}' is already sent by "
                                f"automation/steps/{owner[p]}.py — one step per purpose.")
            else:
                owner[p] = name
    problems += [f"automation/purposes.py: purpose Purpose.{p.name} ('{p}') is sent by no step — add it to the "
                 f"purposes of the step that sends it (STEP = Step(run, \"Stage\", order, (Purpose.{p.name},)) in "
                 "a module in automation/steps/), or remove the member."
                 for p in templated() if p not in owner]
    if problems:
        raise TemplateError("\n".join(problems))
    return sorted(found.values(), key=lambda s: s.order)
