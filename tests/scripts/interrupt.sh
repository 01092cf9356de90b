#!/usr/bin/env bash
# An interrupted run leaves no half-written file: SIGINT or SIGTERM at several
# moments of a long run, then no temporary may remain and results.json (the
# last file written) must be absent or complete.
#   interrupt.sh PROGRAM OUTDIR TL-CHECK CLAIMS
set -u
prog=$1 out=$2 check=$3 claims=$4
rm -rf "$out"
fails=0
for sig in TERM INT TERM INT; do
  for delay in 0.05 0.3 0.8; do
    rm -rf "$out"
    "$prog" --profile quick --quiet --out "$out" --set gd_steps=200000 --set beta_count=2000 &
    pid=$!
    sleep "$delay"
    kill -s "$sig" "$pid" 2>/dev/null
    wait "$pid"
    rc=$?
    left=$(find "$out" -name '*.tmp.*' 2>/dev/null)
    if [ -n "$left" ]; then
      echo "SIG$sig after ${delay}s: temporaries left: $left"
      fails=$((fails + 1))
    fi
    # tl-check exits 2 on malformed JSON, 0 or 1 on a readable file.
    if [ -f "$out/results.json" ] && { "$check" --claims "$claims" --results "$out/results.json" >/dev/null 2>&1; [ $? -eq 2 ]; }; then
      echo "SIG$sig after ${delay}s: results.json is not complete JSON"
      fails=$((fails + 1))
    fi
    if [ "$rc" -eq 0 ]; then
      echo "SIG$sig after ${delay}s: run finished before the signal (rc 0); not a test of interruption"
    fi
  done
done
[ "$fails" -eq 0 ] && echo "no partial output after 12 interruptions"
exit "$fails"
