"""Layout rules a browser relies on: long words wrap, wide tables scroll inside their box.

The pages are checked for the structure and classes, the stylesheets for the rules those
classes need (the browser journeys measure the rendered widths).
"""

import re

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from accounts.tests.factories import ClientFactory, TaskerFactory, UserFactory
from marketplace.tests.factories import OfferFactory, TaskFactory
from payments.models import Escrow
from payments.tests.escrow_helpers import delivered_task

pytestmark = pytest.mark.django_db

LONG_WORD = "Supercalifragilistic" * 6


def _stylesheet(path: str) -> str:
    found = finders.find(path)
    assert found, path
    with open(found) as css:
        return re.sub(r"/\*.*?\*/", "", css.read(), flags=re.S)


def _rule(css: str, selector: str) -> str:
    """The declarations of every rule whose selector list includes ``selector``."""
    bodies = [
        body
        for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css)
        if selector in [s.strip() for s in selectors.split(",")]
    ]
    assert bodies, f"no rule for {selector}"
    return " ".join(bodies)


def _tables_outside_a_scroll_box(html: str) -> int:
    return len(re.findall(r"<table", html)) - len(re.findall(r'<div class="table-scroll"><table', html))


def test_a_long_unbroken_title_wraps_instead_of_widening_the_page(client):
    TaskFactory(title=LONG_WORD)
    body = client.get(reverse("marketplace:task_list")).content.decode()
    assert "<h3><a" in body and LONG_WORD in body

    css = _stylesheet("css/app.css")
    for element in ("h1", "h3", "p"):
        assert "overflow-wrap: anywhere" in _rule(css, element)
    # Grid tracks otherwise grow to their longest word.
    assert "min-width: 0" in _rule(css, ".grid > *")
    assert "minmax(0" in _rule(css, ".two-col")


@pytest.mark.usefixtures("stripe_emulator")
def test_wallet_and_list_tables_scroll_inside_their_card(client):
    task = delivered_task(task=TaskFactory(title=LONG_WORD))
    for user in (task.client, task.accepted_offer.tasker):
        client.force_login(user)
        for page in ("wallets:wallet", "marketplace:my_tasks", "marketplace:my_offers"):
            html = client.get(reverse(page)).content.decode()
            assert _tables_outside_a_scroll_box(html) == 0, page
    client.force_login(task.client)
    assert "<table" in client.get(reverse("marketplace:my_tasks")).content.decode()
    assert "overflow-x: auto" in _rule(_stylesheet("css/app.css"), ".table-scroll")


def test_back_office_pages_load_the_layout_overrides(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    html = client.get(reverse("admin:marketplace_task_changelist")).content.decode()
    assert 'href="/static/css/admin.css"' in html
    css = _stylesheet("css/admin.css")
    assert "overflow-x: auto" in _rule(css, "#changelist .results")
    assert "overflow-wrap: anywhere" in _rule(css, "#result_list td")
    # Django keeps foreign-key columns (the task) on one line; they must be allowed to wrap.
    assert "white-space: normal" in _rule(css, "#result_list td.nowrap")


# --- menus, buttons, timelines ------------------------------------------------------------------


def _client_and_tasker():
    user = ClientFactory()
    user.profile.is_tasker = True
    user.profile.save()
    return user


def _nav(html: str) -> str:
    return html.split('<ul class="nav-links"', 1)[1].split("</ul>", 1)[0]


@pytest.mark.parametrize(
    ("factory", "sees_post", "sees_offers"),
    [(ClientFactory, True, False), (TaskerFactory, False, True), (_client_and_tasker, True, True)],
)
def test_the_menu_offers_what_the_users_roles_allow(client, factory, sees_post, sees_offers):
    client.force_login(factory())
    html = client.get(reverse("marketplace:task_list")).content.decode()
    nav = _nav(html)
    assert (f'href="{reverse("marketplace:task_create")}"' in nav) is sees_post
    assert (f'href="{reverse("marketplace:my_tasks")}"' in nav) is sees_post
    assert (f'href="{reverse("marketplace:my_offers")}"' in nav) is sees_offers
    # Nor does the browse page offer a tasker to post.
    assert (f'href="{reverse("marketplace:task_create")}"' in html) is sees_post


def test_cancel_and_withdraw_are_styled_as_destructive_not_primary(client):
    offer = OfferFactory()
    client.force_login(offer.task.client)
    html = client.get(reverse("marketplace:task_detail", args=[offer.task.pk])).content.decode()
    assert '<button type="submit" class="button danger">Cancel task</button>' in html
    client.force_login(offer.tasker)
    html = client.get(reverse("marketplace:task_detail", args=[offer.task.pk])).content.decode()
    assert '<button type="submit" class="button small danger">Withdraw</button>' in html

    css = _stylesheet("css/app.css")
    primary = _rule(css, "button[type=submit]:not(.link)")
    danger = _rule(css, "button[type=submit].danger")
    # As specific as the primary rule and after it, so it wins; outlined, not filled with the brand.
    assert css.index("button[type=submit].danger") > css.index("button[type=submit]:not(.link)")
    assert "var(--brand)" in primary and "background: #fff" in danger and "var(--bad)" in danger
    assert "background: #fff" in _rule(css, "button[type=submit].secondary")


@pytest.mark.usefixtures("stripe_emulator")
def test_the_task_page_keeps_the_payment_timeline_folded(client):
    task = delivered_task()
    escrow = Escrow.objects.get(task=task)
    client.force_login(task.client)
    html = client.get(reverse("marketplace:task_detail", args=[task.pk])).content.decode()
    assert html.count('<ol class="timeline">') == 2
    assert '<details class="escrow-timeline">' in html
    assert "<summary>Payment timeline (" in html
    # On the payment's own page it is the main content: shown open.
    html = client.get(reverse("payments:escrow_detail", args=[escrow.pk])).content.decode()
    assert '<details class="escrow-timeline" open>' in html
