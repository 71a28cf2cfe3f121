"""Live updates: tell a person's open pages and apps that something changed.

Any app above ``notifications`` (or a notifier/refresher here) calls::

    from notifications import live
    live.push(user_id, "escrow:42", {"status": "funded"})

after its change; the message goes out when the current transaction commits (at once when none
is open; never if it rolls back) to every socket of that user, as
``{"type": "update", "topic": "escrow:42", "data": {"status": "funded"}}``. Pages reload the parts
marked ``data-live-topics="escrow:42"`` (static/js/live.js); apps refresh what they show.

Sending never blocks the caller: messages go through the channel layer (Redis) from one
background thread per process with its own event loop. A message is a hint to refresh, never
the only record: a page that missed one catches up by polling, an app by reading the API.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import threading
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)

MESSAGE_TYPE = "live.message"  # the consumer's handler (LiveConsumer.live_message)
SENDS_AT_ONCE = 32


def group_name(user_id: int) -> str:
    """The channel-layer group every socket of ``user_id`` joins."""
    return f"user-{int(user_id)}"


def message(topic: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "update", "topic": topic, "data": data or {}}


def push(user_id: int, topic: str, data: dict[str, Any] | None = None) -> None:
    """Send ``{"type": "update", "topic", "data"}`` to ``user_id``'s sockets once the current
    transaction commits. ``data`` must be JSON: ids and plain values, nothing private to others."""
    payload = message(topic, data)
    transaction.on_commit(lambda: send(user_id, payload))


def send(user_id: int, payload: dict[str, Any]) -> None:
    """Send now (no transaction involved). Returns at once; the background thread sends."""
    _sender().submit(group_name(user_id), {"type": MESSAGE_TYPE, "message": payload})


def flush(timeout: float = 5.0) -> bool:
    """Wait until every message submitted so far has gone to Redis (tests, scripts that exit)."""
    sender = _current
    return sender.flush(timeout) if sender is not None and sender.pid == os.getpid() else True


class _Sender:
    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        self.queue: asyncio.Queue | None = None
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, name="live-sender", daemon=True)
        self.thread.start()
        self.ready.wait(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.queue = asyncio.Queue()
        self.ready.set()
        self.loop.run_until_complete(self._drain())

    async def _drain(self) -> None:
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        # Several sends at once (each is a few Redis round trips): a burst of commits does not
        # queue behind one another. Messages to one user still leave in order (chained).
        slots = asyncio.Semaphore(SENDS_AT_ONCE)
        last: dict[str, asyncio.Task] = {}
        in_flight: set[asyncio.Task] = set()

        async def send_one(group: str, body: dict[str, Any], before: asyncio.Task | None) -> None:
            if before is not None:  # first the earlier message to this user, then a slot
                await asyncio.wait([before])
            async with slots:
                try:
                    await layer.group_send(group, body)
                except Exception:  # a live message is a hint: log, never fail the next one
                    logger.exception("Live message to %s not sent", group)

        while True:
            item = await self.queue.get()
            if isinstance(item, asyncio.Event):  # a flush marker: everything before it has gone
                if in_flight:
                    await asyncio.wait(set(in_flight))
                item.set()
                continue
            group, body = item
            task = asyncio.ensure_future(send_one(group, body, last.get(group)))
            last[group] = task
            in_flight.add(task)

            def done(finished: asyncio.Task, group: str = group) -> None:
                in_flight.discard(finished)
                if last.get(group) is finished:
                    del last[group]

            task.add_done_callback(done)

    def submit(self, group: str, body: dict[str, Any]) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, (group, body))

    def flush(self, timeout: float) -> bool:
        done = threading.Event()

        async def mark() -> None:
            marker = asyncio.Event()
            await self.queue.put(marker)
            await marker.wait()
            done.set()

        asyncio.run_coroutine_threadsafe(mark(), self.loop)
        return done.wait(timeout)


_current: _Sender | None = None
_lock = threading.Lock()


def _sender() -> _Sender:
    global _current
    sender = _current
    if sender is None or sender.pid != os.getpid():  # first use, or a forked child (Celery prefork)
        with _lock:
            if _current is None or _current.pid != os.getpid():
                _current = _Sender()
            sender = _current
    return sender


@atexit.register
def _flush_at_exit() -> None:
    # A command that commits and exits at once still sends what it pushed.
    flush(timeout=2.0)
