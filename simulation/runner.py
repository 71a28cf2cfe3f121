"""Run a list of actions against a fresh world, check after each step, reconcile at the end,
report; shrink a failing list to the shortest one that still fails the same way."""

from __future__ import annotations

import contextlib
import json
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field

from celery.exceptions import Retry
from django.conf import settings

from core.errors import ApplicationError
from simulation.actions import actions_generate
from simulation.checks import Reconciliation, StepChecks, money_reconcile
from simulation.world import Skipped, World

# Time the emulator's clock moves on at the end, so that card funds settle and bank payouts arrive
# before the last repair jobs run.
SETTLE_SECONDS = 3 * 86400
WEBHOOK_DELAY_SECONDS = 0.3


@dataclass
class Failure:
    step: int  # 1-based; 0 for the end-of-run reconciliation
    action: dict | None
    problems: list[str]

    @property
    def signature(self) -> frozenset[str]:
        """What kind of failure this is: a shrunk list must fail the same way."""
        return frozenset(problem.split(":", 1)[0] for problem in self.problems)


@dataclass
class RunResult:
    steps: int = 0
    seconds: float = 0.0  # the whole run: the fresh state, the steps, the end
    setup_seconds: float = 0.0  # the fresh state and the first users
    check_seconds: float = 0.0  # the invariants after each step
    actions: Counter = field(default_factory=Counter)
    outcomes: Counter = field(default_factory=Counter)
    faults: Counter = field(default_factory=Counter)
    webhook_failures: int = 0
    ledger_checks: int = 0
    slowest: Counter = field(default_factory=Counter)  # seconds spent per kind
    reconciliation: Reconciliation | None = None
    reconcile_differences: int = 0
    failure: Failure | None = None

    @property
    def failed(self) -> bool:
        return self.failure is not None


@contextlib.contextmanager
def quick_retries():
    """The SDK's network retries (0.5 s and up) and Holdfast's 429 backoff, shortened to
    simulation speed: the same retries, sooner. Holdfast's own 429 retries: two."""
    from stripe._http_client import HTTPClient

    saved = (HTTPClient.INITIAL_DELAY, HTTPClient.MAX_DELAY)
    saved_settings = {
        name: getattr(settings, name)
        for name in ("STRIPE_RATE_LIMIT_RETRIES", "STRIPE_RATE_LIMIT_BACKOFF_BASE", "STRIPE_RATE_LIMIT_BACKOFF_CAP")
    }
    HTTPClient.INITIAL_DELAY, HTTPClient.MAX_DELAY = 0.01, 0.02
    settings.STRIPE_RATE_LIMIT_RETRIES = 2
    settings.STRIPE_RATE_LIMIT_BACKOFF_BASE = 0.005
    settings.STRIPE_RATE_LIMIT_BACKOFF_CAP = 0.01
    try:
        yield
    finally:
        HTTPClient.INITIAL_DELAY, HTTPClient.MAX_DELAY = saved
        for name, value in saved_settings.items():
            setattr(settings, name, value)


class Simulation:
    def __init__(self, world: World, *, ledger_every: int = 1, log=print) -> None:
        self.world = world
        self.emulator = world.emulator
        self.ledger_every = ledger_every
        self.log = log

    # --- one run ---------------------------------------------------------------------------------

    def run(self, actions: list[dict], *, progress_every: int = 0) -> RunResult:
        result = RunResult()
        started = time.monotonic()
        with quick_retries():
            self.world.reset()
            result.setup_seconds = time.monotonic() - started
            checks = StepChecks(ledger_every=self.ledger_every)
            delivered = 0
            for number, action in enumerate(actions, 1):
                problems = self._step(action, result)
                problems += self._webhooks_answered(result, delivered)
                delivered = len(self.emulator.dispatcher.log)
                checked = time.monotonic()
                problems += checks.after_step(number)
                result.check_seconds += time.monotonic() - checked
                result.steps = number
                if problems:
                    result.failure = Failure(step=number, action=action, problems=problems)
                    break
                if progress_every and number % progress_every == 0:
                    rate = number / (time.monotonic() - started - result.setup_seconds)
                    self.log(f"  step {number}: {rate:.1f} steps/s")
            if not result.failed:
                problems = self._finish(result)
                problems += checks.after_step(result.steps, final=True)
                if problems:
                    result.failure = Failure(step=0, action=None, problems=problems)
            result.ledger_checks = checks.ledger_checks
        result.seconds = time.monotonic() - started
        return result

    def _step(self, action: dict, result: RunResult) -> list[str]:
        kind = action["kind"]
        fault = action.get("fault")
        if fault:
            webhook = {fault["webhook"]: 1.0, "delay_seconds": WEBHOOK_DELAY_SECONDS} if "webhook" in fault else None
            self.emulator.configure_faults(
                seed=fault["seed"], rules=[fault["rule"]] if "rule" in fault else [], webhooks=webhook
            )
        problems = []
        began = time.monotonic()
        try:
            outcome = getattr(self.world, f"do_{kind}")(action)
        except Skipped:
            outcome = "skipped"
        except ApplicationError as exc:  # a clean refusal: a sentence and a code, nothing changed
            outcome = f"refused:{exc.code}"
        except Retry:
            # A task the action enqueued asked to be retried later (the processor busy): a worker
            # would run it again after its countdown; eagerly, the retry leaves it to the repair jobs.
            outcome = "task_retry_later"
        except Exception as exc:
            outcome = "crashed"
            problems.append(f"crash: {kind} raised {type(exc).__name__}: {exc}\n{traceback.format_exc(limit=8)}")
        finally:
            self.emulator.wait_for_deliveries(timeout=60)
            if fault:
                result.faults.update({k: v for k, v in self.emulator.fault_counts().items() if v})
                self.emulator.configure_faults()  # off; held answers and deliveries go now
                self.emulator.wait_for_deliveries(timeout=60)
        result.slowest[kind] += time.monotonic() - began
        if outcome != "skipped":
            result.actions[kind] += 1
        result.outcomes[f"{kind}:{outcome}"] += 1
        return problems

    def _webhooks_answered(self, result: RunResult, since: int) -> list[str]:
        """Deliveries Holdfast answered with a server error (the processor retries those; a clean
        system answers each 2xx in the end)."""
        failed = 0
        for job in self.emulator.dispatcher.log[since:]:
            statuses = [r["status"] for r in job["results"]]
            if statuses and not any(s and 200 <= s < 300 for s in statuses):
                failed += 1
        result.webhook_failures += failed
        return []

    def _finish(self, result: RunResult) -> list[str]:
        """The clock moves on so that funds settle and bank payouts arrive; the repair jobs run as
        beat would; then every cent is reconciled."""
        problems = []
        try:
            for _ in range(2):
                self.world.do_advance_clock({"seconds": SETTLE_SECONDS})
                self.world.do_repair()
                self.emulator.wait_for_deliveries(timeout=60)
            self.world.do_repair()
            self.emulator.wait_for_deliveries(timeout=60)
        except Exception as exc:
            problems.append(
                f"crash: the repair jobs raised {type(exc).__name__}: {exc}\n{traceback.format_exc(limit=8)}"
            )
        from payouts.models import ReconciliationDifference
        from payouts.services import payouts_reconcile

        run = payouts_reconcile()  # Holdfast's own daily comparison with the processor
        result.reconcile_differences = run.differences
        for difference in ReconciliationDifference.objects.filter(run=run):
            problems.append(f"reconcile: {difference.message}")
        result.reconciliation = reconciliation = money_reconcile(self.emulator)
        if not reconciliation.clean:
            problems.append(f"money: {reconciliation.line()}")
            problems += [f"money: {detail}" for detail in reconciliation.details[:40]]
        return problems

    # --- shrinking -------------------------------------------------------------------------------

    def shrink(self, actions: list[dict], failure: Failure, *, budget_seconds: float = 600) -> list[dict]:
        """The shortest list found that still fails the same way: the prefix up to the failing step,
        then chunks removed (halves, quarters, … single actions) while it keeps failing, each try a
        replay on a fresh state, within ``budget_seconds``."""
        target = failure.signature
        deadline = time.monotonic() + budget_seconds
        current = actions[: failure.step] if failure.step else list(actions)

        def fails(candidate: list[dict]) -> bool:
            outcome = self.run(candidate)
            return outcome.failed and bool(outcome.failure.signature & target)

        if not failure.step:
            # Found only at the end: first the shortest prefix that fails (a binary search, each
            # try a whole run with its end), then chunks of it removed.
            low, high = 1, len(current)
            while low < high and time.monotonic() < deadline:
                middle = (low + high) // 2
                if fails(current[:middle]):
                    high = middle
                else:
                    low = middle + 1
                self.log(f"  the shortest failing prefix is between {low} and {high} actions")
            current = current[:high]
        chunk = max(1, len(current) // 2)
        while chunk >= 1 and time.monotonic() < deadline:
            start, removed_any = 0, False
            while start < len(current) and time.monotonic() < deadline:
                candidate = current[:start] + current[start + chunk :]
                if candidate and fails(candidate):
                    current, removed_any = candidate, True
                    self.log(f"  shrunk to {len(current)} actions")
                else:
                    start += chunk
            if not removed_any:
                chunk //= 2
        return current


def report(result: RunResult, *, seed: int | None, log=print) -> None:
    stepping = result.seconds - result.setup_seconds
    rate = result.steps / stepping if stepping > 0 else 0.0
    log(
        f"seed {seed}: {result.steps} steps in {result.seconds:.1f} s ({rate:.1f} steps/s after "
        f"{result.setup_seconds:.1f} s to sign the first users up; invariants {result.check_seconds:.1f} s of it)"
    )
    log("actions by kind: " + ", ".join(f"{k} {v}" for k, v in sorted(result.actions.items())))
    refused = Counter()
    for key, count in result.outcomes.items():
        kind, outcome = key.split(":", 1)
        if outcome.startswith("refused"):
            refused[outcome.removeprefix("refused:")] += count
    log("refused (clean errors) by code: " + (", ".join(f"{k} {v}" for k, v in refused.most_common()) or "none"))
    log("faults injected by kind: " + (", ".join(f"{k} {v}" for k, v in sorted(result.faults.items())) or "none"))
    log(f"webhook deliveries Holdfast answered with an error (retried by the processor): {result.webhook_failures}")
    log(f"full ledger checks: {result.ledger_checks}; payouts_reconcile differences: {result.reconcile_differences}")
    slow = ", ".join(f"{k} {v:.1f}s" for k, v in result.slowest.most_common(6))
    log(f"time by kind (top 6): {slow}")
    if result.reconciliation is not None:
        rec = result.reconciliation
        log("objects: " + ", ".join(f"{k} {v}" for k, v in sorted(rec.objects.items())))
        for name, value in rec.figures.items():
            log(f"  {name}: {value}")
        log(rec.line())
    if result.failure is not None:
        where = f"step {result.failure.step}" if result.failure.step else "the end-of-run reconciliation"
        log(f"FAILED at {where} (seed {seed}):")
        for problem in result.failure.problems[:20]:
            log(f"  {problem}")


def simulate(
    world: World,
    *,
    seed: int,
    steps: int,
    faults: bool = True,
    ledger_every: int = 1,
    shrink: bool = True,
    shrink_seconds: float = 600,
    replay: list[dict] | None = None,
    failure_path: str | None = None,
    log=print,
    progress_every: int = 0,
) -> RunResult:
    """Generate (or replay) the actions, run them, report; on failure print the seed and the
    shortest action list that reproduces it (and write it to ``failure_path`` as JSON)."""
    simulation = Simulation(world, ledger_every=ledger_every, log=log)
    actions = replay if replay is not None else actions_generate(seed=seed, steps=steps, faults=faults)
    result = simulation.run(actions, progress_every=progress_every)
    report(result, seed=seed, log=log)
    if result.failed and shrink:
        log("shrinking: replaying shorter lists on a fresh state…")
        smallest = simulation.shrink(actions, result.failure, budget_seconds=shrink_seconds)
        log(f"seed {seed}: the shortest list found that fails ({len(smallest)} actions), replayable:")
        text = json.dumps(smallest, indent=None)
        log(text)
        if failure_path:
            with open(failure_path, "w") as out:
                json.dump({"seed": seed, "problems": result.failure.problems, "actions": smallest}, out, indent=1)
            log(f"written to {failure_path} (python -m simulation --replay {failure_path})")
    return result
