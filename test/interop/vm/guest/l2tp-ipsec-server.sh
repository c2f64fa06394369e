#!/bin/bash
# Guest peer: a Linux L2TP/IPsec SERVER = strongSwan IKEv1 responder (Main Mode PSK, ESP transport
# mode for udp/1701, NAT-T) + xl2tpd LNS (kernel L2TP) + pppd (MS-CHAPv2 / CHAP / PAP for
# USER/PASS, pool POOL), for tests of our L2TP/IPsec client (LAC with ipsec = true).
# Listens on the guest address: UDP 500/4500 (+ raw ESP) and L2TP 1701 only through IPsec
# (REQUIRE_IPSEC: iptables drops udp/1701 that did not arrive through an IPsec SA).
#
# Parameters (environment / runGuest({ env })):
#   PSK            pre-shared key (default l2kitpsk)
#   IKE / ESP      accepted proposals (strongSwan syntax, no "!": its defaults are accepted too)
#   REQUIRE_IPSEC  yes (default) | no
#   POOL           xl2tpd "ip range" (default 100.64.5.10-100.64.5.200); LOCAL_PPP (100.64.5.1)
#   USER / PASS    PPP account (default lab / labpass); DNS ms-dns (default 192.0.2.53)
#   SERVE          seconds to serve (default l2k.serve, else 120); the host ends it early
#                  with GuestHandle.requestStop()
# Prints "READY: serving for Ns" when charon and xl2tpd are up; while serving it records every
# ESP SA (ip xfrm state, with keys) and prints them afterwards; then it prints what was served (IKE/CHILD SAs, L2TP tunnels, PPP sessions) as "SERVED: ike=N child=N tunnels=N
# sessions=N" and the ESP packet counters of the kernel SAs.
# Final line: RESULT: PASS|FAIL l2tp-ipsec-server ... (PASS = it came up and served; what was
# served is for the host to judge, sessions=N).
. /mnt/guest/lib.sh
l2k_params
PSK=${PSK:-l2kitpsk}; REQUIRE_IPSEC=${REQUIRE_IPSEC:-yes}
POOL=${POOL:-100.64.5.10-100.64.5.200}; LOCAL_PPP=${LOCAL_PPP:-100.64.5.1}
USER=${USER:-lab}; PASS=${PASS:-labpass}; DNS=${DNS:-192.0.2.53}
IKE=${IKE:-aes256-sha1-modp1024,aes128-sha1-modp1024,3des-sha1-modp1024,aes128-sha1-modp2048,aes256-sha1-modp2048,aes256-sha256-modp2048,aes128-sha256-modp2048}
ESP=${ESP:-aes256-sha1,aes128-sha1,3des-sha1,aes128gcm16,aes256gcm16,aes256-sha256,aes128-sha256}
SERVE=${SERVE:-120}
D=/run/lns
modprobe esp4; modprobe xfrm_user; modprobe l2tp_ppp; modprobe ppp_generic; modprobe xt_policy 2>/dev/null
mkdir -p $D /var/run/xl2tpd /etc/ppp /etc/strongswan.d
echo "=== l2tp-ipsec-server on $GUEST_IP: REQUIRE_IPSEC=$REQUIRE_IPSEC pool $POOL serve ${SERVE}s"

cat > /etc/ipsec.conf <<CONF
config setup
    charondebug="ike 1, knl 1, cfg 1"
    uniqueids=no
conn l2tp-psk
    keyexchange=ikev1
    authby=secret
    type=transport
    left=%any
    leftprotoport=17/1701
    right=%any
    rightprotoport=17/%any
    ike=$IKE
    esp=$ESP
    ikelifetime=8h
    lifetime=1h
    rekey=no
    dpddelay=30s
    dpdtimeout=120s
    dpdaction=clear
    auto=add
CONF
printf ': PSK "%s"\n' "$PSK" > /etc/ipsec.secrets; chmod 600 /etc/ipsec.secrets
cat > /etc/strongswan.d/l2kit-log.conf <<CONF
charon {
  filelog {
    l2k { path = /run/charon.log
          time_format = %T
          flush_line = yes
          default = 1
          ike = 2 }
  }
}
CONF

cat > $D/xl2tpd.conf <<CONF
[global]
port = 1701
access control = no
auth file = $D/l2tp-secrets
debug state = yes
debug tunnel = yes
[lns default]
ip range = $POOL
local ip = $LOCAL_PPP
require authentication = yes
hostname = vm-l2tp-ipsec-server
name = vm-l2tp-ipsec-server
ppp debug = yes
pppoptfile = $D/options
length bit = yes
CONF
: > $D/l2tp-secrets
cat > $D/options <<CONF
auth
require-mschap-v2
name vm-l2tp-ipsec-server
ms-dns $DNS
mtu 1400
mru 1400
nodefaultroute
noccp
nobsdcomp
nodeflate
noipv6
lcp-echo-interval 30
lcp-echo-failure 4
debug
logfile $D/pppd.log
CONF
printf '%s * %s *\n' "$USER" "$PASS" > /etc/ppp/chap-secrets
printf '%s * %s *\n' "$USER" "$PASS" > /etc/ppp/pap-secrets
chmod 600 /etc/ppp/chap-secrets /etc/ppp/pap-secrets
: > $D/pppd.log; : > /run/charon.log

if [ "$REQUIRE_IPSEC" = yes ]; then
  iptables -A INPUT -p udp --dport 1701 -m policy --dir in --pol none -j DROP \
    && echo "    iptables: udp/1701 without IPsec is dropped" || echo "    WARNING: iptables policy rule failed"
fi
ipsec start > $D/ipsec-start.log 2>&1
wait_for 30 sh -c '[ -S /run/charon.ctl ] && ipsec statusall 2>/dev/null | grep -q "l2tp-psk:"'
xl2tpd -D -c $D/xl2tpd.conf -p $D/xl2tpd.pid -C $D/control > $D/xl2tpd.log 2>&1 &
LNSPID=$!
sleep 1
why=""
kill -0 $LNSPID 2>/dev/null || why="$why xl2tpd-died"
[ -S /run/charon.ctl ] || why="$why charon-not-running"
espcount() { ip -s xfrm state | awk '/lifetime current:/{getline; s+=$2} END{print s+0}'; }

if [ -z "$why" ]; then
  # every ESP SA seen while serving (with keys, for the host's tshark decryption)
  ( while sleep 2; do
      ip xfrm state > /run/xfrm.cur 2>/dev/null
      cmp -s /run/xfrm.cur /run/xfrm.last || { cat /run/xfrm.cur >> /run/xfrm.all; cp /run/xfrm.cur /run/xfrm.last; }
    done ) &
  MON=$!
  serve_wait "$SERVE"
  C=$(espcount)
  kill $MON 2>/dev/null
else
  echo "=== not serving:$why"
fi

echo "=== served: IKE/ESP"
grep -E 'IKE_SA .* established|CHILD_SA .* established|selected proposal|NAT|NO_PROPOSAL|no matching|failed|INVALID|authentication of|received DELETE|deleting' /run/charon.log | sed 's/^/    /' | tail -n 40
echo "=== served: L2TP"
grep -E 'Connection established|Call established|closed|Disconnect|result|error' $D/xl2tpd.log | sed 's/^/    /' | head -30
echo "=== served: PPP"
grep -E 'Using interface|rcvd \[LCP ConfReq|sent \[CHAP Success|rcvd \[CHAP Response|peer from calling number|authentication succeeded|MS-CHAP|failed|local  IP|remote IP|Connection terminated|Connect time' $D/pppd.log | sed 's/^/    /' | head -40
[ "$REQUIRE_IPSEC" = yes ] && iptables -L INPUT -n -v -x | sed 's/^/    /'
NIKE=$(grep -c 'IKE_SA l2tp-psk\[[0-9]*\] established' /run/charon.log)
NCHILD=$(grep -c 'CHILD_SA l2tp-psk{[0-9]*} established' /run/charon.log)
NTUN=$(grep -c 'Connection established' $D/xl2tpd.log)
NSESS=$(grep -c 'remote IP address' $D/pppd.log)
SELI=$(grep -o 'selected proposal: IKE:[^ ]*' /run/charon.log | head -1 | sed 's/.*IKE://')
SELE=$(grep -o 'selected proposal: ESP:[^ ]*' /run/charon.log | head -1 | sed 's/.*ESP://')
ENCAP=$(grep -q 'encap type espinudp' <(ip xfrm state 2>/dev/null) && echo udp4500 || echo raw)
echo "=== ip xfrm states seen while serving (with keys, for tshark decryption)"
sed 's/^/    /' /run/xfrm.all 2>/dev/null
echo "SERVED: ike=$NIKE child=$NCHILD tunnels=$NTUN sessions=$NSESS esp-packets=${C:-0} ike-proposal=${SELI:-none} esp-proposal=${SELE:-none}"
[ -w /mnt/out ] && cp /run/charon.log /mnt/out/charon-server.log && cp $D/pppd.log /mnt/out/pppd-server.log && cp $D/xl2tpd.log /mnt/out/xl2tpd-server.log
kill $LNSPID 2>/dev/null; ipsec stop > /dev/null 2>&1
if [ -z "$why" ]; then result PASS l2tp-ipsec-server "$GUEST_IP sessions=$NSESS ike=$NIKE child=$NCHILD tunnels=$NTUN ike-proposal=${SELI:-none} esp-proposal=${SELE:-none}"
else result FAIL l2tp-ipsec-server "$why"; exit 1; fi
