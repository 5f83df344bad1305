"""A local API server on 127.0.0.1 that records what reached it: which server a request went to, and with what
credentials. By default it answers every GET with an empty list; `reflect` answers 500 with a message that
repeats the request's headers, as a hostile or careless server might, so a test can check what is printed."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class RecordingApiServer(ThreadingHTTPServer):
    """`authorizations` holds each request's Authorization header (None without one), in order."""

    daemon_threads = True

    def __init__(self, reflect: bool = False) -> None:
        self.authorizations: list[str | None] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.authorizations.append(self.headers.get("Authorization"))
                if reflect:
                    status, body = 500, {"kind": "Status", "message": f"{self.path} {dict(self.headers)}"}
                else:
                    status, body = 200, {"kind": "List", "items": [], "metadata": {"resourceVersion": "1"}}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def requests(self) -> int:
        return len(self.authorizations)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> RecordingApiServer:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self.shutdown()
        self.server_close()
