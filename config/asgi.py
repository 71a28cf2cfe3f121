"""The web process: Django's pages and API over HTTP, live updates over WebSockets (/ws/live/).

Served by uvicorn (``make run``, the Procfile, docker-compose). The socket's session
authentication reads the same cookie as the pages; apps send a JWT in the first message
(notifications/consumers.py).
"""

import os
import warnings

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
django_application = get_asgi_application()
# WhiteNoise serves static files as a file iterator; under ASGI Django reads it in a thread, which is
# right for files and not worth a warning per request.
warnings.filterwarnings(
    "ignore", message="StreamingHttpResponse must consume synchronous iterators"
)  # sets Django up before the consumers are imported

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from notifications.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_application,
        "websocket": AuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
    }
)
