#!/bin/bash
# Guest self-check of l2tp-client.sh (and, with IPSEC=yes, l2tp-ipsec-client.sh):
# an xl2tpd + pppd LNS in the guest's root namespace (203.0.113.1, pool
# 100.64.7.10-20, DNS 198.18.0.53/54, user lab/labpass) and the client script in the
# guest namespace "c" (203.0.113.2) dialling it over a veth. Proves the client
# scripts end to end (IKE/ESP, LCP, auth, IPCP address + DNS, ping, clean
# disconnect) without any host-side peer.
# Parameters: AUTH (default chap,pap,mschapv2), COUNT (1), SECRET (tunnel secret on
# both sides, default none), IPSEC=yes: a strongSwan IKEv1 PSK transport-mode
# responder (own mount namespace: private /run and config) guards the LNS and the
# client is l2tp-ipsec-client.sh (IKE, ESP, FORCEENCAPS passed through).
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
if [ "${IPSEC:-no}" = yes ]; then
  S=/tmp/srv-ipsec; mkdir -p $S; cp -r /etc/strongswan.d $S/strongswan.d
  cat > $S/ipsec.conf <<CONF
conn l2tp
    keyexchange=ikev1
    authby=secret
    type=transport
    left=203.0.113.1
    leftprotoport=17/1701
    right=%any
    rightprotoport=17/%any
    ike=aes256-sha1-modp1024,aes128-sha1-modp2048,3des-sha1-modp1024,aes256-sha256-modp2048!
    esp=aes128-sha1,aes256-sha1,aes128gcm16,3des-sha1!
    auto=add
CONF
  printf ': PSK "l2kitpsk"\n' > $S/ipsec.secrets; chmod 600 $S/ipsec.secrets
  printf 'charon {\n filelog {\n srv { path = %s/charon.log\n time_format = %%T\n default = 1\n } } }\n' $S \
    > $S/strongswan.d/l2k-srv-log.conf
  modprobe esp4; modprobe xfrm_user
  unshare -m --propagation private sh -c "mount -t tmpfs tmpfs /run && mkdir -p /run/xl2tpd &&
    mount --bind $S/ipsec.conf /etc/ipsec.conf && mount --bind $S/ipsec.secrets /etc/ipsec.secrets &&
    mount --bind $S/strongswan.d /etc/strongswan.d && ipsec start" > $S/start.log 2>&1 ||
    { cat $S/start.log; result FAIL l2tp-loopback "ipsec-responder-did-not-start"; exit 1; }
  wait_for 20 sh -c "grep -q 'listening on interfaces' $S/charon.log 2>/dev/null" || echo "=== responder not ready?"
  CLIENT=l2tp-ipsec-client.sh
else
  CLIENT=l2tp-client.sh
fi
xl2tpd -D -c $L/xl2tpd.conf -p $L/xl2tpd.pid -C $L/control > $L/xl2tpd.log 2>&1 &
LNS=$!
wait_for 10 test -p $L/control || { cat $L/xl2tpd.log; result FAIL l2tp-loopback "lns-did-not-start"; exit 1; }
ip netns exec c env SERVER=203.0.113.1 AUTH="$AUTH" COUNT="$COUNT" SECRET="$SECRET" POOL=100.64.7.0/24 \
  DNS=198.18.0.53,198.18.0.54 PSK=l2kitpsk bash /mnt/guest/$CLIENT > /run/client.out 2>&1
sed 's/^/  | /' /run/client.out
kill $LNS 2>/dev/null
[ "${IPSEC:-no}" = yes ] && { echo "=== responder charon log"; grep -E 'selected proposal|established|INSTALLED|failed|NO_PROP|error' $S/charon.log | head -12 | sed 's/^/    /'; }
echo "=== LNS pppd log (auth lines)"; grep -E 'CHAP|PAP|MS-CHAP|peer from calling|authentication' $L/pppd.log | head -10 | sed 's/^/    /'
R=$(grep '^RESULT:' /run/client.out | tail -1)
case "$R" in
  "RESULT: PASS "*) result PASS l2tp-loopback "${R#RESULT: PASS }" ;;
  *) result FAIL l2tp-loopback "client: ${R:-no RESULT}"; exit 1 ;;
esac
