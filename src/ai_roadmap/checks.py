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
import functools
import importlib
import importlib.util
import inspect
import multiprocessing as mp
import sys
import time
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
    """What one check found: passed or not, the measured error, and one line of detail.

    ``provided`` is False for an optional part the learner's object does not have (it
    passes: the roadmap's exercise does not ask for it); ``ran`` is False for a check
    skipped because the method it needs already timed out. ``raised`` names the
    exception the learner's code raised, ``timed_out`` the method that did not return.
    """

    passed: bool
    error: float | None = None
    detail: str = ""
    provided: bool = True
    ran: bool = True
    raised: str = ""
    timed_out: str = ""

    @property
    def status(self) -> str:
        if not self.ran:
            return "not run"
        if not self.provided:
            return "not provided"
        return "pass" if self.passed else "FAIL"


ADAPTER_ERRORS = ("AttributeError", "TypeError", "NotImplementedError")


@dataclass(frozen=True)
class Check:
    """One comparison with a trusted library.

    ``calls`` names the learner's methods the check uses; None (the default) means any,
    so once one of them has timed out the check is not run.
    """

    name: str
    run: Callable[[Any], Outcome]
    hint: str
    timeout_s: float = 60.0
    calls: tuple[str, ...] | None = None


def hint_for(check: Check, outcome: Outcome, limit_s: float) -> str:
    """The hint that fits the failure: a hang, an exception, or a wrong answer."""
    if outcome.timed_out:
        return (
            f"{outcome.timed_out} did not return within {limit_s:g} s: look for a loop that never "
            "ends — a stopping test that is never met, an iteration cap that is not applied, "
            "or a step size that diverges."
        )
    if outcome.raised:
        return f"your code raised {outcome.raised}; fix that first ({outcome.detail})."
    return check.hint


def explain_adapter(results: list[tuple[Check, Outcome]]) -> bool:
    """Whether the object looks like it does not fit the interface the checks expect."""
    return any(o.raised in ADAPTER_ERRORS for _, o in results)


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


def _announcing(obj: Any, conn: Any) -> Any:
    """``obj`` with its methods sending ``("enter", name)`` before each outermost call.

    The parent then knows which method a check was in when its time ran out. Runs in
    the forked child only, so patching the learner's class changes nothing outside it.
    """
    depth = [0]

    def wrap(function: Callable[..., Any], name: str) -> Callable[..., Any]:
        @functools.wraps(function)
        def announced(*args: Any, **kwargs: Any) -> Any:
            if depth[0] == 0:
                conn.send(("enter", name))
            depth[0] += 1
            try:
                return function(*args, **kwargs)
            finally:
                depth[0] -= 1

        return announced

    if not isinstance(obj, type):
        return wrap(obj, "__call__") if callable(obj) else obj
    for name in dir(obj):
        if name.startswith("_") and name not in ("__init__", "__call__"):
            continue
        attr = inspect.getattr_static(obj, name)
        if inspect.isfunction(attr):
            setattr(obj, name, wrap(attr, name))
    return obj


def _child(spec: str, module_name: str, index: int, conn: Any) -> None:
    try:
        check = importlib.import_module(module_name).CHECKS[index]
        outcome = check.run(_announcing(load_impl(spec), conn))
    except Exception as exc:
        frames = traceback.extract_tb(exc.__traceback__)
        where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
        outcome = Outcome(
            False, None, f"raised {type(exc).__name__}: {exc}{where}", raised=type(exc).__name__
        )
    conn.send(("done", outcome))
    conn.close()


def _wait(receiver: Any, process: Any, limit: float) -> Outcome:
    """The child's outcome, or why there is none (timed out in which method, or died)."""
    deadline = time.monotonic() + limit
    entered = ""
    while (left := deadline - time.monotonic()) > 0 and receiver.poll(left):
        try:
            kind, value = receiver.recv()
        except EOFError:
            process.join(1.0)
            return Outcome(False, None, f"the process died (exit code {process.exitcode})")
        if kind == "done":
            return value
        entered = value
    if not process.is_alive():
        return Outcome(False, None, f"the process died (exit code {process.exitcode})")
    where = f"{entered} timed out" if entered else "timed out"
    return Outcome(False, None, f"{where} after {limit:.3g} s", timed_out=entered or "the check")


def run_checks(
    module_name: str, spec: str, timeout_scale: float = 1.0, budget_s: float = 300.0
) -> list[tuple[Check, Outcome]]:
    """Run every check of ``module_name`` on the object named by ``spec``.

    Each check has its own time limit, and all of them together ``budget_s`` (both
    scaled by ``timeout_scale``). Once a method of the learner's object has timed out,
    the checks that call it are reported as not run instead of waiting for each.
    """
    module = importlib.import_module(module_name)
    load_impl(spec)  # fail fast, in this process, on an import error
    ctx = mp.get_context("fork")
    deadline = time.monotonic() + budget_s * timeout_scale
    hung: set[str] = set()
    results = []
    for index, check in enumerate(module.CHECKS):
        blocked = hung if check.calls is None else hung & set(check.calls)
        left = deadline - time.monotonic()
        if blocked or left <= 0:
            why = f"{sorted(blocked)[0]} timed out" if blocked else "the time budget was used up"
            results.append((check, Outcome(False, None, f"not run: {why}", ran=False)))
            continue
        receiver, sender = ctx.Pipe(duplex=False)
        process = ctx.Process(target=_child, args=(spec, module_name, index, sender))
        process.start()
        sender.close()
        outcome = _wait(receiver, process, min(check.timeout_s * timeout_scale, left))
        if outcome.timed_out:
            hung.add(outcome.timed_out)
        if process.is_alive():
            process.kill()
        process.join()
        receiver.close()
        results.append((check, outcome))
    return results
