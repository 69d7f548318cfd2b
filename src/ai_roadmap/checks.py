"""Checks: measured errors against tolerances, and ``roadmap check`` on a learner's own code.

Two kinds of check share this module. A :class:`CheckRecord` is one reference
check a milestone ran on our own code (an error, its tolerance, passed or not);
milestones judged by ``checks_failed`` collect them with :func:`record`, then
:func:`summarise` and :func:`write_table`. ``roadmap check`` runs the same kind
of comparison on the learner's implementation:

A milestone that supports checking declares, in its module:

* ``ADAPTER`` — one paragraph saying what the learner's object must provide
  (e.g. "a class with ``fit(X)``, ``transform(X)``, ``components_``"), and
* ``CHECKS`` — a list of :class:`Check`. Each check receives the learner's
  object (the class or function named by ``--impl``), compares it with a trusted
  library on fixed inputs and returns a :class:`Outcome` with the measured error.

Each check runs in its own child process with a time limit, so a learner's code
that raises, hangs or crashes fails that one check with a clear message and
never takes the tool down. Our own implementation must pass the same checks
(the tests marked ``reference``).
"""

from __future__ import annotations

import csv
import importlib
import importlib.util
import multiprocessing as mp
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ai_roadmap.errors import UsageError


@dataclass(frozen=True)
class CheckRecord:
    """One theory check: the measured error against its tolerance."""

    name: str
    error: float
    tolerance: float
    passed: bool
    detail: str = ""
    seconds: float = 0.0


def record(name: str, error: float, tolerance: float, detail: str = "") -> CheckRecord:
    """passed = error ≤ tolerance; a NaN error never passes."""
    error = float(error)
    return CheckRecord(name, error, tolerance, bool(error <= tolerance), detail)


def summarise(records: list[CheckRecord]) -> tuple[dict[str, float], list[str]]:
    """Metrics (``checks_failed`` — the target —, ``checks_passed``, ``err_<check>``) and
    one pass/FAIL note per check with its error and tolerance."""
    failed = [r for r in records if not r.passed]
    metrics = {
        "checks_failed": float(len(failed)),
        "checks_passed": float(len(records) - len(failed)),
    }
    metrics.update({f"err_{r.name}": r.error for r in records})
    notes = [
        f"{'pass' if r.passed else 'FAIL'} {r.name}: error {r.error:.3g}"
        f" {'<=' if r.passed else '>'} tolerance {r.tolerance:.3g}"
        + (f" ({r.detail})" if r.detail else "")
        for r in records
    ]
    return metrics, notes


def write_table(records: list[CheckRecord], path: Path) -> Path:
    """One CSV row per check: name, error, tolerance, passed, seconds, detail."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["check", "error", "tolerance", "passed", "seconds", "detail"])
        for r in records:
            writer.writerow(
                [
                    r.name,
                    f"{r.error:.3e}",
                    f"{r.tolerance:.3e}",
                    r.passed,
                    f"{r.seconds:.3f}",
                    r.detail,
                ]
            )
    return path


@dataclass(frozen=True)
class Outcome:
    passed: bool
    error: float | None = None
    detail: str = ""


@dataclass(frozen=True)
class Check:
    name: str
    run: Callable[[Any], Outcome]
    hint: str
    timeout_s: float = 60.0


def load_impl(spec: str) -> Any:
    """``package.module:Name`` or ``path/to/file.py:Name`` → the object."""
    target, sep, attr = spec.rpartition(":")
    if not sep or not target or not attr:
        raise UsageError(f"--impl {spec!r}: use module.path:Name or path/to/file.py:Name")
    try:
        if target.endswith(".py"):
            path = Path(target).expanduser().resolve()
            if not path.exists():
                raise UsageError(f"--impl: no file {path}")
            name = f"roadmap_learner_{path.stem}"
            module_spec = importlib.util.spec_from_file_location(name, path)
            if module_spec is None or module_spec.loader is None:
                raise UsageError(f"--impl: cannot import {path}")
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[name] = module
            module_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(target)
    except UsageError:
        raise
    except Exception as exc:  # the learner's module itself failed to import
        raise UsageError(
            f"--impl: importing {target} failed: {type(exc).__name__}: {exc}"
        ) from None
    if not hasattr(module, attr):
        raise UsageError(f"--impl: {target} has no {attr!r}")
    return getattr(module, attr)


def _child(spec: str, module_name: str, index: int, conn: Any) -> None:
    try:
        check = importlib.import_module(module_name).CHECKS[index]
        outcome = check.run(load_impl(spec))
    except Exception as exc:
        frames = traceback.extract_tb(exc.__traceback__)
        where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
        outcome = Outcome(False, None, f"raised {type(exc).__name__}: {exc}{where}")
    conn.send(outcome)
    conn.close()


def run_checks(
    module_name: str, spec: str, timeout_scale: float = 1.0
) -> list[tuple[Check, Outcome]]:
    """Run every check of ``module_name`` on the object named by ``spec``."""
    module = importlib.import_module(module_name)
    load_impl(spec)  # fail fast, in this process, on an import error
    ctx = mp.get_context("fork")
    results = []
    for index, check in enumerate(module.CHECKS):
        receiver, sender = ctx.Pipe(duplex=False)
        process = ctx.Process(target=_child, args=(spec, module_name, index, sender))
        process.start()
        sender.close()
        limit = check.timeout_s * timeout_scale
        got = receiver.poll(limit)  # outcomes are small: the child never blocks on send
        process.join(1.0 if got else 0.1)
        if got:
            try:
                outcome = receiver.recv()
            except EOFError:
                outcome = Outcome(False, None, f"the process died (exit code {process.exitcode})")
        elif process.is_alive():
            outcome = Outcome(False, None, f"timed out after {limit:g} s")
        else:
            outcome = Outcome(False, None, f"the process died (exit code {process.exitcode})")
        if process.is_alive():
            process.kill()
            process.join()
        receiver.close()
        results.append((check, outcome))
    return results
