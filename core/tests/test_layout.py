"""Layout rules a browser relies on: long words wrap, wide tables scroll inside their box.

The pages are checked for the structure and classes, the stylesheets for the rules those
classes need (the browser journeys measure the rendered widths).
"""

import re

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from accounts.tests.factories import UserFactory
from marketplace.tests.factories import TaskFactory
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
