"""A webhook receiver that verifies every delivery with the Standard Webhooks reference library.

Usage: webhook_receiver.py SECRET_FILE CONTROL_FILE

Listens on 127.0.0.1 (a free port), prints `listening on http://127.0.0.1:PORT/hook`, then one JSON line per
request: {"verified": true, "id": webhook-id, "answered": status, "body": the parsed body} or
{"verified": false, "error": why, "answered": 400}. SECRET_FILE holds the subscription's `whsec_` secret (read at
each request, so that the receiver can listen before the subscription, and its secret, exist). CONTROL_FILE (read at each request; missing means 200) says how
to answer a verified delivery: a status code such as `200`, `503` or `410`, or `hang` (never answer, as a receiver
that stalls).
"""

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

SECRET_FILE, CONTROL = sys.argv[1], sys.argv[2]
LOCK = threading.Lock()


def webhook():
    with open(SECRET_FILE, encoding="utf-8") as f:
        return Webhook(f.read().strip())


def emit(record):
    with LOCK:
        print(json.dumps(record), flush=True)


def mode():
    try:
        with open(CONTROL, encoding="utf-8") as f:
            return f.read().strip() or "200"
    except FileNotFoundError:
        return "200"


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("content-length", "0"))
        body = self.rfile.read(length)
        headers = {k: v for k, v in self.headers.items()}
        try:
            parsed = webhook().verify(body, headers)
        except (WebhookVerificationError, OSError) as error:
            emit({"verified": False, "error": str(error), "answered": 400})
            self.send_response(400)
            self.end_headers()
            return
        answer = mode()
        record = {"verified": True, "id": headers.get("webhook-id"), "answered": answer, "body": parsed}
        emit(record)
        if answer == "hang":
            time.sleep(120)
            return
        self.send_response(int(answer))
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(f"listening on http://127.0.0.1:{server.server_address[1]}/hook", flush=True)
server.serve_forever()
