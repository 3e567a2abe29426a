"""A webhook endpoint for fraudwatch's alerts and actions: verify, apply once, answer 2xx.

python examples/webhook_receiver.py 8080 whsec_...
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from fraudwatch.client import WebhookInvalid, verify_webhook

applied: set[str] = set()  # a real receiver keeps these in its database


def handler_for(secret: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                msg_id = verify_webhook(secret, dict(self.headers), body)  # the raw bytes, before parsing
            except WebhookInvalid as exc:
                self.send_response(401)
                self.end_headers()
                self.wfile.write(str(exc).encode())
                return
            if msg_id not in applied:  # delivery is at least once: apply each message once
                applied.add(msg_id)
                message = json.loads(body)
                print(message["type"], json.dumps(message["data"])[:200])
            self.send_response(204)
            self.end_headers()

    return Handler


if __name__ == "__main__":
    port, secret = int(sys.argv[1]), sys.argv[2]
    ThreadingHTTPServer(("127.0.0.1", port), handler_for(secret)).serve_forever()
