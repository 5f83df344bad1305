"""Git's own smart-HTTP server (`git http-backend`, a CGI program) behind a small HTTP server on the loopback:
the source a Flux GitRepository clones, as a Git host serves it, with nothing to build.

Only what a clone and a fetch send is spoken: GET and POST with a Content-Length body (go-git, which
source-controller clones with, buffers every request body).
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

HTTP_BACKEND = "/usr/lib/git-core/git-http-backend"


class GitHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, project_root: Path) -> None:
        super().__init__(("127.0.0.1", 0), GitHttpHandler)
        self.project_root = project_root

    def url(self, repository: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/{repository}"


class GitHttpHandler(BaseHTTPRequestHandler):
    server: GitHttpServer

    def do_GET(self) -> None:
        self._backend(b"")

    def do_POST(self) -> None:
        self._backend(self.rfile.read(int(self.headers.get("Content-Length", "0"))))

    def _backend(self, body: bytes) -> None:
        url = urlsplit(self.path)
        environment = {"GIT_PROJECT_ROOT": str(self.server.project_root), "GIT_HTTP_EXPORT_ALL": "1",
                       "GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": self.command, "PATH_INFO": url.path,
                       "QUERY_STRING": url.query, "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                       "CONTENT_LENGTH": str(len(body)), "REMOTE_ADDR": self.client_address[0],
                       "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
                       "GIT_PROTOCOL": self.headers.get("Git-Protocol", "")}
        result = subprocess.run([HTTP_BACKEND], input=body, capture_output=True, env=environment, timeout=60)
        head, _, payload = result.stdout.partition(b"\r\n\r\n")
        headers = [line.split(":", 1) for line in head.decode("latin-1").split("\r\n") if ":" in line]
        status = next((value.strip() for name, value in headers if name.lower() == "status"), "200 OK")
        code, _, reason = status.partition(" ")
        self.send_response(int(code), reason)
        for name, value in headers:
            if name.lower() != "status":
                self.send_header(name, value.strip())
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: a test reads what it needs from git and the controllers."""


@contextmanager
def serving(project_root: Path) -> Iterator[GitHttpServer]:
    """Serve every repository under project_root until the block ends."""
    server = GitHttpServer(project_root)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
