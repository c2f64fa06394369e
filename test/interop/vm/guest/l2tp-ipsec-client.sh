#!/bin/bash
# Guest peer: a Linux L2TP/IPsec client = strongSwan charon (IKEv1 Main Mode, PSK,
# ESP transport mode protecting udp/1701, kernel XFRM) + xl2tpd + pppd
# (l2tp-client.sh does the L2TP/PPP part), for tests of our IKE/ESP + LNS.
#
# Parameters (environment / runGuest({ env })):
#   SERVER       L2TP/IPsec server (required)
#   PSK          IKE pre-shared key (default l2kitpsk)
#   IKE          IKEv1 proposals, strongSwan syntax, comma list, "!" (strict) is
#                appended (default aes256-sha1-modp1024,aes128-sha1-modp2048,3des-sha1-modp1024)
#   ESP          ESP proposals (default aes128-sha1,aes256-sha1,aes128gcm16)
#   FORCEENCAPS  yes: ESP always in UDP 4500 (strongSwan forceencaps); no (default):
#                raw ESP unless NAT is detected
#   LIFETIMES    IKE/CHILD, e.g. 120s/40s (default 8h/1h); margintime = CHILD/3
#   REMOTEID     rightid (default %any); LOCALID leftid (default the local address)
#   RPORT        rightprotoport port (default 1701)
#   AUTH, USER, PASS, SECRET, COUNT, POOL, DNS, TARGET, PINGS, SYNC, SYNC_TMO:
#                as l2tp-client.sh (AUTH default mschapv2; its SYNC: lines are
#                printed as they come)
# Checks: IKE + CHILD SA INSTALLED and an ESP state in the kernel, the l2tp-client
# cycles pass, the kernel ESP SA packet counters grew (L2TP went through ESP),
# FORCEENCAPS=yes really gave ESP-in-UDP. The xfrm states (with keys) are printed
# so host captures can be decrypted with tshark.
# Final line: RESULT: PASS|FAIL l2tp-ipsec-client ...
. /mnt/guest/lib.sh
l2k_params
SERVER=${SERVER:?SERVER is required}; PSK=${PSK:-l2kitpsk}
IKE=${IKE:-aes256-sha1-modp1024,aes128-sha1-modp2048,3des-sha1-modp1024}
ESP=${ESP:-aes128-sha1,aes256-sha1,aes128gcm16}
FORCEENCAPS=${FORCEENCAPS:-no}; REMOTEID=${REMOTEID:-%any}; RPORT=${RPORT:-1701}
LIFETIMES=${LIFETIMES:-8h/1h}; IKELIFETIME=${LIFETIMES%%/*}; LIFETIME=${LIFETIMES##*/}
secs() { local v=$1; case "$v" in *h) echo $(( ${v%h} * 3600 ));; *m) echo $(( ${v%m} * 60 ));; *s) echo "${v%s}";; *) echo "$v";; esac; }
MARGIN=$(( $(secs "$LIFETIME") / 3 ))s
export AUTH=${AUTH:-mschapv2} SERVER TAG=${TAG:-l2tpc}
LOCAL=${LOCAL:-$(ip -4 route get "$SERVER" 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p')}
LOCALID=${LOCALID:-$LOCAL}
echo "=== l2tp-ipsec-client: SERVER=$SERVER LOCAL=$LOCAL IKE=$IKE ESP=$ESP FORCEENCAPS=$FORCEENCAPS lifetimes=$IKELIFETIME/$LIFETIME AUTH=$AUTH"
modprobe esp4; modprobe xfrm_user; modprobe af_key 2>/dev/null
mkdir -p /etc/strongswan.d
cat > /etc/ipsec.conf <<CONF
config setup
    charondebug="ike 1, knl 1, cfg 1"
conn l2tp
    keyexchange=ikev1
    authby=secret
    type=transport
    left=$LOCAL
    leftid=$LOCALID
    leftprotoport=17/1701
    right=$SERVER
    rightid=$REMOTEID
    rightprotoport=17/$RPORT
    ike=$IKE!
    esp=$ESP!
    forceencaps=$FORCEENCAPS
    ikelifetime=$IKELIFETIME
    lifetime=$LIFETIME
    margintime=$MARGIN
    keyingtries=1
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
: > /run/charon.log   # one log per run (several runs may share a boot: l2tp-ipsec-matrix.sh)
ipsec start > /run/ipsec-start.log 2>&1
wait_for 30 sh -c 'ipsec statusall 2>/dev/null | grep -q "l2tp:"'
T0=$(now)
timeout 60 ipsec up l2tp > /run/ipsec-up.log 2>&1
ipsec status l2tp | grep -q INSTALLED && ip xfrm state | grep -q 'proto esp' && RC=0 || RC=1
echo "=== ipsec up: $([ $RC = 0 ] && echo OK || echo FAILED) after $(since "$T0")s"
grep -E 'selected proposal|NAT|established|INSTALLED|no proposal|failed|NO_PROPOSAL|AUTH|INVALID' /run/ipsec-up.log | head -20 | sed 's/^/    /'
echo "=== ip xfrm state (with keys, for tshark decryption)"
ip xfrm state | sed 's/^/    /'
ENCAP=raw; ip xfrm state | grep -q 'encap type espinudp' && ENCAP=udp4500; [ $RC = 0 ] || ENCAP=none
espcount() { ip -s xfrm state | awk '/lifetime current:/{getline; s+=$2} END{print s+0}'; }
# bytes of child SAs already closed (the server may delete the SA a few seconds after the L2TP
# tunnel closed, before the counters are read): charon's "closing CHILD_SA ... (N bytes)" lines
closedbytes() { sed -n 's/.*closing CHILD_SA .* (\([0-9]*\) bytes) .* (\([0-9]*\) bytes).*/\1 \2/p' /run/charon.log | awk '{s+=$1+$2} END{print s+0}'; }
why=""
if [ $RC = 0 ]; then
  [ "$FORCEENCAPS" = yes ] && [ "$ENCAP" != udp4500 ] && why="$why forceencaps-but-raw-esp"
  C0=$(espcount)
  if [ "${SYNC:-no}" = yes ]; then
    # the host waits for the client's SYNC lines: pass them through as they come
    bash /mnt/guest/l2tp-client.sh 2>&1 | tee /run/l2tp-client.out | grep --line-buffered '^SYNC:'
  else
    bash /mnt/guest/l2tp-client.sh > /run/l2tp-client.out 2>&1
  fi
  sed 's/^/  | /' /run/l2tp-client.out
  C1=$(espcount)
  CB=$(closedbytes)
  echo "=== ESP packets counted by the kernel SAs: before PPP $C0, after $C1; bytes of SAs closed meanwhile $CB"
  grep -q '^RESULT: PASS' /run/l2tp-client.out || why="$why l2tp-ppp-failed"
  CHILD_EST=$(grep -c 'CHILD_SA l2tp{[0-9]*} established' /run/charon.log)
  { [ "$C1" -gt "$C0" ] || [ "$CB" -gt 0 ] || { [ "$CHILD_EST" -ge 2 ] && [ "$C1" -gt 0 ]; }; } || why="$why no-ESP-packets"
else
  why="IKE-or-QuickMode-failed"
  tail -40 /run/charon.log | sed 's/^/    charon: /'
fi
ipsec down l2tp >/dev/null 2>&1; ipsec stop >/dev/null 2>&1
# strongSwan's whole log for the host (debugging from the run's output directory)
[ -w /mnt/out ] && cp /run/charon.log "/mnt/out/charon-$TAG.log" 2>/dev/null
SEL=$(grep -o 'selected proposal: IKE:[^ ]*' /run/charon.log | head -1 | sed 's/.*IKE://')
SELC=$(grep -o 'selected proposal: ESP:[^ ]*' /run/charon.log | head -1 | sed 's/.*ESP://')
INFO="server=$SERVER ike=${SEL:-none} esp=${SELC:-none} encap=$ENCAP auth=$AUTH $(grep -o 'cycles=[0-9/]*' /run/l2tp-client.out 2>/dev/null)"
if [ -z "$why" ]; then result PASS l2tp-ipsec-client "$INFO"
else result FAIL l2tp-ipsec-client "$INFO:$why"; exit 1; fi
