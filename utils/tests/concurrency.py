"""Races for tests: calls run in threads released together, each on its own database connection."""

import threading

from django.db import connection


def at_once(*calls, timeout: float = 20):
    """Run the calls in threads released together by a barrier; returns each one's result or exception."""
    barrier = threading.Barrier(len(calls), timeout=timeout)
    results = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait()
            results[i] = call()
        except Exception as exc:  # noqa: BLE001 - returned to the test
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(3 * timeout)
    return results
