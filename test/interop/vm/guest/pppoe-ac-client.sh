#!/bin/bash
# Guest side of test/interop/pppoe-discovery.test.ts: real PPPoE clients against the host's access
# concentrator (our AF_PACKET socket + discovery core, PPP terminated by our PppLink).
#
#  0. pppoe-discovery -U (rp-pppoe 3.15): prints "DISCOVERY: ac=NAME services=A,B cookie=yes|no"
#  1. per cycle of CYCLES (MODE:AUTH:MTU joined by ","), MODE kernel = pppd 2.4.9 plugin rp-pppoe.so,
#     MODE user = pppd pty "pppoe" (rp-pppoe 3.15 userspace client):
#     connect, IPCP address inside POOL, PINGS pings to the PPP peer, then
#       "SYNC: up N MODE ADDR MTU" -> waits for OUTDIR/SYNC-up-N (the host forges discovery meanwhile),
#     pings again (the session survived), hang-up with SIGTERM (LCP Terminate), a PADT must be seen
#     within 10 s (tcpdump on eth0; its source tells who sent it), then
#       "SYNC: down N MODE padt=client|ac" -> waits for OUTDIR/SYNC-down-N.
#     An MTU above 1492 raises eth0 to MTU+8 first, so pppd asks for PPP-Max-Payload (RFC 4638).
# Parameters: AC (expected AC-Name), USER/PASS, CYCLES (kernel:pap:1500,user:chap:1492),
#   POOL (100.64.0.0/10), PINGS (3), UP_TMO (45), SYNC_TMO (60).
# Final line "RESULT: PASS|FAIL pppoe-ac-client ...".
. /mnt/guest/lib.sh
l2k_params
AC=${AC:-}; USER=${USER:-lab}; PASS=${PASS:-labpass}; CYCLES=${CYCLES:-kernel:pap:1500,user:chap:1492}
POOL=${POOL:-100.64.0.0/10}; PINGS=${PINGS:-3}; UP_TMO=${UP_TMO:-45}; SYNC_TMO=${SYNC_TMO:-60}
D=/run/pppoe-ac; mkdir -p $D /etc/ppp
modprobe pppoe; modprobe ppp_generic
MYMAC=$(cat /sys/class/net/eth0/address)
why=""; SUMMARY=""

echo "=== 0. pppoe-discovery -U on eth0 ($MYMAC)"
timeout 20 pppoe-discovery -I eth0 -U > $D/discovery.out 2>&1
sed 's/^/    /' $D/discovery.out
DAC=$(sed -n 's/^Access-Concentrator: //p' $D/discovery.out | head -1)
DSV=$(sed -n 's/^ *Service-Name: //p' $D/discovery.out | tr '\n' ',' | sed 's/,$//')
grep -q 'Got a cookie' $D/discovery.out && DCK=yes || DCK=no
echo "DISCOVERY: ac=${DAC:-none} services=${DSV:-none} cookie=$DCK"
[ -n "$AC" ] && [ "$DAC" != "$AC" ] && why="$why discovery-ac-${DAC:-none}"

pppif() { sed -n 2p /run/ppp-pppoeac.pid 2>/dev/null; }
pppup() { local i; i=$(pppif); [ -n "$i" ] && ip -4 addr show "$i" 2>/dev/null | grep -q 'inet '; }
host_sync() {
  echo "SYNC: $*"; sync
  wait_for "$SYNC_TMO" test -e "/mnt/out/SYNC-$1-$2" || { cwhy="$cwhy no-host-sync-$1"; return 1; }
}
N=0
for C in ${CYCLES//,/ }; do
  N=$((N+1)); MODE=${C%%:*}; REST=${C#*:}; A=${REST%%:*}; MTU=${REST#*:}; cwhy=""
  case "$A" in
    pap)  REFUSE="refuse-chap refuse-mschap refuse-mschap-v2 refuse-eap" ;;
    chap) REFUSE="refuse-pap refuse-mschap refuse-mschap-v2 refuse-eap" ;;
    *) REFUSE="" ;;
  esac
  ip link set eth0 mtu $((MTU > 1492 ? MTU + 8 : 1500))
  case "$MODE" in
    kernel) DEV=(plugin rp-pppoe.so nic-eth0) ;;
    user)   DEV=(pty "pppoe -I eth0 -T 80") ;;
    *) why="$why bad-mode-$MODE"; continue ;;
  esac
  echo "=== cycle $N: $MODE $A mtu $MTU"
  : > $D/pppd-$N.log; rm -f /run/ppp-pppoeac.pid
  T0=$(now)
  pppd "${DEV[@]}" user "$USER" password "$PASS" noauth $REFUSE mtu "$MTU" mru "$MTU" noipdefault nodefaultroute \
    noccp nobsdcomp nodeflate noipv6 lcp-echo-interval 10 lcp-echo-failure 6 maxfail 1 \
    linkname pppoeac nodetach debug logfile $D/pppd-$N.log > $D/pppd-$N.stdout 2>&1 &
  P=$!
  if wait_for "$UP_TMO" pppup; then
    IF=$(pppif)
    LOCAL=$(ip -4 -o addr show "$IF" | sed -n 's/.* inet \([0-9.]*\) peer \([0-9.]*\).*/\1/p')
    PEER=$(ip -4 -o addr show "$IF" | sed -n 's/.* inet \([0-9.]*\) peer \([0-9.]*\).*/\2/p')
    IFMTU=$(cat /sys/class/net/$IF/mtu)
    echo "    $IF up after $(since "$T0")s: $LOCAL -> $PEER mtu $IFMTU"
    grep -E 'PADO|PADS|session is|Max|AC-Name|Service|auth|succeeded|local  IP|remote IP' $D/pppd-$N.log | sed 's/^/    pppd: /' | head -14
    in_net "$LOCAL" "$POOL" || cwhy="$cwhy address-$LOCAL-not-in-$POOL"
    ping -c "$PINGS" -W 2 -I "$IF" "$PEER" > $D/ping-$N.out 2>&1 && grep -q " $PINGS received" $D/ping-$N.out || cwhy="$cwhy ping-failed"
    echo "    ping $PEER: $(grep -o '[0-9]* received' $D/ping-$N.out)"
    host_sync up $N $MODE $LOCAL $IFMTU
    ping -c 2 -W 2 -I "$IF" "$PEER" > $D/ping2-$N.out 2>&1 && grep -q ' 2 received' $D/ping2-$N.out || cwhy="$cwhy ping-after-host-checks-failed"
    echo "    ping after the host's forgeries: $(grep -o '[0-9]* received' $D/ping2-$N.out)"
    rm -f $D/padt-$N.pcap
    timeout 12 tcpdump -i eth0 -n -c 1 -U -w $D/padt-$N.pcap 'ether proto 0x8863 and ether[15] = 0xa7' > /dev/null 2>&1 & TDP=$!
    sleep 1
    kill -TERM $P 2>/dev/null
    for i in $(seq 1 20); do kill -0 $P 2>/dev/null || break; sleep 0.5; done
    kill -0 $P 2>/dev/null && { cwhy="$cwhy pppd-did-not-exit"; kill -9 $P; }
    grep -q 'rcvd \[LCP TermAck' $D/pppd-$N.log || cwhy="$cwhy no-LCP-TermAck"
    wait $TDP 2>/dev/null
    SRC=$(tcpdump -r $D/padt-$N.pcap -n -e 2>/dev/null | head -1 | awk '{print $2}')
    if [ -z "$SRC" ]; then PADT=none; cwhy="$cwhy no-PADT"; elif [ "$SRC" = "$MYMAC" ]; then PADT=client; else PADT=ac; fi
    echo "    hang-up: padt=$PADT; $(grep -E 'TermReq|TermAck|PADT|Connection terminated|Modem hangup' $D/pppd-$N.log | tr '\n' ';' | cut -c1-200)"
    host_sync down $N $MODE padt=$PADT
  else
    cwhy="$cwhy no-IPCP-within-${UP_TMO}s"
    tail -25 $D/pppd-$N.log | sed 's/^/    pppd: /'
    kill $P 2>/dev/null; sleep 1; kill -9 $P 2>/dev/null
  fi
  wait $P 2>/dev/null
  if [ -z "$cwhy" ]; then SUMMARY="$SUMMARY $N:$MODE/$A:ok($LOCAL,mtu=$IFMTU,padt=$PADT)"; else SUMMARY="$SUMMARY $N:$MODE/$A:FAIL($cwhy )"; why="$why cycle-$N"; fi
  sleep 1
done
if [ -z "$why" ]; then result PASS pppoe-ac-client "ac=$DAC$SUMMARY"; else result FAIL pppoe-ac-client "ac=${DAC:-none}:$why;$SUMMARY"; exit 1; fi
