"""Live updates: latency from publishing an event to an open event-stream client, p50 and p95.

    .venv/bin/python bench/live.py [--clients 20] [--events 200] [--interval 0.05]

Starts the app under uvicorn on a loopback port (a throwaway SQLite database in a temporary folder),
opens --clients event streams for as many signed-in users, publishes --events events to all of them
with `utils.live.publish_now` (the send time in the data) and measures when each arrives.
The transport is Redis pub/sub when REDIS_URL is set, else the database table the endpoint polls.
Target: p95 < 1,000 ms. The last line is `p95_ms=<x>`.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between two events")
    parser.add_argument("--wait", type=float, default=10.0, help="seconds to wait for the last events")
    args = parser.parse_args()

    folder = tempfile.mkdtemp(prefix="campus-bench-live-")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.local"
    os.environ["DATABASE_URL"] = f"sqlite:///{folder}/bench.sqlite3"  # never the configured database
    os.environ["DEBUG"] = "false"
    os.environ["CONN_MAX_AGE"] = "0"
    try:
        return run(args)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run(args) -> int:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from accounts.models import Role, User
    from tests.asgi_server import AsgiServer, SseClient, session_cookie
    from utils import live

    call_command("migrate", verbosity=0)
    users = [
        User.objects.create(username=f"bench{i}", email=f"bench{i}@example.test", role=Role.STUDENT)
        for i in range(args.clients)
    ]
    transport = "redis" if settings.REDIS_URL else f"db (polled every {settings.LIVE_POLL_SECONDS}s)"
    if settings.REDIS_URL:
        live.CHANNEL_PREFIX = f"campus-bench-{os.getpid()}:live:u:"  # never another app's channels

    latencies: list[float] = []
    lock = threading.Lock()
    received = [0] * len(users)

    with AsgiServer() as server:
        clients = [SseClient(server, cookie=session_cookie(user)) for user in users]
        for client in clients:
            assert client.status == 200, client.status
            client.wait_connected()

        def consume(index: int, client: SseClient) -> None:
            deadline = time.monotonic() + args.events * args.interval + args.wait + 5
            while received[index] < args.events and (left := deadline - time.monotonic()) > 0:
                message = client.read_event(timeout=left)
                if message is None:
                    return
                arrived = time.perf_counter()
                sent = json.loads(message[1])["t"]
                with lock:
                    latencies.append((arrived - sent) * 1000)
                    received[index] += 1

        consumers = [threading.Thread(target=consume, args=(i, c), daemon=True) for i, c in enumerate(clients)]
        for thread in consumers:
            thread.start()
        user_ids = [user.pk for user in users]
        for seq in range(args.events):
            live.publish_now(user_ids=user_ids, event="bench", data={"t": time.perf_counter(), "seq": seq})
            time.sleep(args.interval)
        for thread in consumers:
            thread.join(timeout=args.wait + 5)
        for client in clients:
            client.close()

    expected = args.events * len(users)
    print(f"transport={transport} clients={len(users)} events={args.events} interval={args.interval}s")
    print(f"delivered={len(latencies)}/{expected}")
    if not latencies:
        print("p95_ms=nan")
        return 1
    print(f"p50_ms={percentile(latencies, 50):.1f}")
    print(f"max_ms={max(latencies):.1f}")
    print(f"p95_ms={percentile(latencies, 95):.1f}")
    return 0 if len(latencies) == expected else 1


if __name__ == "__main__":
    sys.exit(main())
