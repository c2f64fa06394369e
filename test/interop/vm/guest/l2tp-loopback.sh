#!/bin/bash
# Guest self-check of l2tp-client.sh: an xl2tpd + pppd LNS in the guest's root
# namespace (203.0.113.1, pool 100.64.7.10-20, DNS 198.18.0.53/54, user lab/labpass)
# and l2tp-client.sh in the guest namespace "c" (203.0.113.2) dialling it over a veth.
# Proves the client script end to end (LCP, auth, IPCP address + DNS, ping, clean
# disconnect) without any host-side peer.
# Parameters: AUTH (default chap,pap,mschapv2), COUNT (1), SECRET (tunnel secret on
# both sides, default none).
# Final line: RESULT: PASS|FAIL l2tp-loopback ...
. /mnt/guest/lib.sh
l2k_params
AUTH=${AUTH:-chap,pap,mschapv2}; COUNT=${COUNT:-1}; SECRET=${SECRET:-}
L=/run/lns; mkdir -p $L /var/run/xl2tpd /etc/ppp
modprobe l2tp_ppp
ip netns add c
ip link add veth-s type veth peer name veth-c netns c
ip addr add 203.0.113.1/24 dev veth-s; ip link set veth-s up
ip -n c addr add 203.0.113.2/24 dev veth-c; ip -n c link set veth-c up; ip -n c link set lo up
cat > $L/xl2tpd.conf <<CONF
[global]
port = 1701
listen-addr = 203.0.113.1
auth file = $L/l2tp-secrets
[lns default]
ip range = 100.64.7.10-100.64.7.20
local ip = 100.64.7.1
require authentication = yes
$( [ -n "$SECRET" ] && echo "challenge = yes" )
name = l2k-lns
pppoptfile = $L/options
length bit = yes
CONF
if [ -n "$SECRET" ]; then printf '* * %s\n' "$SECRET" > $L/l2tp-secrets; else : > $L/l2tp-secrets; fi
printf '%s\n' 'name l2k-lns' require-mschap-v2 require-chap require-pap 'ms-dns 198.18.0.53' 'ms-dns 198.18.0.54' \
  noccp nodefaultroute noipv6 'mtu 1400' 'mru 1400' debug "logfile $L/pppd.log" > $L/options
printf 'lab * labpass *\n' > /etc/ppp/chap-secrets; printf 'lab * labpass *\n' > /etc/ppp/pap-secrets
chmod 600 /etc/ppp/chap-secrets /etc/ppp/pap-secrets $L/l2tp-secrets
xl2tpd -D -c $L/xl2tpd.conf -p $L/xl2tpd.pid -C $L/control > $L/xl2tpd.log 2>&1 &
LNS=$!
wait_for 10 test -p $L/control || { cat $L/xl2tpd.log; result FAIL l2tp-loopback "lns-did-not-start"; exit 1; }
ip netns exec c env SERVER=203.0.113.1 AUTH="$AUTH" COUNT="$COUNT" SECRET="$SECRET" POOL=100.64.7.0/24 \
  DNS=198.18.0.53,198.18.0.54 bash /mnt/guest/l2tp-client.sh > /run/client.out 2>&1
sed 's/^/  | /' /run/client.out
kill $LNS 2>/dev/null
echo "=== LNS pppd log (auth lines)"; grep -E 'CHAP|PAP|MS-CHAP|peer from calling|authentication' $L/pppd.log | head -10 | sed 's/^/    /'
R=$(grep '^RESULT:' /run/client.out | tail -1)
case "$R" in
  "RESULT: PASS "*) result PASS l2tp-loopback "${R#RESULT: PASS }" ;;
  *) result FAIL l2tp-loopback "client: ${R:-no RESULT}"; exit 1 ;;
esac
