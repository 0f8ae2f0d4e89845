#!/usr/bin/env bash
# Runs `ctbench run ARGS --format tap` for Meson's TAP protocol. Verdicts travel in the TAP
# stream (not ok = fail, # SKIP = skip); only an infrastructure error (exit 2) fails the test
# as a whole, since Meson would otherwise call every non-zero exit an ERROR.
"$CTBENCH" run "$@" --format tap
rc=$?
[ "$rc" = 2 ] && exit 2
exit 0
