#!/bin/sh
# Docker HEALTHCHECK of the vdemo images: exit 0 when the service answers as it should.
# (Docker's own --timeout bounds it; busybox 1.35's `wget -T` segfaults in this
# static build, so no timeout flag here.)
case "$(cat /etc/vdemo/service)" in
  db)
    # The port must answer with exactly the baked version.
    reply=$(nc -w 1 127.0.0.1 "$PORT" </dev/null) || exit 1
    [ "$reply" = "$(cat /etc/vdemo/version)" ]
    ;;
  *)
    # busybox wget fails on any non-2xx answer (the broken variant returns 404).
    wget -q -O /dev/null "http://127.0.0.1:$PORT/health"
    ;;
esac
