#!/bin/bash
# Guest peer for test/interop/l2tpv3-static.test.ts: Linux kernel static L2TPv3 Ethernet
# pseudowires (iproute2 "ip l2tp", l2tp_eth), reconfigured case by case in ONE boot.
#
#   guest: [netns lan: eth0 LANIP] -veth vlan0- br-lan -- l2tpeth0 == L2TPv3 == host (PEER)
#
# The host drives the cases through the writable 9p share /mnt/out:
#   host writes CASE-N (NAME=VALUE lines: ENCAP TID PTID SID PSID COOKIE PEER_COOKIE L2SPEC SEQ
#   SPORT DPORT; COOKIE/PEER_COOKIE "none" or 8/16 hex digits, SEQ none|send|recv|both)
#   guest   "CASE-UP: N"   once the tunnel, session and bridge are up
#   guest   pings the host LAN (HOSTLAN) from netns lan, "CASE-PING: N ok|fail <summary>"
#   host writes CASE-N-DONE after its own pings
#   guest   "CASE-END: N rx=.. tx=.. rx_errors=.. rx_dropped=..", deletes session and tunnel
# Parameters: CASES (count), PEER (host address, 198.18.0.1), LANIP (192.0.2.10/24),
# HOSTLAN (192.0.2.20), CASE_TMO (s to wait for each host file, 120).
# Final line "RESULT: PASS|FAIL l2tpv3-static-matrix ...".
. /mnt/guest/lib.sh
l2k_params
CASES=${CASES:-1}; PEER=${PEER:-198.18.0.1}; LANIP=${LANIP:-192.0.2.10/24}; HOSTLAN=${HOSTLAN:-192.0.2.20}
CASE_TMO=${CASE_TMO:-120}; LOCAL=$GUEST_IP
modprobe l2tp_eth; modprobe l2tp_ip; modprobe l2tp_netlink
ip netns add lan; ip -n lan link set lo up
ip link add br-lan type bridge; ip link set br-lan type bridge stp_state 0 forward_delay 0 mcast_snooping 0
ip link add vlan0 type veth peer name eth0 netns lan
ip link set vlan0 master br-lan; ip link set vlan0 up; ip link set br-lan up
ip -n lan addr add "$LANIP" dev eth0; ip -n lan link set eth0 up
echo "=== l2tpv3-static-matrix: $CASES cases, local $LOCAL peer $PEER lan $LANIP, lan MAC $(ip -n lan -o link show eth0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')"
fails=""; passed=0
for N in $(seq 1 "$CASES"); do
  if ! wait_for "$CASE_TMO" test -f "/mnt/out/CASE-$N"; then fails="$fails case$N-no-config"; break; fi
  ENCAP=udp TID=1 PTID=1 SID=1 PSID=1 COOKIE=none PEER_COOKIE=none L2SPEC=default SEQ=none SPORT=1701 DPORT=1701
  while IFS='=' read -r k v; do
    case "$k" in ENCAP|TID|PTID|SID|PSID|COOKIE|PEER_COOKIE|L2SPEC|SEQ|SPORT|DPORT) printf -v "$k" '%s' "$v" ;; esac
  done < "/mnt/out/CASE-$N"
  why=""
  UDPOPT=""; [ "$ENCAP" = udp ] && UDPOPT="udp_sport $SPORT udp_dport $DPORT"
  COPT=""; [ "$COOKIE" != none ] && COPT="cookie $COOKIE"
  PCOPT=""; [ "$PEER_COOKIE" != none ] && PCOPT="peer_cookie $PEER_COOKIE"
  echo "=== case $N: encap $ENCAP tunnel $TID->$PTID session $SID->$PSID cookie $COOKIE peer_cookie $PEER_COOKIE l2spec $L2SPEC seq $SEQ"
  ip l2tp add tunnel tunnel_id "$TID" peer_tunnel_id "$PTID" encap "$ENCAP" local "$LOCAL" remote "$PEER" $UDPOPT || why="$why tunnel-add"
  ip l2tp add session name l2tpeth0 tunnel_id "$TID" session_id "$SID" peer_session_id "$PSID" $COPT $PCOPT l2spec_type "$L2SPEC" seq "$SEQ" || why="$why session-add"
  # Full 1500-byte LAN frames: the outer packet is fragmented (docs/L2TPV3.md has the arithmetic).
  ip link set l2tpeth0 mtu 1500 && ip link set l2tpeth0 master br-lan && ip link set l2tpeth0 up || why="$why l2tpeth0"
  ip l2tp show session | sed 's/^/    /'
  echo "CASE-UP: $N ${why:-ok}"
  sync
  res=fail
  if [ -z "$why" ] && ip netns exec lan ping -c 2 -i 0.5 -W 2 -w 30 "$HOSTLAN" > /run/ping.out 2>&1; then res=ok; fi
  echo "CASE-PING: $N $res $(grep -o '[0-9]* packets transmitted, [0-9]* received' /run/ping.out)"
  [ "$res" = ok ] || why="$why guest-ping"
  sync
  wait_for "$CASE_TMO" test -f "/mnt/out/CASE-$N-DONE" || why="$why no-host-done"
  RX=$(cat /sys/class/net/l2tpeth0/statistics/rx_packets 2>/dev/null); TX=$(cat /sys/class/net/l2tpeth0/statistics/tx_packets 2>/dev/null)
  RXE=$(cat /sys/class/net/l2tpeth0/statistics/rx_errors 2>/dev/null); RXD=$(cat /sys/class/net/l2tpeth0/statistics/rx_dropped 2>/dev/null)
  ip -s l2tp show session 2>/dev/null | sed 's/^/    /'
  echo "CASE-END: $N rx=$RX tx=$TX rx_errors=$RXE rx_dropped=$RXD ${why:-ok}"
  sync
  ip l2tp del session tunnel_id "$TID" session_id "$SID" 2>/dev/null; ip l2tp del tunnel tunnel_id "$TID" 2>/dev/null
  ip -n lan neigh flush all 2>/dev/null
  if [ -z "$why" ]; then passed=$((passed + 1)); else fails="$fails case$N:${why// /,}"; fi
done
if [ -z "$fails" ]; then result PASS "l2tpv3-static-matrix cases=$passed/$CASES"; else result FAIL "l2tpv3-static-matrix cases=$passed/$CASES$fails"; exit 1; fi
