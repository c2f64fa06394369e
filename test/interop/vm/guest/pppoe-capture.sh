#!/bin/bash
# Captures real PPPoE discovery and session frames between third-party peers only, for the
# codec vectors of src/wire/pppoe (test/vectors/pppoe-capture.ts): inside the guest,
#
#   netns c: c0 ---- r0  netns r: pppoe-relay ---- r1 ---- s0  netns s: pppoe-server -k
#   (pppoe-discovery, pppd rp-pppoe.so,         (adds Relay-Session-Id)  (rp-pppoe 3.15,
#    pppd pty "pppoe")                                                     AC-Cookie, pppd)
#
# Cases, each a connect / ping / hang-up cycle of PAP-authenticated pppd 2.4.9:
#   1. pppoe-discovery -U (PADI with Host-Uniq, the PADO printed)
#   2. pppd plugin rp-pppoe.so, mtu/mru 1500 over a 1508-byte link (PPP-Max-Payload, RFC 4638)
#   3. pppd pty "pppoe -I c0" (userspace client: PADT with a Generic-Error on hang-up)
# tcpdump writes OUTDIR/pppoe-client-side.pcap (on c0) and OUTDIR/pppoe-server-side.pcap (on s0).
# Parameters: none. Final line "RESULT: PASS|FAIL pppoe-capture ...".
. /mnt/guest/lib.sh
l2k_params
D=/run/pc; mkdir -p $D /etc/ppp /etc/ppp/plugins
modprobe pppoe; modprobe ppp_generic
ln -sf /usr/lib/pppd/2.4.9/rp-pppoe.so /etc/ppp/plugins/rp-pppoe.so   # pppoe-server -k's compiled-in path
why=""
for n in c r s; do ip netns add $n; ip -n $n link set lo up; done
ip link add c0 type veth peer name r0
ip link add r1 type veth peer name s0
ip link set c0 netns c; ip link set r0 netns r; ip link set r1 netns r; ip link set s0 netns s
ip -n c link set c0 mtu 1508 up; ip -n r link set r0 mtu 1508 up; ip -n r link set r1 mtu 1508 up; ip -n s link set s0 mtu 1508 up
printf 'lab * labpass *\n' > /etc/ppp/pap-secrets; chmod 600 /etc/ppp/pap-secrets
cat > $D/server-options <<CONF
auth
require-pap
name capture-ac
noipv6
noccp
nobsdcomp
nodeflate
debug
logfile $D/server-pppd.log
CONF
ip netns exec c tcpdump -i c0 -n -U -s 0 -w /mnt/out/pppoe-client-side.pcap 'ether proto 0x8863 or ether proto 0x8864' > $D/tcpdump-c.log 2>&1 & TDC=$!
ip netns exec s tcpdump -i s0 -n -U -s 0 -w /mnt/out/pppoe-server-side.pcap 'ether proto 0x8863 or ether proto 0x8864' > $D/tcpdump-s.log 2>&1 & TDS=$!
ip netns exec s pppoe-server -F -k -I s0 -C l2kit-capture-ac -S isp-a -S isp-b -L 100.64.9.1 -R 100.64.9.10 -N 8 -O $D/server-options > $D/server.log 2>&1 & SPID=$!
ip netns exec r pppoe-relay -F -C r0 -S r1 > $D/relay.log 2>&1 & RPID=$!
sleep 2
kill -0 $SPID 2>/dev/null || why="$why pppoe-server-died"
kill -0 $RPID 2>/dev/null || why="$why pppoe-relay-died"

echo "=== 1. pppoe-discovery -U"
ip netns exec c timeout 20 pppoe-discovery -I c0 -U > $D/discovery.out 2>&1 || why="$why pppoe-discovery-failed"
sed 's/^/    /' $D/discovery.out
grep -q 'l2kit-capture-ac' $D/discovery.out || why="$why no-AC-Name-in-PADO"

pppup() { ip -n c -4 addr show ppp0 2>/dev/null | grep -q 'inet '; }
# cycle NAME PPPD-ARGS...: connect, ping the AC's PPP address, hang up with SIGTERM
cycle() {
  local name=$1; shift
  echo "=== $name"
  ip netns exec c pppd "$@" user lab password labpass noauth refuse-chap refuse-mschap refuse-mschap-v2 refuse-eap \
    noipdefault nodefaultroute noccp nobsdcomp nodeflate noipv6 maxfail 1 nodetach debug logfile $D/$name.log > $D/$name.stdout 2>&1 &
  local p=$!
  if wait_for 40 pppup; then
    ip netns exec c ping -c 2 -W 2 100.64.9.1 > $D/$name.ping 2>&1 || why="$why $name-ping"
    grep -o '[0-9]* received' $D/$name.ping | sed 's/^/    ping: /'
  else
    why="$why $name-no-IPCP"; tail -15 $D/$name.log | sed 's/^/    pppd: /'
  fi
  kill -TERM $p 2>/dev/null
  for i in $(seq 1 20); do kill -0 $p 2>/dev/null || break; sleep 0.5; done
  kill -0 $p 2>/dev/null && { kill -9 $p; why="$why $name-pppd-stuck"; }
  grep -E 'PADS|session is|Sent PADT|PADT|Terminat|MTU|mru|Max' $D/$name.log | sed 's/^/    pppd: /' | head -12
  sleep 4   # the AC's own PADT (pppoe-server) lands in the capture
}
cycle kernel plugin rp-pppoe.so nic-c0 mtu 1500 mru 1500
cycle userspace pty "pppoe -I c0 -T 80" mtu 1492 mru 1492

sleep 1
kill -INT $TDC $TDS 2>/dev/null; sleep 1
kill $RPID $SPID 2>/dev/null
cat $D/tcpdump-c.log $D/tcpdump-s.log | grep -E 'packets (captured|received)' | sed 's/^/    tcpdump: /'
echo "=== server log"; sed 's/^/    /' $D/server.log | tail -10
N=$(tcpdump -r /mnt/out/pppoe-client-side.pcap -n 2>/dev/null | wc -l)
[ "$N" -ge 10 ] || why="$why only-$N-frames"
if [ -z "$why" ]; then result PASS pppoe-capture "frames=$N"; else result FAIL pppoe-capture "frames=$N:$why"; exit 1; fi
