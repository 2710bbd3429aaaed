"""moto's server, answering one AWS request at a time.

DynamoDB makes every operation atomic and isolated; moto does not under
threads: a cancelled TransactWriteItems restores a snapshot of the whole table,
which can erase or resurrect what a concurrent request wrote (seen: one
successful registration out of twenty leaving two profiles). Serialising the
requests gives exactly DynamoDB's per-operation guarantees. Races between
operations, which is what our conditions guard, still happen in the tests:
their handlers interleave between calls.

Usage: python scripts/moto_server.py HOST PORT
"""

import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    backends = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def one_at_a_time(environ, start_response):
        with lock:
            return list(backends(environ, start_response))

    run_simple(host, port, one_at_a_time, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
