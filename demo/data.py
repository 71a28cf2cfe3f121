"""Demo data for `make run`: a few people and tasks to click through. Idempotent."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.models import Group
from django.db import transaction

from accounts.models import Profile, User
from accounts.roles import FINANCE, SUPPORT

DEMO_PASSWORD = "holdfast-demo"

DEMO_USERS = [
    # email, name, is_client, is_tasker, staff group, superuser
    ("client@holdfast.test", "Cleo Client", True, False, None, False),
    ("tasker@holdfast.test", "Theo Tasker", False, True, None, False),
    ("tasker2@holdfast.test", "Tara Tasker", False, True, None, False),
    ("support@holdfast.test", "Sam Support", True, False, SUPPORT, False),
    ("finance@holdfast.test", "Fin Finance", True, False, FINANCE, False),
    ("admin@holdfast.test", "Ada Admin", True, False, None, True),
]

DEMO_TASKS = [
    (
        "Assemble an IKEA wardrobe",
        "PAX wardrobe, two doors, bedroom on the 2nd floor. Tools available.",
        "assembly",
        "120.00",
    ),
    (
        "Help moving a sofa",
        "Three-seater sofa from a ground-floor flat to a van, then up one floor.",
        "moving",
        "60.00",
    ),
    ("Deep clean a two-bedroom flat", "End of tenancy clean including oven and windows.", "cleaning", "180.00"),
    ("Fix a leaking kitchen tap", "Mixer tap drips constantly; replacement cartridge is here.", "handyman", "45.00"),
]


@transaction.atomic
def demo_users_load() -> dict[str, User]:
    users = {}
    for email, name, is_client, is_tasker, group, superuser in DEMO_USERS:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(
                email=email,
                password=DEMO_PASSWORD,
                name=name,
                is_staff=bool(group) or superuser,
                is_superuser=superuser,
            )
        Profile.objects.get_or_create(
            user=user,
            defaults={
                "is_client": is_client,
                "is_tasker": is_tasker,
                "headline": "Careful, quick and friendly" if is_tasker else "",
                "skills": ["assembly", "moving", "handyman"] if is_tasker else [],
            },
        )
        if group:
            user.groups.add(Group.objects.get(name=group))
        users[email] = user
    return users


def demo_data_load() -> str:
    from marketplace import services as market
    from marketplace.models import Offer, Task

    users = demo_users_load()
    client = users["client@holdfast.test"]
    taskers = [users["tasker@holdfast.test"], users["tasker2@holdfast.test"]]
    created = 0
    for title, description, category, budget in DEMO_TASKS:
        if Task.objects.filter(client=client, title=title).exists():
            continue
        task = market.task_post(
            client=client,
            title=title,
            description=description,
            category=category,
            budget_amount=Decimal(budget),
            budget_currency="USD",
        )
        created += 1
        for i, tasker in enumerate(taskers):
            if not Offer.objects.filter(task=task, tasker=tasker).exists():
                market.offer_submit(
                    task=task,
                    tasker=tasker,
                    amount=Decimal(budget) - Decimal(5 * i),
                    currency="USD",
                    message="I can do this this week, with my own tools.",
                )
    disputes = demo_dispute_load(client=client, tasker=taskers[0])
    summary = f"{len(users)} users, {created} new tasks{', a dispute to look at' if disputes else ''}"
    return f"{summary}; {demo_wallet_load(client)}"


DEMO_DISPUTE_TASK = "Mount a TV on a plaster wall"


def demo_dispute_load(*, client: User, tasker: User) -> int:
    """A delivered task paid at the Stripe emulator, disputed by the client, with a message and a
    settlement proposal: Support's console and the dispute page have something to show. Only with
    the emulator; all or nothing (without Stripe the demo has no half-made task)."""
    from django.conf import settings

    from core.errors import ApplicationError
    from marketplace.models import Task

    if not settings.STRIPE_EMULATED or Task.objects.filter(client=client, title=DEMO_DISPUTE_TASK).exists():
        return 0
    try:
        with transaction.atomic():
            _demo_dispute_create(client=client, tasker=tasker)
    except ApplicationError:
        return 0  # the emulator is not reachable: the demo goes on without a dispute
    return 1


def _demo_dispute_create(*, client: User, tasker: User) -> None:
    from django.conf import settings

    from disputes import services as disputes
    from marketplace import services as market
    from marketplace.models import Task
    from payments import escrow as escrows
    from payments.models import Escrow

    task = market.task_post(
        client=client,
        title=DEMO_DISPUTE_TASK,
        description="55-inch TV, bracket supplied; the wall is old lath and plaster.",
        category="handyman",
        budget_amount=Decimal("90.00"),
        budget_currency="USD",
    )
    offer = market.offer_submit(
        task=task, tasker=tasker, amount=Decimal("90.00"), currency="USD", message="Done it many times."
    )
    market.offer_accept(offer=offer, actor=client)
    escrow = Escrow.objects.get(offer=offer)
    escrows.escrow_payment_confirm(
        escrow=escrow, actor=client, payment_method="pm_card_visa", return_url=settings.SITE_URL
    )
    escrow.refresh_from_db()
    escrows.escrow_fund_from_payment(payment_reference=escrow.payment.reference)
    market.task_mark_delivered(task=Task.objects.get(pk=task.pk), actor=tasker)
    escrow.refresh_from_db()
    dispute = disputes.dispute_open(
        escrow=escrow,
        actor=client,
        reason="not_as_described",
        description="The TV is 3 cm lower on the left and one anchor is loose.",
    )
    disputes.dispute_message_post(dispute=dispute, actor=tasker, body="I can come back on Saturday to level it.")
    disputes.dispute_settlement_propose(dispute=dispute, actor=client, tasker_amount="60.00")


def demo_wallet_load(client: User) -> str:
    """A saved card and a topped-up wallet for the demo client, with the emulator only (never with
    real Stripe keys). Skipped, saying why, when the emulator cannot be reached. Idempotent."""
    from django.conf import settings

    from core.errors import ApplicationError
    from payments import cards, topups
    from payments.models import WalletTopUp

    if not settings.STRIPE_EMULATED:
        return "no demo wallet with real Stripe keys"
    if WalletTopUp.objects.filter(client=client, status=WalletTopUp.Status.SUCCEEDED).exists():
        return "the demo wallet is ready"
    try:
        saved = cards.cards_for_client(user=client)
        if not saved:
            setup = cards.card_setup_start(user=client)
            cards.card_setup_confirm(
                user=client, setup_reference=setup.reference, method="pm_card_visa", return_url="http://localhost/"
            )
            saved = cards.cards_for_client(user=client)
        top_up = topups.top_up_create(client=client, amount=Decimal("250.00"), currency="USD")
        topups.top_up_payment_confirm(
            top_up=top_up, actor=client, payment_method=saved[0].reference, return_url="http://localhost/"
        )
        top_up.refresh_from_db()
        topups.top_up_fund_from_payment(payment_reference=top_up.payment.reference)  # the webhook may come too
    except ApplicationError as exc:
        return f"demo wallet skipped ({exc.message})"
    return "a saved card and 250.00 USD in the client's wallet"
