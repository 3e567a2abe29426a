"""An answer is applied once: the client never sends it again after a timeout (it may have
been applied), against a real HTTP server that answers too slowly."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fraudwatch.client import Client, Unavailable


class _Slow(BaseHTTPRequestHandler):
    posts: list[str] = []

    def do_POST(self):
        type(self).posts.append(self.path)
        time.sleep(1.0)
        body = b'{"answer": "no"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_an_answer_that_times_out_is_not_sent_again():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with Client(url, "fw_key", timeout=0.2, retries=3) as fw:
            with pytest.raises(Unavailable, match="may have been applied"):
                fw.answer(f"{url}/v1/answers/tok")
        assert _Slow.posts == ["/v1/answers/tok"]
    finally:
        server.shutdown()
        server.server_close()
