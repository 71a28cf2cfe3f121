"""Every main page on a phone (375 × 812): nothing may be wider than the screen.

A page wider than the viewport scrolls sideways on a phone; the check is the document's scroll
width against the window's width, with data that stretches pages (a long unbroken title, a
wallet statement with rows, offers, a payment timeline).
"""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.roles import FINANCE, staff_groups_sync
from accounts.tests.factories import ClientFactory, TaskerFactory, UserFactory
from disputes.tests.factories import dispute_opened
from e2e.conftest import PHONE
from marketplace.tests.factories import OfferFactory, TaskFactory
from payments.tests.escrow_helpers import accepted_escrow, fund

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("stripe_emulator")]

LONG_TITLE = "Mount" + "a" * 90 + "TV"  # one long unbroken word, as a real user once typed


@pytest.fixture
def people():
    client = ClientFactory(email="phone-client@example.com")
    tasker = TaskerFactory(email="phone-tasker@example.com")
    long_task = TaskFactory(client=client, title=LONG_TITLE)
    OfferFactory(task=long_task, tasker=tasker)
    paid = fund(accepted_escrow(offer=OfferFactory(task=TaskFactory(client=client), tasker=tasker)))
    return {"client": client, "tasker": tasker, "long_task": long_task, "paid": paid}


def _overflow(page) -> int:
    """How many pixels the page is wider than the window (0: it fits)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


# (who, page): the URL is resolved with the data from the ``people`` fixture.
PAGES = {
    "browse": (None, lambda d: reverse("marketplace:task_list")),
    "log in": (None, lambda d: reverse("accounts:login")),
    "sign up": (None, lambda d: reverse("accounts:signup")),
    "task (visitor)": (None, lambda d: d["long_task"].get_absolute_url()),
    "post a task": ("client", lambda d: reverse("marketplace:task_create")),
    "my tasks": ("client", lambda d: reverse("marketplace:my_tasks")),
    "task with offers (client)": ("client", lambda d: d["long_task"].get_absolute_url()),
    "paid task (client)": ("client", lambda d: d["paid"].task.get_absolute_url()),
    "checkout": ("client", lambda d: reverse("payments:checkout", args=[d["paid"].pk])),
    "profile": ("client", lambda d: reverse("accounts:profile")),
    "my offers": ("tasker", lambda d: reverse("marketplace:my_offers")),
    "paid task (tasker)": ("tasker", lambda d: d["paid"].task.get_absolute_url()),
    "wallet (client)": ("client", lambda d: reverse("wallets:wallet")),
    "wallet (tasker)": ("tasker", lambda d: reverse("wallets:wallet")),
    "get paid (tasker)": ("tasker", lambda d: reverse("payouts:get_paid")),
}


def _open(browsing, people, name, pages=None):
    """Open the page as its person (one browser context each, reused through ``pages``)."""
    who, url = PAGES[name]
    pages = {} if pages is None else pages
    if who not in pages:
        pages[who] = browsing.page(who or "visitor", viewport=PHONE, user=people[who] if who else None)
    page = pages[who]
    response = page.goto(url(people))
    assert response.status == 200, f"{name}: {response.status}"
    page.wait_for_load_state("load")
    assert page.evaluate("window.innerWidth") == PHONE["width"]
    return page


def test_main_pages_fit_a_phone(browsing, people):
    too_wide, pages = {}, {}
    for name in PAGES:
        overflow = _overflow(_open(browsing, people, name, pages))
        if overflow:
            too_wide[name] = overflow
    assert too_wide == {}, f"pages wider than a {PHONE['width']} px phone (px too wide): {too_wide}"


def test_finance_revenue_dashboard_fits_a_phone(browsing, people):
    """The dashboard's tables have a column per figure: they scroll inside their box, not the page."""
    staff_groups_sync()
    finance = UserFactory(is_staff=True)
    finance.groups.add(Group.objects.get(name=FINANCE))
    page = browsing.page("finance", viewport=PHONE, user=finance)
    response = page.goto("/admin/reporting/ledgerday/?period=30d")
    assert response.status == 200
    page.wait_for_load_state("load")
    assert page.locator("#revenue-totals").is_visible()
    assert _overflow(page) == 0


# Every word of a link inside the element's widest line: a word cut in two ("Wall / et") fails.
WORDS_WHOLE = """el => {
  const probe = document.createElement("span");
  const style = getComputedStyle(el);
  probe.style.cssText = `position:absolute;visibility:hidden;white-space:nowrap;font:${style.font}`;
  document.body.appendChild(probe);
  const width = w => ((probe.textContent = w), probe.getBoundingClientRect().width);
  const widest = Math.max(...el.textContent.trim().split(/\\s+/).map(width));
  probe.remove();
  return widest <= el.getBoundingClientRect().width + 1;
}"""


def test_payment_history_on_a_phone_keeps_words_whole_and_its_filters_alike(browsing, people):
    """The history table scrolls inside its box rather than cutting task names mid-word, and the
    date fields look like the other fields (same border and padding)."""
    page = browsing.page("client", viewport=PHONE, user=people["client"])
    assert page.goto(reverse("reporting:history")).status == 200
    links = page.locator("table.history td a")
    assert links.count() > 0
    cut = [links.nth(i).inner_text() for i in range(links.count()) if not links.nth(i).evaluate(WORDS_WHOLE)]
    assert cut == []
    assert _overflow(page) == 0
    look = "el => { const s = getComputedStyle(el); return [s.borderRadius, s.borderColor, s.paddingLeft]; }"
    assert page.locator("input[type=date][name=date_from]").evaluate(look) == page.locator("#h-period").evaluate(look)


def test_task_names_in_phone_tables_are_not_cut_mid_word(browsing, people):
    """My tasks and My disputes: a wide table scrolls in its box; "Mount a TV" never shows as "Mou / nt"."""
    dispute_opened(people["paid"])
    page = browsing.page("client", viewport=PHONE, user=people["client"])
    cut = {}
    for url in (reverse("marketplace:my_tasks"), reverse("disputes:my_disputes")):
        assert page.goto(url).status == 200
        links = page.locator(".table-scroll td a")
        assert links.count() > 0, url
        cut[url] = [links.nth(i).inner_text() for i in range(links.count()) if not links.nth(i).evaluate(WORDS_WHOLE)]
        assert _overflow(page) == 0, url
    assert cut == {reverse("marketplace:my_tasks"): [], reverse("disputes:my_disputes"): []}
