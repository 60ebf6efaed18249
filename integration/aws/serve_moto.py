"""moto's AWS API server for the integration tier, with one request handled at a time.

moto_server (moto/server.py) runs its WSGI app on werkzeug's threaded server with no lock around a
request: two concurrent UpdateItem calls on one item can both read the old value, so an `ADD` is
lost (measured: 47 of 50 concurrent `ADD n :1` counted) and two conditional writes can both pass.
DynamoDB itself applies the writes to an item one after the other, and the adapters rely on that.
Serialising the requests (moto is bound by the GIL anyway) restores that guarantee; the rest is
moto_server's own start-up.

Usage: python serve_moto.py PORT  (binds 127.0.0.1 only)
"""

import os
import signal
import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def serialised(app):
    lock = threading.Lock()

    def handle(environ, start_response):
        with lock:
            # The body is produced inside the lock: moto's responses are computed lazily by some services.
            return list(app(environ, start_response))

    return handle


def main() -> None:
    port = int(sys.argv[1])
    os.environ.setdefault("MOTO_PORT", str(port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        "127.0.0.1",
        port,
        serialised(app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
