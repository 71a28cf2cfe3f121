from decimal import Decimal

import factory
from djmoney.money import Money

from accounts.tests.factories import ClientFactory, TaskerFactory
from marketplace.models import Offer, Task


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Task

    client = factory.SubFactory(ClientFactory)
    title = factory.Sequence(lambda n: f"Assemble bookshelf #{n}")
    description = "Two flat-pack bookshelves, tools on site."
    category = Task.Category.ASSEMBLY
    budget = factory.LazyFunction(lambda: Money(Decimal("120.00"), "USD"))
    status = Task.Status.OPEN


class OfferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Offer

    task = factory.SubFactory(TaskFactory)
    tasker = factory.SubFactory(TaskerFactory)
    amount = factory.LazyAttribute(lambda o: Money(Decimal("100.00"), str(o.task.budget.currency)))
    message = "I can do it this weekend."
    status = Offer.Status.PENDING
