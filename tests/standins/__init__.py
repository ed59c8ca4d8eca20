"""Local protocol stand-ins (127.0.0.1 only) that the real client stacks talk to in tests."""

import http.server as _http
import threading as _threading


class HttpStandIn:
    """A loopback HTTP server on a free port, served from a thread for a `with` block."""

    def __init__(self, handler: type):
        self.server = _http.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True

    def __enter__(self):
        _threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
