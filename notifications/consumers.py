"""The live-updates socket (``/ws/live/``): one per open page or app, joined to its user's group.

Authentication, one of:

- **the session** (pages): a logged-in browser's cookie, from one of our own origins
  (``ALLOWED_HOSTS``), joins at once;
- **a JWT** (apps): the first message is ``{"type": "auth", "token": "<access token>"}`` (never in
  the URL, where proxies log it). A missing, bad or expired token closes the socket with code
  4401; an accepted one closes it with 4401 when the token expires (reconnect with a fresh one).

Nothing else is accepted before authentication, and no message names a group: a socket only ever
gets its own user's messages. The formats are in the README ("Live updates").
"""

from __future__ import annotations

import asyncio
import logging
import time
from urllib.parse import urlparse

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.security.websocket import OriginValidator
from django.conf import settings

from notifications import live

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_BAD_MESSAGE = 4400


class LiveConsumer(AsyncJsonWebsocketConsumer):
    user_id: int | None = None
    group: str | None = None
    _timer: asyncio.TimerHandle | None = None

    async def connect(self) -> None:
        await self.accept()
        user = self.scope.get("user")
        if user is not None and user.is_authenticated and self._same_origin():
            await self._join(user.pk, via="session")
        else:
            self._later(settings.LIVE_AUTH_TIMEOUT_SECONDS, "auth_timeout", 'Send {"type": "auth", "token": …} first.')

    async def disconnect(self, code: int) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self.group is not None:
            try:
                async with _group_slot():
                    await self.channel_layer.group_discard(self.group, self.channel_name)
            except Exception as exc:  # Redis gone: the membership expires by itself (group_expiry)
                logger.warning("Socket of user %s left its group only by expiry: %r", self.user_id, exc)

    async def receive_json(self, content, **kwargs) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "ping":
            await self.send_json({"type": "pong"})
        elif kind == "auth":
            await self._authenticate(content.get("token"))
        elif self.user_id is None:
            await self._refuse("not_authenticated", 'Send {"type": "auth", "token": …} first.')
        else:
            await self.send_json({"type": "error", "code": "unknown_message", "message": "Only ping is accepted."})

    async def decode_json(self, text_data):
        try:
            return await super().decode_json(text_data)
        except ValueError:
            return None

    async def live_message(self, event) -> None:
        await self.send_json(event["message"])

    # --- authentication -----------------------------------------------------------------

    async def _authenticate(self, token) -> None:
        if self.user_id is not None:
            await self.send_json({"type": "error", "code": "already_authenticated", "message": "Already logged in."})
            return
        from rest_framework_simplejwt.exceptions import TokenError
        from rest_framework_simplejwt.tokens import AccessToken

        if not isinstance(token, str) or not token:
            await self._refuse("token_missing", "No token: send an access token from /api/v1/auth/token/.")
            return
        try:
            access = AccessToken(token)
        except TokenError:
            await self._refuse("token_invalid", "The token is not valid or has expired: get a new one.")
            return
        user_id = access.get(settings.SIMPLE_JWT.get("USER_ID_CLAIM", "user_id"))
        if user_id is None or not await _user_active(user_id):
            await self._refuse("token_invalid", "The token is not valid or has expired: get a new one.")
            return
        await self._join(int(user_id), via="token")
        self._later(max(0.0, float(access["exp"]) - time.time()), "token_expired", "The token has expired.")

    async def _join(self, user_id: int, *, via: str) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.user_id = user_id
        self.group = live.group_name(user_id)
        async with _group_slot():
            await self.channel_layer.group_add(self.group, self.channel_name)
        await self.send_json({"type": "ready", "user": user_id, "via": via})

    async def _refuse(self, code: str, message: str) -> None:
        await self.send_json({"type": "error", "code": code, "message": message})
        await self.close(code=CLOSE_UNAUTHENTICATED)

    def _later(self, delay: float, code: str, message: str) -> None:
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(delay, lambda: asyncio.ensure_future(self._expire(code, message)))

    async def _expire(self, code: str, message: str) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            self.group = None
        self.user_id = None
        await self._refuse(code, message)

    def _same_origin(self) -> bool:
        # A session cookie rides along with any page's request: only our own pages may use it.
        origin = dict(self.scope.get("headers", [])).get(b"origin")
        if not origin:
            return False
        allowed = settings.ALLOWED_HOSTS or (["localhost", "127.0.0.1", "[::1]"] if settings.DEBUG else [])
        return OriginValidator(None, allowed).valid_origin(urlparse(origin.decode("latin1")))


# Joining and leaving groups each borrow a Redis connection: when thousands of sockets come or go
# at once (a restart), they take turns instead of exhausting the connection pool.
GROUP_OPERATIONS_AT_ONCE = 100
_slots: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}


def _group_slot() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    slot = _slots.get(loop)
    if slot is None:
        slot = _slots[loop] = asyncio.Semaphore(GROUP_OPERATIONS_AT_ONCE)
    return slot


@database_sync_to_async
def _user_active(user_id) -> bool:
    from accounts.models import User

    return User.objects.filter(pk=user_id, is_active=True).exists()
