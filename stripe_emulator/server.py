"""HTTP front end: a ThreadingHTTPServer that can run standalone or in a test's background thread."""

import collections
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from . import (
    API_VERSION,
    faults,
    forms,
    resources,  # noqa: F401  (registers routes)
    router,
)
from .store import Store
from .webhooks import Dispatcher


class _Handler(BaseHTTPRequestHandler):
    server_version = "stripe-emulator/1.0"
    protocol_version = "HTTP/1.1"
    # One write per response, and no Nagle: headers and body written separately on a kept-alive
    # connection made each SDK call wait for the client's delayed ACK (~40 ms).
    disable_nagle_algorithm = True
    wbufsize = 64 * 1024

    def log_message(self, fmt, *args):
        if self.server.emulator.verbose:
            super().log_message(fmt, *args)

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_DELETE(self):
        self._handle("DELETE")

    def _handle(self, method):
        emulator = self.server.emulator
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        params = forms.decode(parts.query)
        content_type = self.headers.get("Content-Type") or ""
        if raw and content_type.startswith("multipart/form-data"):
            params.update(forms.decode_multipart(raw, content_type))  # file uploads (POST /v1/files)
        elif raw:
            body = raw.decode("utf-8")
            if content_type.startswith("application/json"):
                params.update(json.loads(body))
            else:
                params.update(forms.decode(body))
        headers = {k.lower(): v for k, v in self.headers.items()}
        host = self.headers.get("Host") or f"{emulator.host}:{emulator.port}"
        req = router.Request(
            emulator.store, method, parts.path.rstrip("/") or "/", params, headers, base_url=f"http://{host}"
        )
        req.dispatcher = emulator.dispatcher
        req.server = emulator

        fault = None
        if req.path.startswith("/v1/"):
            emulator.api_requests.append((method, req.path))
            fault = emulator.faults.for_request(method, req.path)
            refused = faults.refusal(fault)
            if refused is not None:
                status, payload, extra = refused.status, refused.body(), {"Request-Id": req.request_id}
            else:
                status, payload, extra = router.dispatch_api(req)
            result = router.Response(status, json.dumps(payload, indent=2), "application/json", extra)
        else:
            out = router.dispatch_emulator(req)
            if isinstance(out, router.Response):
                result = out
            else:
                status, payload, extra = out
                result = router.Response(status, json.dumps(payload, indent=2), "application/json", extra)
        emulator.after_request(persist=method != "GET" or req.path.startswith("/emulator/"))
        if fault is not None and fault["fault"] == "lost_answer":
            # The operation happened; the answer never leaves: the connection closes unanswered.
            self.close_connection = True
            return
        if fault is not None and fault["fault"] == "hang":
            emulator.faults.hang(fault["seconds"])

        try:
            self.send_response(result.status)
            self.send_header("Content-Type", result.content_type)
            self.send_header("Content-Length", str(len(result.body)))
            self.send_header("Stripe-Version", API_VERSION)
            for key, value in result.headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(result.body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            # The caller went away (killed while a held answer waited): the work is done all the same.
            self.close_connection = True


class EmulatorServer:
    """Run the emulator on a background thread.

    >>> srv = EmulatorServer(port=0).start(); srv.url; srv.stop()
    """

    handler_class = _Handler

    def __init__(self, port=12111, host="127.0.0.1", state_path=None, verbose=False, **webhook_config):
        self.host = host
        self.port = port
        self.verbose = verbose
        self.store = Store(state_path)
        self.dispatcher = Dispatcher(self.store, **webhook_config)
        self.faults = faults.FaultInjector()
        self.dispatcher.faults = self.faults
        self._httpd = None
        self._thread = None
        # The last API calls (method, path), newest last: in-process tests check who called.
        self.api_requests: collections.deque[tuple[str, str]] = collections.deque(maxlen=10_000)

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    def after_request(self, persist=True):
        # Even a GET can emit events: it first applies whatever the clock has made due.
        batch = self.store.take_event_batch()
        if persist or batch:
            self.store.save()
        if batch:
            self.dispatcher.enqueue(batch)

    def bind(self):
        """Open the listening socket; with port=0 this is when the real port becomes known."""
        if self._httpd is None:
            self._httpd = ThreadingHTTPServer((self.host, self.port), self.handler_class)
            self._httpd.daemon_threads = True
            self._httpd.emulator = self
            self.port = self._httpd.server_address[1]
        return self

    def start(self):
        self.bind()
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="stripe-emulator", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self):
        self.bind()
        try:
            self._httpd.serve_forever()
        finally:
            self._httpd.server_close()
            self.dispatcher.stop()

    def stop(self):
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()
        self.dispatcher.stop()

    # ---- conveniences for in-process tests -----------------------------------------
    def wait_for_deliveries(self, timeout=10.0):
        return self.dispatcher.wait_idle(timeout)

    def configure_webhooks(self, **config):
        return self.dispatcher.configure(**config)

    def advance_clock(self, seconds):
        from .resources import process_due

        with self.store.lock:
            self.store.clock.advance(seconds)
            process_due(self.store)
        self.after_request()
        return self.store.now()

    def configure_rate_limit(self, per_second=0, scope="writes"):
        """At most ``per_second`` requests a second (0: no limit), answered with Stripe's 429."""
        from .resources.rate_limit import RateLimiter

        self._rate_limiter = RateLimiter(per_second, scope)
        return self._rate_limiter.state()

    def configure_faults(self, seed: int = 0, rules: list[dict] = (), webhooks: dict | None = None) -> dict:
        """Replace the fault configuration (``stripe_emulator.faults``); returns it with the counts.
        Raises ``ValueError`` for a rule it does not understand."""
        return self.faults.configure(seed=seed, rules=rules, webhooks=webhooks)

    def fault_counts(self) -> dict[str, int]:
        """Faults injected since they were last configured, by kind (``faults.KINDS``)."""
        return self.faults.fault_counts()

    def reset(self):
        self._rate_limiter = None
        self.faults.configure()
        self.dispatcher.clear()
        self.store.reset()
        self.store.save()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
