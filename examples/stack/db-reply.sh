#!/bin/sh
# Run by nc for each connection to the stand-in database; stdout goes to the client.
exec cat /etc/vdemo/reply
