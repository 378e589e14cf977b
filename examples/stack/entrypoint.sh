#!/bin/sh
# Entrypoint shared by the three vdemo images (api, web, db).
# Everything it needs was baked at build time under /etc/vdemo:
#   service  api | web | db
#   version  the DEPLOY_VERSION build arg
#   variant  good | broken | crash | late-crash (the VARIANT build arg)
# PORT (an ENV in each Dockerfile) can be overridden at run time. LISTEN is the address to
# bind: every interface of the container by default (a bridge network publishes the port);
# 127.0.0.1 for a stack on the host network that must stay on loopback.
set -eu
listen=${LISTEN:-0.0.0.0}

service=$(cat /etc/vdemo/service)
version=$(cat /etc/vdemo/version)
variant=$(cat /etc/vdemo/variant)
echo "vdemo-$service $version ($variant) on $listen:$PORT"

if [ "$variant" = crash ]; then
  # Start, then die with a non-zero code: Docker shows "exited" / "restarting".
  sleep 2
  echo "vdemo-$service: crash variant, exiting with code 3" >&2
  exit 3
fi

case "$service" in
  db)
    # Stand-in database: each TCP connection gets one line (/etc/vdemo/reply: the
    # version, or an error for the broken variant). -ll keeps listening; the
    # trailing address is the one nc binds.
    nc -ll -p "$PORT" "$listen" -e /usr/local/bin/vdemo-db-reply &
    ;;
  *)
    # busybox httpd serves /www: /health ("ok"; missing for the broken variant,
    # so it answers 404) and /version; web also runs /cgi-bin/api.
    httpd -f -v -p "$listen:$PORT" -h /www &
    ;;
esac

# Stay PID 1 and forward SIGTERM: a process that is PID 1 ignores signals it has
# no handler for, and neither httpd nor nc has one, so `docker stop` would
# otherwise wait its full timeout and SIGKILL.
child=$!
trap 'kill "$child" 2>/dev/null; wait "$child" || true; exit 0' TERM INT

if [ "$variant" = late-crash ]; then
  # Serve (and turn healthy) like a good version, then die: after the health checks passed.
  sleep 6 &
  wait $!
  echo "vdemo-$service: late-crash variant, exiting with code 4 six seconds after start" >&2
  exit 4
fi
wait "$child"
