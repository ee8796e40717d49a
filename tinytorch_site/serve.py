"""Serving the built site on 127.0.0.1 (JupyterLite's service worker needs http, not file://)."""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path


def make_server(site: Path, port: int = 8000, host: str = "127.0.0.1") -> http.server.ThreadingHTTPServer:
    """An HTTP server for the site (JupyterLite's service worker needs http://127.0.0.1, not file://)."""
    handler = functools.partial(QuietHandler, directory=str(site))
    return http.server.ThreadingHTTPServer((host, port), handler)


def start_server(site: Path, port: int = 0) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve the site from a background thread (for tests and benchmarks); return (server, url)."""
    server = make_server(site, port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    return server, f"http://{host}:{port}/"


def serve(site: Path, port: int = 8000) -> None:
    """Serve the site until Ctrl+C, printing the address to open."""
    with make_server(site, port) as server:
        host, port = server.server_address[:2]
        print(f"Serving {site}\nOpen http://{host}:{port}/ in your browser (Ctrl+C to stop)", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with the right type for WebAssembly, no per-request log lines."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".wasm": "application/wasm", ".mjs": "text/javascript", ".json": "application/json"}

    def log_message(self, format, *args):  # noqa: A002 - signature of the base class
        pass
