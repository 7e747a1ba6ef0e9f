"""A form-posting HTTP endpoint on 127.0.0.1 for the tests' stand-ins of an authorization
server's endpoints (introspection, with or without client assertions).

Each stand-in only decides the answer to one POST; serving, quiet logs and a clean stop are
the same for all of them, so they live here once.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Form = dict[str, list[str]]
"""A posted ``application/x-www-form-urlencoded`` body, as ``urllib.parse.parse_qs`` reads it."""

Answer = tuple[int, dict[str, Any] | None]
"""The status and the JSON body to answer with (``None``: an empty body)."""


class LoopbackFormEndpoint:
    """Serves ``POST`` on 127.0.0.1 with what ``answer(headers, form)`` returns; ``url`` is
    where, ``stop()`` ends it (calling it again does nothing)."""

    __test__ = False

    def __init__(self, answer: Callable[[Mapping[str, str], Form], Answer],
                 path: str = "/introspect") -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                status, document = answer(self.headers, form)
                body = b"" if document is None else json.dumps(document).encode()
                self.send_response(status)
                if document is not None:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return  # quiet: the tests read what the endpoint kept, not its log

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}{path}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
