#!/bin/bash
# Guest peer: several L2TP/IPsec client connections (l2tp-ipsec-client.sh: strongSwan + xl2tpd +
# pppd) in ONE boot, each against a server the host (re)starts in between with other settings and
# credentials (a boot under TCG costs more than a run).
#
# Per run N the host writes /mnt/out/run-N.env (NAME=VALUE lines: PSK, USER, PASS, DNS, FORCEENCAPS,
# ... for l2tp-ipsec-client.sh / l2tp-client.sh), then creates /mnt/out/GO-N. The guest prints
# "WAIT: run N" while it waits, "=== RUN N" before and
# "RUN-END: N SECONDSs PASS|FAIL <client RESULT details>" after the run (the host cuts its own logs
# at these lines and restarts its server after each RUN-END).
#
# Parameters (environment / runGuest({ env })):
#   RUNS     number of runs (required)
#   GO_TMO   seconds to wait for each GO file (default 180)
#   SERVER, AUTH, POOL, TARGET, PINGS, UP_TMO ...: common to every run (run-N.env overrides)
# Final line: RESULT: PASS|FAIL l2tp-ipsec-runs runs=OK/ALL: N:ok|FAIL ...
. /mnt/guest/lib.sh
l2k_params
RUNS=${RUNS:?RUNS is required}; GO_TMO=${GO_TMO:-180}
ok=0; SUMMARY=""
for n in $(seq 1 "$RUNS"); do
  echo "WAIT: run $n"
  if ! wait_for "$GO_TMO" test -e "/mnt/out/GO-$n"; then
    echo "RUN-END: $n 0s FAIL no-GO-$n-from-the-host"
    SUMMARY="$SUMMARY $n:FAIL"
    continue
  fi
  echo "=== RUN $n: $(tr '\n' ' ' < "/mnt/out/run-$n.env" | sed 's/PSK=[^ ]*/PSK=(set)/; s/PASS=[^ ]*/PASS=(set)/')"
  T0=$(now)
  ( set -a; . "/mnt/out/run-$n.env"; set +a; TAG=r$n bash /mnt/guest/l2tp-ipsec-client.sh ) > "/run/run-$n.out" 2>&1
  sed 's/^/  /' "/run/run-$n.out"
  R=$(grep '^RESULT:' "/run/run-$n.out" | tail -1)
  R=${R#RESULT: }
  echo "RUN-END: $n $(since "$T0")s ${R:-FAIL no-result}"
  case "$R" in PASS*) ok=$((ok+1)); SUMMARY="$SUMMARY $n:ok" ;; *) SUMMARY="$SUMMARY $n:FAIL" ;; esac
done
if [ "$ok" = "$RUNS" ]; then result PASS l2tp-ipsec-runs "runs=$ok/$RUNS:$SUMMARY"
else result FAIL l2tp-ipsec-runs "runs=$ok/$RUNS:$SUMMARY"; exit 1; fi
