"""What must hold: after every step (the invariants) and at the end (every cent, three ways).

After every step (``StepChecks.after_step``):

- no status moved backwards: each escrow, payout, dispute, chargeback, top-up, refund, withdrawal
  and task moved only along its state machine (several moves in one step are fine if each is allowed);
- the ledger's invariants (``wallets.selectors.ledger_invariant_violations``): every entry balanced,
  no wallet or escrow negative, balance columns equal to their postings, every escrow's account
  equal to what its state says it holds, every top-up and the payouts in transit as the ledger says.

At the end (``money_reconcile``): the ledger, each wallet's and escrow's balance column, and the
processor's own records (the emulator's charges, refunds, transfers, reversals, bank payouts,
disputes and balance transactions per account) compared; the counts printed as
``money lost L, created C, doubled D, stuck S``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection

from disputes.models import Chargeback, Dispute
from marketplace.models import Task
from payments.escrow import TRANSITIONS as ESCROW_TRANSITIONS
from payments.models import Escrow, EscrowRefund, WalletTopUp, WalletWithdrawal
from payouts.models import Payout
from payouts.services import TRANSITIONS as PAYOUT_TRANSITIONS
from processors.models import ProcessorTransaction, WebhookEvent
from wallets.models import JournalEntry, LedgerAccount
from wallets.selectors import ledger_invariant_violations

CURRENCY_UNITS = Decimal(100)  # USD: the emulator's amounts are in cents


def _closure(graph: dict[str, set[str] | frozenset[str]]) -> dict[str, set[str]]:
    """Every status reachable from each status in one or more allowed moves."""
    reach: dict[str, set[str]] = {}
    for start in graph:
        seen, todo = set(), list(graph[start])
        while todo:
            status = todo.pop()
            if status not in seen:
                seen.add(status)
                todo.extend(graph.get(status, ()))
        reach[str(start)] = {str(s) for s in seen}
    return reach


E, P, D, C = Escrow.Status, Payout.Status, Dispute.Status, Chargeback.Status
T = Task.Status
MACHINES: dict[str, tuple[object, dict[str, set[str]]]] = {
    "escrow": (Escrow, _closure(ESCROW_TRANSITIONS)),
    "payout": (Payout, _closure(PAYOUT_TRANSITIONS)),
    "dispute": (
        Dispute,
        _closure(
            {
                D.OPEN: {D.AWAITING_RESPONSE, D.UNDER_REVIEW, D.RESOLVED, D.WITHDRAWN},
                D.AWAITING_RESPONSE: {D.UNDER_REVIEW, D.RESOLVED, D.WITHDRAWN},
                D.UNDER_REVIEW: {D.AWAITING_RESPONSE, D.RESOLVED, D.WITHDRAWN},
                D.RESOLVED: set(),
                D.WITHDRAWN: set(),
            }
        ),
    ),
    "chargeback": (
        Chargeback,
        _closure(
            {
                C.WARNING_NEEDS_RESPONSE: {C.WARNING_UNDER_REVIEW, C.WARNING_CLOSED, C.NEEDS_RESPONSE},
                C.WARNING_UNDER_REVIEW: {C.WARNING_CLOSED, C.NEEDS_RESPONSE},
                C.WARNING_CLOSED: set(),
                C.NEEDS_RESPONSE: {C.UNDER_REVIEW, C.WON, C.LOST},
                C.UNDER_REVIEW: {C.WON, C.LOST},
                C.WON: set(),
                C.LOST: set(),
            }
        ),
    ),
    "top_up": (WalletTopUp, {WalletTopUp.Status.AWAITING_PAYMENT: {WalletTopUp.Status.SUCCEEDED}}),
    "refund": (EscrowRefund, {"pending": {"succeeded", "failed"}}),
    "withdrawal": (WalletWithdrawal, {"pending": {"succeeded", "failed"}}),
    "task": (
        Task,
        _closure(
            {
                # An unpaid escrow that expires reopens its task for offers.
                T.OPEN: {T.ASSIGNED, T.CANCELLED},
                T.ASSIGNED: {T.IN_PROGRESS, T.OPEN, T.CANCELLED},
                T.IN_PROGRESS: {T.DELIVERED, T.COMPLETED, T.CANCELLED},
                T.DELIVERED: {T.IN_PROGRESS, T.COMPLETED, T.CANCELLED},
                T.COMPLETED: set(),
                T.CANCELLED: set(),
            }
        ),
    ),
}


class StepChecks:
    """The invariants after each step. ``ledger_every``: run the full ledger check every that many
    steps (1: every step); the status check runs every step."""

    def __init__(self, *, ledger_every: int = 1) -> None:
        self.ledger_every = max(1, ledger_every)
        self.statuses: dict[str, dict[int, str]] = {name: {} for name in MACHINES}
        self.ledger_checks = 0

    def after_step(self, step: int, *, final: bool = False) -> list[str]:
        problems = self.statuses_check()
        if final or step % self.ledger_every == 0:
            self.ledger_checks += 1
            problems += [f"{v.check}: {v.message}" for v in ledger_invariant_violations()]
        return problems

    def statuses_check(self) -> list[str]:
        # One statement for every machine: this runs after every step.
        sql = " UNION ALL ".join(
            f"SELECT '{name}', id, status FROM {model._meta.db_table}" for name, (model, _) in MACHINES.items()
        )
        problems = []
        with connection.cursor() as cursor:
            cursor.execute(sql)
            rows = cursor.fetchall()
        for name, pk, status in rows:
            seen = self.statuses[name]
            before = seen.get(pk)
            if before is not None and before != status and status not in MACHINES[name][1].get(before, ()):
                problems.append(f"status_backwards: {name} {pk} moved from {before} to {status}")
            seen[pk] = status
        return problems


# --- The end: every cent, three ways ------------------------------------------------------------


@dataclass
class Reconciliation:
    lost: Decimal = Decimal("0.00")
    created: Decimal = Decimal("0.00")
    doubled: int = 0
    stuck: int = 0
    details: list[str] = field(default_factory=list)
    figures: dict[str, Decimal] = field(default_factory=dict)
    objects: Counter = field(default_factory=Counter)

    @property
    def clean(self) -> bool:
        return not (self.lost or self.created or self.doubled or self.stuck)

    def line(self) -> str:
        def amount(value: Decimal) -> str:
            return "0" if not value else f"{value:.2f}"

        lost, created = amount(self.lost), amount(self.created)
        return f"money lost {lost}, created {created}, doubled {self.doubled}, stuck {self.stuck}"

    def differ(self, difference: Decimal, what: str) -> None:
        """``difference`` = what Holdfast's books say less what is really there."""
        if difference > 0:
            self.created += difference
        elif difference < 0:
            self.lost += -difference
        if difference:
            self.details.append(f"{what}: {difference:+.2f}")


def _cents(value: int) -> Decimal:
    return (Decimal(value) / CURRENCY_UNITS).quantize(Decimal("0.01"))


def _emulator_snapshot(emulator) -> dict[str, list[dict]]:
    names = ("charges", "payment_intents", "refunds", "transfers", "payouts", "disputes", "balance_transactions")
    with emulator.store.lock:
        return {name: [dict(obj) for obj in emulator.store.coll(name).values()] for name in names}


def money_reconcile(emulator, *, currency: str = "USD") -> Reconciliation:
    """Compare the ledger, the balance columns and the processor's records. Run after the repair jobs."""
    result = Reconciliation()
    stripe = _emulator_snapshot(emulator)
    lower = currency.lower()

    # 1. Ledger against the balance columns: each wallet and escrow account.
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT a.id, a.kind, a.balance, coalesce(sum(p.amount), 0) FROM wallets_ledgeraccount a
                 LEFT JOIN wallets_posting p ON p.account_id = a.id
                WHERE a.kind IN ('user_wallet', 'escrow') AND a.currency = %s GROUP BY a.id""",
            [currency],
        )
        for account_id, kind, column, postings in cursor.fetchall():
            result.objects[f"{kind}_accounts"] += 1
            result.differ(column - postings, f"{kind} account {account_id}: balance column less its postings")
            if column < 0:
                result.details.append(f"{kind} account {account_id} is negative: {column}")
                result.lost += -column
        cursor.execute(
            """SELECT a.kind, coalesce(sum(p.amount), 0) FROM wallets_ledgeraccount a
                 LEFT JOIN wallets_posting p ON p.account_id = a.id WHERE a.currency = %s GROUP BY a.kind""",
            [currency],
        )
        by_kind = dict(cursor.fetchall())
    result.differ(sum(by_kind.values(), Decimal("0")), "the whole ledger does not sum to zero")
    result.figures.update({f"ledger {kind}": total for kind, total in sorted(by_kind.items())})

    # Each escrow's account against what its state says it holds.
    held_by_state = {
        e.pk: (e.client_total - e.refunded_amount if e.funded_at and e.status in (E.FUNDED, E.DISPUTED) else Decimal(0))
        for e in Escrow.objects.filter(currency=currency).only(
            "pk", "status", "client_total", "refunded_amount", "funded_at"
        )
    }
    escrow_accounts = dict(
        LedgerAccount.objects.filter(kind=LedgerAccount.Kind.ESCROW, currency=currency).values_list(
            "owner_id", "balance"
        )
    )
    for pk, held in held_by_state.items():
        result.differ(
            escrow_accounts.get(str(pk), Decimal(0)) - held, f"escrow {pk}: ledger account less what its state holds"
        )

    # 2. The ledger against the processor. What the ledger says is at the processor (its processor
    # balance account, negated) must be what the processor holds on all accounts (platform and
    # connected), plus its card fees (not booked in the ledger), plus bank payouts on their way
    # (the processor has taken them off the balance; the ledger books them when they are paid).
    txns = [t for t in stripe["balance_transactions"] if t["currency"] == lower]
    at_processor = _cents(sum(t["net"] for t in txns))
    card_fees = _cents(sum(t["fee"] for t in txns if t["type"] in ("charge", "payment")))
    bank_on_the_way = _cents(
        sum(
            p["amount"]
            for p in stripe["payouts"]
            if p["currency"] == lower and p["status"] in ("pending", "in_transit")
        )
    )
    ledger_at_processor = -by_kind.get(LedgerAccount.Kind.PROCESSOR_BALANCE, Decimal(0))
    processor_holds = at_processor + card_fees + bank_on_the_way
    result.figures.update(
        {
            "processor: all balances": at_processor,
            "processor: card fees": card_fees,
            "processor: bank payouts on the way": bank_on_the_way,
            "ledger: at the processor": ledger_at_processor,
        }
    )
    result.differ(ledger_at_processor - processor_holds, "ledger's processor balance less the processor's records")

    # The same, object by object: charges captured less refunded, against the ledger's card money.
    captured = _cents(sum(c["amount"] for c in stripe["charges"] if c["captured"] and c["currency"] == lower))
    refunded = _cents(
        sum(r["amount"] for r in stripe["refunds"] if r["status"] == "succeeded" and r["currency"] == lower)
    )
    result.figures["processor: charges captured"] = captured
    result.figures["processor: refunded"] = refunded

    # Per connected account: what was transferred, less reversals and bank payouts, is what it holds.
    per_account = defaultdict(int)
    for t in txns:
        if t["_account"]:
            per_account[t["_account"]] += t["net"]
    for account, balance in sorted(per_account.items()):
        if balance:
            result.stuck += 1
            result.details.append(f"connected account {account} still holds {_cents(balance)} {currency}")

    _match_objects(result, stripe, lower)
    _stuck(result, stripe)
    return result


def _match_objects(result: Reconciliation, stripe: dict[str, list[dict]], lower: str) -> None:
    """``doubled``: a processor object with no Holdfast record (money moved that no ledger entry
    says), or two for one."""
    intents = {pi["id"]: pi for pi in stripe["payment_intents"]}
    escrow_payment = dict(
        Escrow.objects.filter(funded_at__isnull=False, funding_source=Escrow.FundingSource.CARD).values_list(
            "payment__reference", "pk"
        )
    )
    top_up_payment = dict(WalletTopUp.objects.filter(funded_at__isnull=False).values_list("payment__reference", "pk"))
    fundings = Counter(
        JournalEntry.objects.filter(
            kind__in=[JournalEntry.Kind.ESCROW_FUNDING, JournalEntry.Kind.WALLET_TOP_UP]
        ).values_list("idempotency_key", flat=True)
    )
    for key, count in fundings.items():
        if count > 1:
            result.doubled += 1
            result.details.append(f"funding {key} booked {count} times")
    booked = set(escrow_payment) | set(top_up_payment)
    for charge in stripe["charges"]:
        if not charge["captured"] or charge["currency"] != lower:
            continue
        result.objects["charges"] += 1
        pi = charge.get("payment_intent")
        if pi in booked:
            continue
        if charge["amount_refunded"] >= charge["amount"]:
            result.objects["charges returned"] += 1
            continue  # a payment that could not fund anything, given back in full
        result.doubled += 1
        metadata = intents.get(pi, {}).get("metadata", {})
        escrow = Escrow.objects.filter(pk=int(metadata.get("escrow_id") or 0)).first()
        held = (
            f"escrow {escrow.pk} {escrow.status}, paid by {escrow.funding_source}, events "
            + ",".join(escrow.events.order_by("pk").values_list("kind", flat=True))
            if escrow
            else f"metadata {metadata}"
        )
        result.details.append(
            f"charge {charge['id']} ({pi}, {_cents(charge['amount'])}) has no funding in the ledger and was "
            f"not given back: {held}"
        )

    refund_rows = Counter(
        [*EscrowRefund.objects.exclude(processor_reference="").values_list("processor_reference", flat=True)]
        + [*WalletWithdrawal.objects.exclude(processor_reference="").values_list("processor_reference", flat=True)]
    )
    returned = set(
        ProcessorTransaction.objects.filter(kind=ProcessorTransaction.Kind.PAYMENT_RETURNED).values_list(
            "reference", flat=True
        )
    )
    for refund in stripe["refunds"]:
        if refund["status"] != "succeeded" or refund["currency"] != lower:
            continue
        result.objects["refunds"] += 1
        rows = refund_rows.get(refund["id"], 0)
        if rows == 1 or (rows == 0 and refund.get("payment_intent") in returned):
            continue
        result.doubled += 1
        result.details.append(f"refund {refund['id']} matches {rows} Holdfast refund(s)")

    payouts = {p.pk: p for p in Payout.objects.select_related("transfer", "bank_payout")}
    live_transfers = Counter()
    for transfer in stripe["transfers"]:
        if transfer["currency"] != lower:
            continue
        result.objects["transfers"] += 1
        payout = payouts.get(int(transfer["metadata"].get("payout_id", 0) or 0))
        reversed_fully = transfer["amount_reversed"] >= transfer["amount"]
        if payout is None:
            result.doubled += 1
            result.details.append(f"transfer {transfer['id']} names no payout")
            continue
        if not reversed_fully:
            live_transfers[payout.pk] += 1
            if (
                payout.status in (P.FAILED, P.CANCELLED)
                or _cents(transfer["amount"] - transfer["amount_reversed"]) != payout.net
            ):
                result.doubled += 1
                result.details.append(
                    f"transfer {transfer['id']} of payout {payout.pk} ({payout.status}) is not reversed as it should be"
                )
    for pk, count in live_transfers.items():
        if count > 1:
            result.doubled += 1
            result.details.append(f"payout {pk} has {count} transfers not reversed")
    bank_refs = Counter(p.bank_payout.reference for p in payouts.values() if p.bank_payout_id)
    for bank in stripe["payouts"]:
        if bank["currency"] != lower:
            continue
        result.objects["bank payouts"] += 1
        if bank["status"] == "paid":
            result.objects["bank payouts paid"] += 1
            if not Payout.objects.filter(bank_payout__reference=bank["id"], status=P.PAID).exists():
                result.doubled += 1
                result.details.append(f"bank payout {bank['id']} is paid but no payout in Holdfast is")
        if bank_refs.get(bank["id"], 0) == 0 and bank["status"] != "failed":
            result.doubled += 1
            result.details.append(f"bank payout {bank['id']} belongs to no payout")
    chargebacks = set(Chargeback.objects.values_list("reference", flat=True))
    for dispute in stripe["disputes"]:
        result.objects["chargebacks"] += 1
        if dispute["id"] not in chargebacks:
            result.doubled += 1
            result.details.append(f"dispute {dispute['id']} at the processor has no chargeback in Holdfast")


def _stuck(result: Reconciliation, stripe: dict[str, list[dict]]) -> None:
    """``stuck``: objects still in a transient state after the repair jobs ran."""
    succeeded = {pi["id"] for pi in stripe["payment_intents"] if pi["status"] == "succeeded"}

    def stuck(what: str, queryset) -> None:
        for obj in queryset:
            result.stuck += 1
            result.details.append(f"stuck: {what} {obj}")

    stuck(
        "escrow awaiting payment whose payment succeeded",
        [e.pk for e in Escrow.objects.filter(status=E.AWAITING_PAYMENT, payment__reference__in=succeeded)],
    )
    stuck(
        "top-up awaiting payment whose payment succeeded",
        [t.pk for t in WalletTopUp.objects.filter(status="awaiting_payment", payment__reference__in=succeeded)],
    )
    stuck("escrow refund pending", EscrowRefund.objects.filter(status="pending").values_list("pk", flat=True))
    stuck("withdrawal pending", WalletWithdrawal.objects.filter(status="pending").values_list("pk", flat=True))
    stuck(
        "payout processing or in transit",
        Payout.objects.filter(status__in=(P.PROCESSING, P.IN_TRANSIT)).values_list("pk", flat=True),
    )
    stuck(
        "dispute ruled but not carried out",
        Dispute.objects.exclude(outcome="").exclude(status=D.RESOLVED).values_list("pk", flat=True),
    )
    stuck(
        "webhook event not processed",
        WebhookEvent.objects.filter(processed_at__isnull=True).values_list("event_id", flat=True),
    )
    closed_at_processor = {d["id"]: d["status"] for d in stripe["disputes"] if d["status"] in ("won", "lost")}
    for cb in Chargeback.objects.filter(reference__in=closed_at_processor):
        if cb.status != closed_at_processor[cb.reference]:
            result.stuck += 1
            result.details.append(
                f"stuck: chargeback {cb.reference} is {cb.status}, {closed_at_processor[cb.reference]} at the processor"
            )
