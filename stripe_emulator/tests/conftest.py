import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
import stripe

from stripe_emulator.server import EmulatorServer
from stripe_emulator.webhooks import DEFAULT_CONFIG

API_KEY = "sk_test_emulator"


@pytest.fixture(scope="session")
def _server():
    srv = EmulatorServer(port=0, state_path=None, retry_backoff=0.05).start()
    yield srv
    srv.stop()


@pytest.fixture
def srv(_server):
    _server.reset()
    _server.configure_webhooks(**{**DEFAULT_CONFIG, "retry_backoff": 0.05})
    return _server


@pytest.fixture
def client(srv):
    return stripe.StripeClient(API_KEY, base_addresses={"api": srv.url}, max_network_retries=0)


def emu(srv, method, path, **data):
    resp = requests.request(method, srv.url + path, data=data, allow_redirects=False, timeout=10)
    return resp


@pytest.fixture
def onboarded(client, srv):
    def make(bank="btok_us_verified", **params):
        acct = client.v1.accounts.create(params={"type": "express", "country": "US", **params})
        resp = emu(srv, "POST", f"/emulator/accounts/{acct.id}/complete_onboarding", external_account=bank)
        assert resp.status_code == 200, resp.text
        return client.v1.accounts.retrieve(acct.id)

    return make


class Receiver:
    """A tiny webhook receiver recording every delivery; can be told to fail the first N."""

    def __init__(self):
        self.requests = []
        self.fail_first = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                with receiver.lock:
                    receiver.requests.append({"body": body, "signature": self.headers.get("Stripe-Signature")})
                    failing = receiver.fail_first > 0
                    if failing:
                        receiver.fail_first -= 1
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/webhooks"

    def events(self):
        return [json.loads(r["body"]) for r in self.requests]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()
