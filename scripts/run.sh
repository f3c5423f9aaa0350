#!/usr/bin/env bash
# Start the web server (uvicorn), two Celery workers (short and long work) and Celery beat; Ctrl-C stops them all.
set -euo pipefail
PY=${PY:-.venv/bin/python}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
mkdir -p var/log
pids=()
cleanup() { trap - INT TERM EXIT; kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup INT TERM EXIT

# Two workers: mail, codes and notifications on "default" never wait behind a generation on "long".
"$PY" -m celery -A config worker -Q default -n default@%h --pool=threads --concurrency=4 --loglevel=INFO \
  >var/log/worker.log 2>&1 &
pids+=($!)
"$PY" -m celery -A config worker -Q long -n long@%h --pool=threads --concurrency=2 --loglevel=INFO \
  >var/log/worker-long.log 2>&1 &
pids+=($!)
"$PY" -m celery -A config beat --loglevel=INFO >var/log/beat.log 2>&1 &
pids+=($!)
# uvicorn (ASGI) serves the pages and the live event stream (/live/events/); WhiteNoise serves the static
# files collected by `make run`. Open streams are cut after 3 s on Ctrl-C (browsers reconnect).
"$PY" -m uvicorn config.asgi:application --host "$HOST" --port "$PORT" --lifespan off --timeout-graceful-shutdown 3 \
  >var/log/web.log 2>&1 &
pids+=($!)

for _ in $(seq 1 50); do
  if "$PY" -c "import urllib.request,sys; urllib.request.urlopen('http://$HOST:$PORT/login/', timeout=1)" 2>/dev/null; then break; fi
  sleep 0.2
done
cat <<TXT

  Campus is running at http://$HOST:$PORT/
  Worker and beat logs: var/log/worker.log (mail, notifications), var/log/worker-long.log (timetable
  generation, recommendations), var/log/beat.log; web log: var/log/web.log
  Mail (codes, invitations) is printed to var/log/worker.log.

$("$PY" manage.py seed_demo --print-logins)

  Press Ctrl-C to stop.
TXT
wait -n "${pids[@]}"
