#!/bin/bash
# Guest peer: several L2TP/IPsec client runs (l2tp-ipsec-client.sh) in ONE boot, one per
# proposal variant, one after the other: a boot under TCG costs more than a run.
#
# Parameters (environment / runGuest({ env })):
#   VARIANTS   required; variants separated by "+", each NAME:IKE:ESP:FORCEENCAPS
#              (IKE / ESP strongSwan proposal lists, "," inside a list; FORCEENCAPS yes|no),
#              e.g. cbc-udp:aes256-sha1-modp1024:aes128-sha1:yes+gcm:aes128-sha1-modp2048:aes128gcm16:no
#   PAUSE      seconds between runs (default 2)
#   SERVER, PSK, AUTH, USER, PASS, POOL, DNS, TARGET, PINGS, COUNT, LIFETIMES ...: passed to
#              every run (see l2tp-ipsec-client.sh and l2tp-client.sh)
# Per variant it prints "=== VARIANT N NAME ..." before and
# "VARIANT-END: N NAME SECONDSs PASS|FAIL <client RESULT details>" after the run (the host
# cuts its own logs at these lines); each run's charon log lands in /mnt/out/charon-vN.log.
# Final line: RESULT: PASS|FAIL l2tp-ipsec-matrix variants=OK/ALL: NAME:ok|FAIL ...
. /mnt/guest/lib.sh
l2k_params
VARIANTS=${VARIANTS:?VARIANTS is required}; PAUSE=${PAUSE:-2}
n=0; ok=0; SUMMARY=""
for v in ${VARIANTS//+/ }; do
  IFS=: read -r name ike esp encaps <<< "$v"
  n=$((n+1))
  echo "=== VARIANT $n $name: IKE=$ike ESP=$esp FORCEENCAPS=$encaps"
  T0=$(now)
  IKE=$ike ESP=$esp FORCEENCAPS=$encaps TAG=v$n bash /mnt/guest/l2tp-ipsec-client.sh > "/run/variant-$n.out" 2>&1
  sed 's/^/  /' "/run/variant-$n.out"
  R=$(grep '^RESULT:' "/run/variant-$n.out" | tail -1)
  R=${R#RESULT: }
  echo "VARIANT-END: $n $name $(since "$T0")s ${R:-FAIL no-result}"
  case "$R" in PASS*) ok=$((ok+1)); SUMMARY="$SUMMARY $name:ok" ;; *) SUMMARY="$SUMMARY $name:FAIL" ;; esac
  sleep "$PAUSE"
done
if [ "$n" -gt 0 ] && [ "$ok" = "$n" ]; then result PASS l2tp-ipsec-matrix "variants=$ok/$n:$SUMMARY"
else result FAIL l2tp-ipsec-matrix "variants=$ok/$n:$SUMMARY"; exit 1; fi
