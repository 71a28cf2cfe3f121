"""The services a run talks to and the people in it; each action carried out through the same
service functions the pages and the API call.

A ``World`` is given a running Stripe emulator (in-process, reached over HTTP through the SDK)
and the URL of a running Holdfast (a live server thread) that the emulator delivers its webhooks
to. ``reset()`` empties the database and the emulator and makes the people again, so a list of
actions can be replayed from nothing.
"""

from __future__ import annotations

import contextlib
import random
from collections import Counter
from datetime import timedelta
from decimal import ROUND_DOWN, Decimal

import requests
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.db.models import F, OuterRef, Subquery
from django.utils import timezone

from accounts.models import User
from accounts.roles import FINANCE, SUPPORT, staff_groups_sync
from accounts.services import user_register
from core.errors import ApplicationError
from disputes import services as disputes
from disputes.models import Chargeback, Dispute
from marketplace import services as market
from marketplace.models import Offer, Task
from payments import escrow as escrows
from payments import topups
from payments.models import Escrow, WalletTopUp
from payouts import services as payouts
from payouts.models import Payout, PayoutAccount
from processors.stripe.setup import stripe_setup
from wallets.models import LedgerAccount

PASSWORD = "correct-horse-battery-staple"
CURRENCY = "USD"
RETURN_URL = "http://simulation.invalid/back/"
CATEGORIES = ("assembly", "moving", "cleaning", "handyman", "other")
DISPUTE_REASONS = ("not_delivered", "not_as_described", "quality", "other")
CENT = Decimal("0.01")


class Skipped(Exception):
    """Nothing the action could apply to right now."""


def _choose(queryset, pick: int):
    """One of ``queryset``'s rows, ``pick`` modulo their number (ordered by id), or ``Skipped``."""
    count = queryset.count()
    if not count:
        raise Skipped
    return queryset.order_by("pk")[pick % count]


def _share(total: Decimal, share: float, *, at_least: Decimal = CENT) -> Decimal:
    part = (total * Decimal(str(share))).quantize(CENT, rounding=ROUND_DOWN)
    return max(part, at_least)


class World:
    def __init__(self, *, emulator, site_url: str, population: int = 200) -> None:
        self.emulator = emulator
        self.site_url = site_url.rstrip("/")
        self.population = population
        self.clock_offset = 0  # seconds the emulator's clock has been moved on in this run
        self.users = 0

    # --- a fresh state -----------------------------------------------------------------------

    def reset(self) -> None:
        """An empty database and emulator, Holdfast registered with the emulator again, the staff
        and the first ``population`` users signed up."""
        self.emulator.reset()
        self.emulator.configure_webhooks(duplicates=1, shuffle=False, delay=0)
        call_command("flush", interactive=False, verbosity=0)
        connection.close()  # the flush's session settings do not leak into the run
        cache.clear()
        self.clock_offset = 0
        self.users = 0
        stripe_setup(site_url=self.site_url)
        staff_groups_sync()
        self.support = [self._staff(f"support{i}", SUPPORT) for i in (1, 2)]
        self.finance = [self._staff(f"finance{i}", FINANCE) for i in (1, 2)]
        people = random.Random(self.population)
        for _ in range(self.population):
            roll = people.random()
            self.signup(role="client" if roll < 0.5 else ("tasker" if roll < 0.9 else "both"))

    def _staff(self, name: str, group: str) -> User:
        user = User.objects.create_user(email=f"{name}@staff.simulation.test", password=PASSWORD, is_staff=True)
        user.groups.add(Group.objects.get(name=group))
        return user

    def signup(self, *, role: str) -> User:
        self.users += 1
        return user_register(
            email=f"user{self.users}@simulation.test",
            password=PASSWORD,
            name=f"Simulated user {self.users}",
            is_client=role in ("client", "both"),
            is_tasker=role in ("tasker", "both"),
        )

    # --- helpers -------------------------------------------------------------------------------

    def emulator_post(self, path: str, **data) -> None:
        response = requests.post(self.emulator.url + path, data=data, timeout=30)
        response.raise_for_status()

    def sim_now(self, ahead: int = 0):
        """Holdfast's clock for a beat job run ``ahead`` seconds from now."""
        return timezone.now() + timedelta(seconds=ahead)

    def _wallet_balance_subquery(self):
        return Subquery(
            LedgerAccount.objects.filter(
                kind=LedgerAccount.Kind.USER_WALLET, user_id=OuterRef("client_id"), currency=OuterRef("currency")
            ).values("balance")[:1]
        )

    # --- the actions ------------------------------------------------------------------------------
    # Each returns a short outcome word for the report; refusals raise ``ApplicationError`` (a clean
    # refusal with a code is a valid outcome); ``Skipped`` when nothing applies.

    def do_signup(self, a: dict) -> str:
        self.signup(role=a["role"])
        return "ok"

    def do_post_task(self, a: dict) -> str:
        client = _choose(User.objects.filter(profile__is_client=True, is_staff=False), a["pick"])
        market.task_post(
            client=client,
            title=f"Task {a['pick'] % 10000}",
            description="Two flat-pack bookshelves, tools on site.",
            category=CATEGORIES[a["pick2"] % len(CATEGORIES)],
            budget_amount=a["amount"],
            budget_currency=CURRENCY,
        )
        return "ok"

    def do_bid(self, a: dict) -> str:
        task = _choose(Task.objects.filter(status=Task.Status.OPEN), a["pick"])
        tasker = _choose(
            User.objects.filter(profile__is_tasker=True, is_staff=False).exclude(pk=task.client_id), a["pick2"]
        )
        market.offer_submit(task=task, tasker=tasker, amount=a["amount"], currency=task.currency)
        return "ok"

    def do_accept(self, a: dict) -> str:
        offer = _choose(
            Offer.objects.filter(status=Offer.Status.PENDING, task__status=Task.Status.OPEN).select_related("task"),
            a["pick"],
        )
        market.offer_accept(offer=offer, actor=offer.task.client)
        return "ok"

    def do_pay_card(self, a: dict) -> str:
        escrow = _choose(Escrow.objects.filter(status=Escrow.Status.AWAITING_PAYMENT), a["pick"])
        attempt = escrows.escrow_payment_confirm(
            escrow=escrow, actor=escrow.client, payment_method=a["card"], return_url=RETURN_URL
        )
        if attempt.status == "requires_action":
            escrow.refresh_from_db()
            self.emulator_post(
                f"/emulator/payment_intents/{escrow.payment.reference}/authenticate", outcome=a["authenticate"]
            )
            return f"3ds_{a['authenticate']}"
        return attempt.status

    def do_pay_wallet(self, a: dict) -> str:
        escrow = _choose(
            Escrow.objects.filter(status=Escrow.Status.AWAITING_PAYMENT)
            .annotate(wallet=self._wallet_balance_subquery())
            .filter(wallet__gte=F("client_total")),
            a["pick"],
        )
        escrows.escrow_fund_from_wallet(escrow=escrow, actor=escrow.client)
        return "ok"

    def do_top_up(self, a: dict) -> str:
        clients = User.objects.filter(profile__is_client=True, is_staff=False)
        if a["pick2"] % 10 < 7:  # mostly a client with a task to pay, who will pay it from the wallet
            waiting = clients.filter(escrows_as_client__status=Escrow.Status.AWAITING_PAYMENT).distinct()
            clients = waiting if waiting.exists() else clients
        client = _choose(clients, a["pick"])
        top_up = topups.top_up_create(client=client, amount=a["amount"], currency=CURRENCY)
        attempt = topups.top_up_payment_confirm(
            top_up=top_up, actor=client, payment_method=a["card"], return_url=RETURN_URL
        )
        if attempt.status == "requires_action":
            top_up.refresh_from_db()
            self.emulator_post(
                f"/emulator/payment_intents/{top_up.payment.reference}/authenticate", outcome=a["authenticate"]
            )
            return f"3ds_{a['authenticate']}"
        return attempt.status

    def do_withdraw(self, a: dict) -> str:
        top_up = _choose(
            WalletTopUp.objects.filter(status=WalletTopUp.Status.SUCCEEDED, withdrawn_amount__lt=F("amount")),
            a["pick"],
        )
        amount = None if a["share"] is None else _share(top_up.amount - top_up.withdrawn_amount, a["share"])
        topups.top_up_withdraw(top_up=top_up, actor=top_up.client, amount=amount)
        return "full" if amount is None else "part"

    def _funded_task(self, status: str, pick: int) -> Task:
        return _choose(
            Task.objects.filter(status=status, escrows__status=Escrow.Status.FUNDED).distinct(),
            pick,
        )

    def do_deliver(self, a: dict) -> str:
        task = self._funded_task(Task.Status.IN_PROGRESS, a["pick"])
        market.task_mark_delivered(task=task, actor=task.accepted_offer.tasker)
        return "ok"

    def do_approve(self, a: dict) -> str:
        task = self._funded_task(Task.Status.DELIVERED, a["pick"])
        market.task_complete(task=task, actor=task.client)
        return "ok"

    def do_request_changes(self, a: dict) -> str:
        task = self._funded_task(Task.Status.DELIVERED, a["pick"])
        market.task_request_changes(task=task, actor=task.client, reason="The shelves wobble; fix the left one.")
        return "ok"

    def do_cancel(self, a: dict) -> str:
        task = _choose(
            Task.objects.filter(status__in=(Task.Status.OPEN, Task.Status.ASSIGNED, Task.Status.IN_PROGRESS)),
            a["pick"],
        )
        market.task_cancel(task=task, actor=task.client, reason="Plans changed")
        return task.status

    def do_refund(self, a: dict) -> str:
        escrow = _choose(Escrow.objects.filter(status=Escrow.Status.FUNDED), a["pick"])
        held = escrow.client_total - escrow.refunded_amount
        amount = None if a["share"] is None else _share(held, a["share"])
        escrows.escrow_refund(
            escrow=escrow, amount=amount, actor=self.finance[0], reason="Refund agreed with the client"
        )
        return "full" if amount is None else "part"

    def do_open_dispute(self, a: dict) -> str:
        escrow = _choose(Escrow.objects.filter(status=Escrow.Status.FUNDED), a["pick"])
        actor = escrow.client if a["by"] == "client" else escrow.tasker
        disputes.dispute_open(
            escrow=escrow,
            actor=actor,
            reason=DISPUTE_REASONS[a["pick2"] % len(DISPUTE_REASONS)],
            description="The work is not what we agreed.",
        )
        return a["by"]

    def do_dispute_step(self, a: dict) -> str:
        step = a["step"]
        active = Dispute.objects.filter(status__in=Dispute.ACTIVE).select_related("escrow")
        if step == "approve_ruling":
            dispute = _choose(active.exclude(proposed_outcome=""), a["pick"])
            approver = next(s for s in self.support if s.pk != dispute.proposed_by_id)
            disputes.dispute_ruling_approve(dispute=dispute, actor=approver)
            return step
        dispute = _choose(active.filter(outcome="", proposed_outcome=""), a["pick"])
        escrow = dispute.escrow
        held = escrow.client_total - escrow.refunded_amount
        if step.startswith("rule_"):
            outcome = step.removeprefix("rule_")
            refund = _share(held, a["share"]) if outcome == "split" else None
            if refund is not None and refund >= held:
                refund = held - CENT
            disputes.dispute_rule(
                dispute=dispute,
                actor=self.support[a["pick2"] % 2],
                outcome=outcome,
                reason="Decided on the evidence",
                client_refund=refund,
            )
        elif step == "settle":
            proposer, other = (escrow.client, escrow.tasker) if a["pick2"] % 2 else (escrow.tasker, escrow.client)
            tasker_amount = _share(escrow.tasker_net, a["share"], at_least=Decimal("0"))
            disputes.dispute_settlement_propose(dispute=dispute, actor=proposer, tasker_amount=tasker_amount)
            dispute.refresh_from_db()
            disputes.dispute_settlement_accept(dispute=dispute, actor=other)
        elif step == "withdraw":
            disputes.dispute_withdraw(dispute=dispute, actor=dispute.opened_by)
        elif step == "escalate":
            disputes.dispute_escalate(dispute=dispute, actor=dispute.opened_by)
        return step

    def do_chargeback_answer(self, a: dict) -> str:
        chargeback = _choose(Chargeback.objects.filter(status=Chargeback.Status.NEEDS_RESPONSE), a["pick"])
        if a["answer"] == "accept":
            disputes.chargeback_accept(chargeback=chargeback, actor=self.finance[0])
        else:
            disputes.chargeback_evidence_submit(
                chargeback=chargeback,
                actor=self.finance[a["pick2"] % 2],
                text={"uncategorized_text": a["answer"], "product_description": "The task, done as agreed"},
            )
        return a["answer"]

    def do_onboard(self, a: dict) -> str:
        taskers = User.objects.filter(profile__is_tasker=True, is_staff=False, payout_account=None)
        if a["pick2"] % 10 < 8:  # mostly a tasker who has earned something
            earners = taskers.filter(
                ledger_accounts__kind=LedgerAccount.Kind.USER_WALLET, ledger_accounts__balance__gt=0
            )
            taskers = earners if earners.exists() else taskers
        tasker = _choose(taskers.distinct(), a["pick"])
        account = payouts.payout_account_get_or_create(user=tasker)
        self.emulator_post(f"/emulator/accounts/{account.reference}/complete_onboarding", external_account=a["bank"])
        payouts.payout_account_sync(reference=account.reference)  # what the return page does
        return a["bank"].removeprefix("btok_us_verified").lstrip("_") or "verified"

    def do_fix_bank(self, a: dict) -> str:
        payout = _choose(Payout.objects.filter(status=Payout.Status.FAILED).select_related("account"), a["pick"])
        reference = payout.account.reference
        # The tasker gives another bank account in the Express dashboard (at Stripe).
        self.emulator_post(f"/emulator/accounts/{reference}/complete_onboarding", external_account="btok_us_verified")
        payouts.payout_account_sync(reference=reference)
        return "ok"

    def do_payout_request(self, a: dict) -> str:
        account = _choose(PayoutAccount.objects.filter(payouts_enabled=True), a["pick"])
        wallet = LedgerAccount.objects.filter(
            kind=LedgerAccount.Kind.USER_WALLET, user_id=account.user_id, currency=CURRENCY
        ).first()
        if wallet is None or wallet.balance < settings.PAYOUT_MIN_AMOUNT:
            raise Skipped
        amount = max(_share(wallet.balance, a["share"]), settings.PAYOUT_MIN_AMOUNT)
        payouts.payout_request(tasker=account.user, amount=amount, currency=CURRENCY)
        return "whole" if a["share"] == 1.0 else "part"

    def do_payout_approve(self, a: dict) -> str:
        payout = _choose(Payout.objects.filter(status=Payout.Status.REQUESTED, approvals_required__gt=0), a["pick"])
        approver = next(f for f in self.finance if f.pk != payout.approved_by_id)
        payouts.payout_approve(payout=payout, actor=approver)
        return "ok"

    def do_payout_retry(self, a: dict) -> str:
        payout = _choose(Payout.objects.filter(status=Payout.Status.FAILED).select_related("tasker"), a["pick"])
        payouts.payout_retry(payout=payout, actor=payout.tasker)
        return "ok"

    def do_payout_cancel(self, a: dict) -> str:
        payout = _choose(
            Payout.objects.filter(status__in=(Payout.Status.REQUESTED, Payout.Status.FAILED)).select_related("tasker"),
            a["pick"],
        )
        payouts.payout_cancel(payout=payout, actor=payout.tasker, reason="Not now")
        return "ok"

    def do_advance_clock(self, a: dict) -> str:
        """Time passes: the emulator's clock (card funds settle, bank payouts arrive, evidence falls
        due) and the beat jobs that wait on time, run as at ``seconds`` from now."""
        seconds = a["seconds"]
        self.emulator.advance_clock(seconds)
        self.clock_offset += seconds
        self.emulator.wait_for_deliveries(timeout=60)
        later = self.sim_now(seconds)
        escrows.escrows_release_due(now=later)
        escrows.escrows_expire_unfunded(now=later)
        disputes.disputes_escalate_overdue(now=later)
        for payout_id in payouts.payouts_execute_due(now=later):
            with contextlib.suppress(ApplicationError):  # the processor away: the next run again
                payouts.payout_execute(payout_id=payout_id)
        return f"{seconds // 3600}h"

    def do_repair(self, a: dict | None = None) -> str:
        """The repair jobs, as beat runs them (without their waiting times): payments whose webhook
        never came, refunds and withdrawals not settled, payouts due again or whose bank answer is
        missing."""
        repairs = Counter()
        repairs["escrows_funded"] += escrows.escrows_payment_reconcile(quiet_for=timedelta(0))
        repairs["top_ups_funded"] += topups.top_ups_payment_reconcile(quiet_for=timedelta(0))
        repairs["refunds_settled"] += escrows.escrow_refunds_settle(older_than=timedelta(0))
        repairs["withdrawals_settled"] += topups.withdrawals_settle(older_than=timedelta(0))
        for payout_id in payouts.payouts_execute_due(now=self.sim_now(3600), stuck_after=timedelta(0)):
            with contextlib.suppress(ApplicationError):
                payouts.payout_execute(payout_id=payout_id)
            repairs["payouts_executed"] += 1
        repairs["payouts_refreshed"] += payouts.payouts_refresh_in_transit(older_than=timedelta(0))
        repairs["chargebacks_synced"] += disputes.chargebacks_reconcile()
        return "ok"
