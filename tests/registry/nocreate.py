"""A loopback proxy in front of docker-registry that refuses to create repositories on push.

Registries such as ECR create repositories only through their own API: an upload or manifest
PUT to a repository that was not created answers 404 NAME_UNKNOWN. The proxy plays that rule
for every repository not in `created`, and forwards everything else unchanged (the Host header
too, so the Locations the registry returns point at the proxy). It records what it refused.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

_CREATES = re.compile(r"^/v2/(?P<name>.+?)/(?:blobs/uploads/|manifests/)")
_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length"})


class NoCreateProxy:
    """Serve on a free loopback port until `stop()`; `created` may change while it runs."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.created: set[str] = set()
        self.refused: list[str] = []
        self.client = httpx.Client(base_url=f"http://{upstream}", timeout=60, trust_env=False)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def netloc(self) -> str:
        return f"127.0.0.1:{self.httpd.server_address[1]}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.client.close()

    def refuses(self, method: str, path: str) -> str | None:
        """The repository a request would create without permission, else None."""
        match = _CREATES.match(path.split("?", 1)[0])
        creating = method in ("POST", "PUT") and match is not None
        if creating and match is not None and match["name"] not in self.created:
            return match["name"]
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                name = proxy.refuses(self.command, self.path)
                if name is not None:
                    proxy.refused.append(name)
                    self._answer(404, {}, _name_unknown(name))
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                response = proxy.client.request(
                    self.command, self.path, headers=headers, content=body
                )
                self._answer(response.status_code, response.headers, response.content)

            def _answer(self, code: int, headers: object, body: bytes) -> None:
                self.send_response(code)
                for key, value in getattr(headers, "items", dict)():
                    if key.lower() not in _HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _relay

            def log_message(self, format: str, *args: object) -> None:
                return None

        return Handler


def _name_unknown(name: str) -> bytes:
    message = f"The repository with name '{name}' does not exist in the registry"
    return json.dumps({"errors": [{"code": "NAME_UNKNOWN", "message": message}]}).encode()
