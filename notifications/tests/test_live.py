"""The live-updates socket: who may listen, and that a message goes out on commit only.

Real parts: the ASGI application (config.asgi), the Redis channel layer, PostgreSQL."""

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken

from accounts.tests.factories import UserFactory
from config.asgi import application
from notifications import live, registry

pytestmark = pytest.mark.django_db(transaction=True)
TIMEOUT = 10  # a busy machine: generous for what must arrive; "nothing" waits are short


def token_for(user, *, lifetime: timedelta | None = None) -> str:
    token = AccessToken.for_user(user)
    if lifetime is not None:
        token.set_exp(lifetime=lifetime)
    return str(token)


async def authenticated_socket(user) -> WebsocketCommunicator:
    socket = WebsocketCommunicator(application, "/ws/live/")
    connected, _ = await socket.connect(timeout=TIMEOUT)
    assert connected
    await socket.send_json_to({"type": "auth", "token": token_for(user)})
    assert await socket.receive_json_from(timeout=TIMEOUT) == {"type": "ready", "user": user.pk, "via": "token"}
    return socket


async def refused(socket: WebsocketCommunicator, code: str) -> None:
    error = await socket.receive_json_from(timeout=TIMEOUT)
    assert error["type"] == "error" and error["code"] == code and error["message"]
    assert await socket.receive_output(timeout=TIMEOUT) == {"type": "websocket.close", "code": 4401}


def run(scenario):
    async_to_sync(scenario)()


def test_a_message_arrives_when_the_transaction_commits_and_not_before():
    user = UserFactory()

    async def scenario():
        socket = await authenticated_socket(user)

        def change():
            with transaction.atomic():
                live.push(user.pk, "escrow:7", {"status": "funded"})
                # Still inside the transaction: nothing has gone out.
                return async_to_sync(socket.receive_nothing)(timeout=0.5)

        assert await database_sync_to_async(change)() is True
        message = await socket.receive_json_from(timeout=TIMEOUT)
        assert message == {"type": "update", "topic": "escrow:7", "data": {"status": "funded"}}
        await socket.disconnect()

    run(scenario)


def test_nothing_is_sent_when_the_transaction_rolls_back():
    user = UserFactory()

    async def scenario():
        socket = await authenticated_socket(user)

        def change_then_fail():
            with pytest.raises(RuntimeError), transaction.atomic():
                live.push(user.pk, "escrow:7", {"status": "funded"})
                raise RuntimeError("the payment failed to book")
            live.flush()

        await database_sync_to_async(change_then_fail)()
        assert await socket.receive_nothing(timeout=1.0)
        # The socket still works: the next committed change arrives.
        await database_sync_to_async(lambda: live.push(user.pk, "wallet"))()
        assert (await socket.receive_json_from(timeout=TIMEOUT))["topic"] == "wallet"
        await socket.disconnect()

    run(scenario)


def test_a_socket_gets_only_its_own_users_messages():
    alice, bob = UserFactory(), UserFactory()

    async def scenario():
        alices, bobs = await authenticated_socket(alice), await authenticated_socket(bob)
        # Asking for another user's group is not a thing a socket can do.
        await alices.send_json_to({"type": "subscribe", "group": live.group_name(bob.pk)})
        assert (await alices.receive_json_from(timeout=TIMEOUT))["code"] == "unknown_message"

        await database_sync_to_async(lambda: live.push(bob.pk, "escrow:9", {"status": "funded"}))()
        assert (await bobs.receive_json_from(timeout=TIMEOUT))["topic"] == "escrow:9"
        assert await alices.receive_nothing(timeout=1.0)
        await alices.disconnect()
        await bobs.disconnect()

    run(scenario)


def test_no_token_bad_token_and_expired_token_are_closed():
    user = UserFactory()

    async def scenario():
        missing = WebsocketCommunicator(application, "/ws/live/")
        await missing.connect(timeout=TIMEOUT)
        await missing.send_json_to({"type": "auth"})
        await refused(missing, "token_missing")

        bad = WebsocketCommunicator(application, "/ws/live/")
        await bad.connect(timeout=TIMEOUT)
        await bad.send_json_to({"type": "auth", "token": "not-a-jwt"})
        await refused(bad, "token_invalid")

        expired = WebsocketCommunicator(application, "/ws/live/")
        await expired.connect(timeout=TIMEOUT)
        await expired.send_json_to({"type": "auth", "token": token_for(user, lifetime=-timedelta(seconds=5))})
        await refused(expired, "token_invalid")

        # Anything but auth (or ping) before authenticating closes the socket too.
        eager = WebsocketCommunicator(application, "/ws/live/")
        await eager.connect(timeout=TIMEOUT)
        await eager.send_json_to({"type": "subscribe", "group": live.group_name(user.pk)})
        await refused(eager, "not_authenticated")

    run(scenario)


def test_a_token_that_expires_while_connected_closes_the_socket():
    user = UserFactory()

    async def scenario():
        socket = WebsocketCommunicator(application, "/ws/live/")
        await socket.connect(timeout=TIMEOUT)
        await socket.send_json_to({"type": "auth", "token": token_for(user, lifetime=timedelta(seconds=2))})
        assert (await socket.receive_json_from(timeout=TIMEOUT))["type"] == "ready"
        await refused(socket, "token_expired")
        # And it no longer gets the user's messages.
        await database_sync_to_async(lambda: live.push(user.pk, "wallet"))()
        assert await socket.receive_nothing(timeout=0.5)

    run(scenario)


def session_headers(user, origin: str) -> list[tuple[bytes, bytes]]:
    client = Client()
    client.force_login(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    return [(b"cookie", cookie.encode()), (b"origin", origin.encode())]


def test_a_logged_in_page_joins_with_its_session_but_only_from_our_own_origin():
    user = UserFactory()
    headers_ours = session_headers(user, "http://testserver")
    headers_theirs = session_headers(user, "http://evil.example")

    async def scenario():
        page = WebsocketCommunicator(application, "/ws/live/", headers=headers_ours)
        await page.connect(timeout=TIMEOUT)
        assert await page.receive_json_from(timeout=TIMEOUT) == {"type": "ready", "user": user.pk, "via": "session"}
        await database_sync_to_async(lambda: live.push(user.pk, "wallet"))()
        assert (await page.receive_json_from(timeout=TIMEOUT))["topic"] == "wallet"
        await page.disconnect()

        # Another site's page riding on the user's cookie is not logged in.
        foreign = WebsocketCommunicator(application, "/ws/live/", headers=headers_theirs)
        await foreign.connect(timeout=TIMEOUT)
        assert await foreign.receive_nothing(timeout=0.5)
        await foreign.send_json_to({"type": "ping"})
        assert await foreign.receive_json_from(timeout=TIMEOUT) == {"type": "pong"}
        await database_sync_to_async(lambda: live.push(user.pk, "wallet"))()
        assert await foreign.receive_nothing(timeout=1.0)
        await foreign.disconnect()

    run(scenario)


def test_a_socket_idle_longer_than_the_layers_receive_still_gets_messages():
    # The channel layer blocks on Redis for 5 s at a time; a read timeout as short would end an
    # idle socket's receive loop.
    user = UserFactory()

    async def scenario():
        socket = await authenticated_socket(user)
        assert await socket.receive_nothing(timeout=7)
        await database_sync_to_async(lambda: live.push(user.pk, "wallet"))()
        assert (await socket.receive_json_from(timeout=TIMEOUT))["topic"] == "wallet"
        await socket.disconnect()

    run(scenario)


def test_payout_dispute_and_wallet_events_refresh_their_pages_for_the_people_concerned():
    """A delivered event reaches the sockets of the people it concerns with the topics their open
    pages are marked with (payout, dispute and wallet pages), and nobody else's."""
    from decimal import Decimal

    from disputes.events import DisputeMessagePosted
    from notifications.tasks import event_deliver
    from payments.events import WalletToppedUp
    from payouts.events import PayoutWaiting

    client, tasker, bystander = UserFactory(), UserFactory(), UserFactory()
    # The dispute's and the payout's rows are absent here: their pages still refresh, nobody is told;
    # the top-up's notice needs no row, so the client is also told (topic "notifications").
    message = DisputeMessagePosted(
        dispute_id=9, escrow_id=8, task_id=7, client_id=client.pk, tasker_id=tasker.pk,
        message_id=1, author_id=tasker.pk, from_support=False,
    )  # fmt: skip
    payout = PayoutWaiting(
        payout_id=5, tasker_id=tasker.pk, amount=Decimal("10.00"), net=Decimal("10.00"), currency="USD", reason="x"
    )
    top_up = WalletToppedUp(top_up_id=3, user_id=client.pk, amount=Decimal("20.00"), currency="USD")

    async def topics_of(socket, count):
        got = set()
        for _ in range(count):
            message = await socket.receive_json_from(timeout=TIMEOUT)
            got.add(message["topic"])
        return got

    async def scenario():
        sockets = [await authenticated_socket(u) for u in (client, tasker, bystander)]

        def deliver():
            for event in (message, payout, top_up):
                event_deliver.apply(args=[registry.event_encode(event)]).get(disable_sync_subtasks=False)
            live.flush()

        await database_sync_to_async(deliver)()
        client_topics = await topics_of(sockets[0], 7)
        tasker_topics = await topics_of(sockets[1], 7)
        assert client_topics == {"dispute:9", "disputes", "escrow:8", "task:7", "wallet", "top-up:3", "notifications"}
        assert tasker_topics == {"dispute:9", "disputes", "escrow:8", "task:7", "payouts", "payout:5", "wallet"}
        assert await sockets[2].receive_nothing(timeout=0.5)
        for socket in sockets:
            await socket.disconnect()

    run(scenario)
