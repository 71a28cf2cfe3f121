"""Every non-trivial read in the marketplace, including who may see what.

Open tasks are public. A task that is no longer open is visible only to its client and to
taskers who made an offer on it; for anyone else it does not exist (``NotFound``), so its
existence is not leaked.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import AnonymousUser
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db.models import Count, Exists, F, Func, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from accounts.models import User
from core.errors import NotFound, ValidationError
from core.money import AMOUNT_LIMIT, validate_currency
from marketplace.models import SEARCH_CONFIG, Offer, OpenTaskCount, Task, TaskEvent

# "relevance" (the default) ranks search results by how well they match; without a search it is
# the same as "newest".
TASK_ORDERINGS: dict[str, tuple[str, ...]] = {
    "relevance": ("-search_rank", "-created_at", "-id"),
    "newest": ("-created_at", "-id"),
    "oldest": ("created_at", "id"),
    "budget": ("budget", "-created_at", "-id"),
    "-budget": ("-budget", "-created_at", "-id"),
}


def _with_offer_counts(queryset: QuerySet[Task]) -> QuerySet[Task]:
    """``offer_count``: the task's pending offers, a subquery per row of the page.

    Not a JOIN and GROUP BY over every matching task: PostgreSQL runs the subquery only for the
    rows it returns (after the LIMIT; it postpones it past a sort too), through the partial
    index of pending offers, and the paginator's COUNT leaves it out. So a page costs the same
    with a hundred open tasks or a million."""
    pending = (
        Offer.objects.filter(task=OuterRef("pk"), status=Offer.Status.PENDING)
        .order_by()
        .values("task")
        .annotate(n=Count("*"))
        .values("n")
    )
    return queryset.select_related("client", "client__profile").annotate(
        offer_count=Coalesce(Subquery(pending, output_field=IntegerField()), 0)
    )


class _BrowseQuerySet(QuerySet):
    """Open tasks for browsing whose ``count()`` (the paginators') may come from ``OpenTaskCount``.

    Only this queryset as the selector returned it knows that: a clone (filtered further, sliced)
    counts its rows as usual."""

    counted_by: dict[str, str] | None = None

    def count(self) -> int:
        if self.counted_by is not None and self._result_cache is None:
            return open_task_count(**self.counted_by)
        return super().count()


class BrowsePaginator(Paginator):
    """The paginator of ``task_list_open()``: a page's rows and the kept open count come in one
    statement (one snapshot, so they agree); for any other list it is Django's paginator."""

    def page(self, number):
        counted_by = getattr(self.object_list, "counted_by", None)
        if counted_by is None or "count" in self.__dict__:
            return super().page(number)
        if isinstance(number, float) and not number.is_integer():
            raise PageNotAnInteger(self.error_messages["invalid_page"])
        try:
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger(self.error_messages["invalid_page"])
        if number < 1:
            raise EmptyPage(self.error_messages["min_page"])
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list.annotate(open_total=_open_total(**counted_by))[bottom : bottom + self.per_page])
        self.__dict__["count"] = rows[0].open_total if rows else open_task_count(**counted_by)
        if number > self.num_pages:
            raise EmptyPage(self.error_messages["no_results"])
        return self._get_page(rows, number, self)

    def get_page(self, number):
        try:
            return self.page(number)
        except PageNotAnInteger:
            return self.page(1)
        except EmptyPage:
            return self.page(self.num_pages)


def _open_counters(*, category: str = "", currency: str = "") -> QuerySet[OpenTaskCount]:
    filters = {"category": category} if category else {}
    if currency:
        filters["currency"] = currency
    return OpenTaskCount.objects.filter(**filters).order_by()


def _open_total(**filters: str) -> Coalesce:
    """The kept open count as a scalar subquery (``SELECT sum(n) …``, no GROUP BY)."""
    total = _open_counters(**filters).values(total=Func(F("n"), function="SUM"))
    return Coalesce(Subquery(total, output_field=IntegerField()), 0)


def open_task_count(*, category: str = "", currency: str = "") -> int:
    """How many tasks are open (in ``category``, in ``currency``): a sum over a few counter rows."""
    return _open_counters(category=category, currency=currency).aggregate(total=Sum("n"))["total"] or 0


def _parse_filter_amount(value: object, *, field: str) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        amount = None
    if amount is None or not amount.is_finite() or amount < 0:
        raise ValidationError(
            "Enter the budget filter as a number, like 50.", code="filter_invalid", details={"field": field}
        )
    # Budgets are below AMOUNT_LIMIT with at most two decimal places. Beyond that a filter matches
    # nothing new, and values like "1e999999" or "1e-999999" overflow PostgreSQL's numeric type.
    if amount >= AMOUNT_LIMIT or amount != amount.quantize(Decimal("0.01")):
        raise ValidationError(
            "Enter the budget filter as an amount below one trillion with at most two decimal places, like 49.99.",
            code="filter_invalid",
            details={"field": field},
        )
    return amount


def task_list_open(
    *,
    q: str = "",
    category: str = "",
    currency: str = "",
    min_budget: object = None,
    max_budget: object = None,
    ordering: str = "relevance",
) -> QuerySet[Task]:
    """Open tasks for browsing, each annotated with ``offer_count`` (pending offers).

    ``q`` is a full-text search over title and description: words in any order, stemmed
    ("mounting" matches "mount"), with web-search syntax ("quoted phrase", ``-word``, ``or``).
    Results come best match first unless another ``ordering`` is asked for.
    """
    queryset = _BrowseQuerySet(model=Task).filter(status=Task.Status.OPEN)
    q = (q or "").strip()
    searching = False
    if q:
        query = SearchQuery(q, search_type="websearch", config=SEARCH_CONFIG)
        # A query of stop words only ("the") matches nothing rather than everything, which is
        # what PostgreSQL does too.
        queryset = queryset.filter(search_vector=query).annotate(search_rank=SearchRank(F("search_vector"), query))
        searching = True
    if category:
        if category not in Task.Category.values:
            raise ValidationError(
                "Choose one of the listed categories.", code="category_invalid", details={"field": "category"}
            )
        queryset = queryset.filter(category=category)
    if currency:
        currency = validate_currency(currency)
        queryset = queryset.filter(budget_currency=currency)
    minimum = _parse_filter_amount(min_budget, field="min_budget")
    maximum = _parse_filter_amount(max_budget, field="max_budget")
    if minimum is not None:
        queryset = queryset.filter(budget__gte=minimum)
    if maximum is not None:
        queryset = queryset.filter(budget__lte=maximum)
    ordering = ordering or "relevance"
    if ordering not in TASK_ORDERINGS:
        raise ValidationError(
            f"Order by one of: {', '.join(TASK_ORDERINGS)}.",
            code="ordering_invalid",
            details={"field": "ordering", "choices": list(TASK_ORDERINGS)},
        )
    if ordering == "relevance" and not searching:
        ordering = "newest"
    browse = _with_offer_counts(queryset).order_by(*TASK_ORDERINGS[ordering])
    if not searching and minimum is None and maximum is None:
        # Kept per category and currency by PostgreSQL (OpenTaskCount): no COUNT over the rows.
        browse.counted_by = {"category": category, "currency": currency or ""}
    return browse


def _visible_tasks(user: User | AnonymousUser | None) -> QuerySet[Task]:
    open_tasks = Q(status=Task.Status.OPEN)
    if user is None or not user.is_authenticated:
        return Task.objects.filter(open_tasks)
    bid_on = Exists(Offer.objects.filter(task=OuterRef("pk"), tasker=user))
    return Task.objects.filter(open_tasks | Q(client=user) | Q(bid_on))


def task_get_visible(*, task_id: int, user: User | AnonymousUser | None) -> Task:
    """The task if ``user`` may see it, else ``NotFound`` (also for tasks that do not exist)."""
    task = (
        _visible_tasks(user)
        .select_related("client", "client__profile", "accepted_offer", "accepted_offer__tasker")
        .filter(pk=task_id)
        .first()
    )
    if task is None:
        raise NotFound("This task does not exist or is not visible to you.", code="task_not_found")
    return task


def offer_list_for_task(*, task: Task, user: User | AnonymousUser | None) -> QuerySet[Offer]:
    """Offers on ``task`` that ``user`` may see: the client sees all, a tasker only their own."""
    offers = Offer.objects.filter(task=task).select_related("tasker", "tasker__profile").order_by("created_at", "id")
    if user is None or not user.is_authenticated:
        return offers.none()
    if task.client_id == user.pk:
        return offers
    return offers.filter(tasker=user)


def offer_get_visible(*, offer_id: int, user: User) -> Offer:
    """The offer if ``user`` made it or owns its task, else ``NotFound``."""
    offer = (
        Offer.objects.select_related("task", "task__client", "tasker", "tasker__profile")
        .filter(Q(tasker=user) | Q(task__client=user), pk=offer_id)
        .first()
    )
    if offer is None:
        raise NotFound("This offer does not exist or is not visible to you.", code="offer_not_found")
    return offer


def task_list_for_client(*, client: User, status: str = "") -> QuerySet[Task]:
    """The tasks ``client`` posted, newest first, with pending offer counts."""
    queryset = Task.objects.filter(client=client)
    if status:
        queryset = queryset.filter(status=status)
    return _with_offer_counts(queryset).select_related("accepted_offer").order_by("-created_at", "-id")


def offer_list_for_tasker(*, tasker: User, status: str = "") -> QuerySet[Offer]:
    """The offers ``tasker`` made, newest first, with their tasks."""
    queryset = Offer.objects.filter(tasker=tasker)
    if status:
        queryset = queryset.filter(status=status)
    return queryset.select_related("task", "task__client").order_by("-created_at", "-id")


def task_timeline(*, task: Task, user: User | AnonymousUser | None) -> QuerySet[TaskEvent]:
    """The task's events in order. Other taskers' offer events are the client's business only."""
    events = TaskEvent.objects.filter(task=task).select_related("actor", "offer", "offer__tasker")
    if user is None or not user.is_authenticated:
        events = events.filter(offer__isnull=True)
    elif task.client_id != user.pk:
        events = events.filter(Q(offer__isnull=True) | Q(offer__tasker=user))
    return events.order_by("created_at", "id")
