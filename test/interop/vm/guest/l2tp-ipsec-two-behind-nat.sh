#!/bin/bash
# Guest peer: TWO L2TP/IPsec clients behind ONE masquerading NAT, in one guest.
#
#   [c1 203.0.113.11] --\                                     segment
#                        br0 203.0.113.1 [nat] eth0 GUEST_IP --------- SERVER
#   [c2 203.0.113.12] --/    iptables MASQUERADE -o eth0 (UDP to ports 20000-40000)
#
# eth0 moves into namespace "nat" (ip_forward=1, MASQUERADE); c1 and c2 only have a route to
# SERVER's /24 via 203.0.113.1. Each client namespace runs l2tp-ipsec-client.sh (its own charon +
# xl2tpd + pppd, SYNC=yes) in its own mount namespace: tmpfs on /run (charon.ctl/pid, xl2tpd
# control, pppd pid) and bind-mounted /etc/ipsec.conf and /etc/ipsec.secrets, so the two
# strongSwan instances share no file. Both clients stop after their ping with the session up
# ("SYNC: up 1"); once both are up this script prints
#   BOTH-UP: c1 ADDR1 c2 ADDR2
# and waits (SYNC_TMO) for the host's /mnt/out/BOTH-CHECKED (with HOSTSYNC=yes, default), pings
# TARGET from c1 and c2 at the same time, then lets both clients disconnect.
#
# Parameters (environment / runGuest({ env })):
#   SERVER (required), PSK, IKE, ESP, AUTH (default mschapv2), USER, PASS, POOL, DNS, TARGET,
#   PINGS, FORCEENCAPS ...: passed to both clients (l2tp-ipsec-client.sh, l2tp-client.sh)
#   STAGGER   seconds between starting c1 and c2 (default 2)
#   HOSTSYNC  yes (default): wait for /mnt/out/BOTH-CHECKED after BOTH-UP; no: do not
#   SYNC_TMO  seconds for each wait (default 90)
# PASS = both sessions up at the same time with distinct addresses in POOL, the simultaneous
# pings all answered, both client scripts PASS (SA installed, ESP used, clean disconnect).
# Final line: RESULT: PASS|FAIL l2tp-ipsec-two-behind-nat ...
. /mnt/guest/lib.sh
l2k_params
SERVER=${SERVER:?SERVER is required}
export SERVER AUTH=${AUTH:-mschapv2} POOL=${POOL:-100.64.0.0/10}
STAGGER=${STAGGER:-2}; HOSTSYNC=${HOSTSYNC:-yes}; SYNC_TMO=${SYNC_TMO:-90}; PINGS=${PINGS:-3}
NET=${SERVER%.*}.0/24
modprobe esp4; modprobe xfrm_user; modprobe l2tp_ppp; modprobe ppp_generic
modprobe nf_conntrack 2>/dev/null; modprobe xt_MASQUERADE 2>/dev/null; modprobe iptable_nat 2>/dev/null

echo "=== topology: eth0 ($GUEST_IP) -> netns nat, clients c1/c2 behind MASQUERADE"
ip netns add nat; ip netns add c1; ip netns add c2
for n in nat c1 c2; do
  ip netns exec $n sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n $n link set lo up
done
ip link set eth0 netns nat
ip -n nat addr add "$GUEST_IP/24" dev eth0; ip -n nat link set eth0 up
ip -n nat link add br0 type bridge; ip -n nat addr add 203.0.113.1/24 dev br0; ip -n nat link set br0 up
i=0
for n in c1 c2; do
  i=$((i+1))
  ip link add v$n type veth peer name eth0 netns $n
  ip link set v$n netns nat; ip -n nat link set v$n master br0 up
  ip -n $n addr add 203.0.113.1$i/24 dev eth0; ip -n $n link set eth0 up
  ip -n $n route add "$NET" via 203.0.113.1
done
ip netns exec nat sysctl -qw net.ipv4.ip_forward=1
# UDP to high ports only, like a home router: left alone, Linux maps a source port below 512 (IKE's
# 500 of the second client) to another low port, e.g. 68, which capture tools then decode as DHCP
ip netns exec nat iptables -t nat -A POSTROUTING -o eth0 -p udp -j MASQUERADE --to-ports 20000-40000 \
  && ip netns exec nat iptables -t nat -A POSTROUTING -o eth0 -j MASQUERADE || echo "    iptables MASQUERADE failed"
ip netns exec c1 ping -c 1 -W 3 "$SERVER" > /dev/null && echo "    c1 reaches $SERVER through the NAT" || echo "    c1 cannot reach $SERVER"

run_client() { # ns
  local n=$1 d=/tmp/$1
  mkdir -p "$d"; : > "$d/ipsec.conf"; : > "$d/ipsec.secrets"
  ip netns exec "$n" unshare -m --propagation private sh -c "
    mount -t tmpfs tmpfs /run && mkdir -p /run/xl2tpd &&
    mount --bind $d/ipsec.conf /etc/ipsec.conf && mount --bind $d/ipsec.secrets /etc/ipsec.secrets &&
    SYNC=yes SYNC_TMO=$((SYNC_TMO * 2)) TAG=$n exec bash /mnt/guest/l2tp-ipsec-client.sh" > "$d/client.log" 2>&1
}
T0=$(now)
rm -f /mnt/out/SYNC-up-1 /mnt/out/SYNC-down-1 /mnt/out/BOTH-CHECKED
run_client c1 & P1=$!
sleep "$STAGGER"
run_client c2 & P2=$!

# both clients print "SYNC: up 1 AUTH ADDR" after their own ping, then wait for SYNC-up-1
both=0
for k in $(seq 1 $((SYNC_TMO * 2))); do
  a1=$(sed -n 's/^SYNC: up 1 [^ ]* \([0-9.]*\).*/\1/p' /tmp/c1/client.log 2>/dev/null | head -1)
  a2=$(sed -n 's/^SYNC: up 1 [^ ]* \([0-9.]*\).*/\1/p' /tmp/c2/client.log 2>/dev/null | head -1)
  if [ -n "$a1" ] && [ -n "$a2" ]; then both=1; break; fi
  kill -0 $P1 2>/dev/null || kill -0 $P2 2>/dev/null || break
  sleep 0.5
done
why=""
if [ $both = 1 ]; then
  echo "BOTH-UP: c1 $a1 c2 $a2 after $(since "$T0")s"; sync
  if [ "$HOSTSYNC" = yes ]; then wait_for "$SYNC_TMO" test -e /mnt/out/BOTH-CHECKED || why="$why no-host-check"; fi
  TGT=${TARGET:-$(ip -n c1 -4 -o addr show | sed -n 's/.* peer \([0-9.]*\).*/\1/p' | head -1)}
  if1=$(ip -n c1 -o link show | sed -n 's/^[0-9]*: \(ppp[0-9]*\).*/\1/p' | head -1)
  if2=$(ip -n c2 -o link show | sed -n 's/^[0-9]*: \(ppp[0-9]*\).*/\1/p' | head -1)
  ip netns exec c1 ping -c 5 -i 0.5 -W 2 -I "$if1" "$TGT" > /tmp/c1.ping 2>&1 & q1=$!
  ip netns exec c2 ping -c 5 -i 0.5 -W 2 -I "$if2" "$TGT" > /tmp/c2.ping 2>&1 & q2=$!
  wait $q1; r1=$?; wait $q2; r2=$?
  echo "    simultaneous ping to $TGT: c1 ($if1) $(grep -o '[0-9]* received' /tmp/c1.ping), c2 ($if2) $(grep -o '[0-9]* received' /tmp/c2.ping)"
  [ $r1 = 0 ] && [ $r2 = 0 ] || why="$why simultaneous-ping-failed"
  [ "$a1" != "$a2" ] || why="$why same-IPCP-address"
  in_net "$a1" "$POOL" && in_net "$a2" "$POOL" || why="$why address-not-in-$POOL"
  echo "=== NAT conntrack (UDP 500/4500 mappings)"
  ip netns exec nat sh -c 'conntrack -L 2>/dev/null || cat /proc/net/nf_conntrack 2>/dev/null' | grep -E 'dport=(500|4500)' | sed 's/^/    /' | head -8
else
  why="$why not-both-up-at-once"
fi
touch /mnt/out/SYNC-up-1    # both clients disconnect now
for k in $(seq 1 $((SYNC_TMO * 2))); do
  grep -q '^SYNC: down 1' /tmp/c1/client.log 2>/dev/null && grep -q '^SYNC: down 1' /tmp/c2/client.log 2>/dev/null && break
  kill -0 $P1 2>/dev/null || kill -0 $P2 2>/dev/null || break
  sleep 0.5
done
touch /mnt/out/SYNC-down-1
wait $P1; wait $P2
for n in c1 c2; do echo "=== client $n"; sed "s/^/  $n /" /tmp/$n/client.log; done
R1=$(grep '^RESULT:' /tmp/c1/client.log | tail -1); R2=$(grep '^RESULT:' /tmp/c2/client.log | tail -1)
case "$R1" in "RESULT: PASS"*) ;; *) why="$why c1-client-failed" ;; esac
case "$R2" in "RESULT: PASS"*) ;; *) why="$why c2-client-failed" ;; esac
ip netns exec nat iptables -t nat -L POSTROUTING -n -v 2>/dev/null | sed 's/^/    /'
INFO="server=$SERVER c1=${a1:-none} c2=${a2:-none} encap1=$(echo "$R1" | grep -o 'encap=[a-z0-9]*') encap2=$(echo "$R2" | grep -o 'encap=[a-z0-9]*')"
if [ -z "$why" ]; then result PASS l2tp-ipsec-two-behind-nat "$INFO both-up-at-once simultaneous-ping-ok"
else result FAIL l2tp-ipsec-two-behind-nat "$INFO:$why"; exit 1; fi
