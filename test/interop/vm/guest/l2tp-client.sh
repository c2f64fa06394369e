#!/bin/bash
# Guest peer: a Linux L2TPv2 client (LAC) = xl2tpd (kernel L2TP data path) + pppd
# (pppol2tp plugin), dialling SERVER, for tests of our LNS.
#
# Parameters (environment / runGuest({ env })):
#   SERVER     LNS address (required)
#   USER/PASS  PPP credentials (default lab / labpass)
#   AUTH       pap | chap | mschapv2, or a comma list (each runs COUNT cycles); the
#              other methods are refused in LCP (default chap)
#   SECRET     L2TP tunnel secret: Challenge AVP in SCCRQ, the response is checked
#   HIDDEN     yes: xl2tpd "hidden bit = yes" (xl2tpd 1.3.18 only adds a Random
#              Vector AVP; it hides nothing itself but decrypts hidden AVPs it gets)
#   COUNT      connect/ping/disconnect cycles per AUTH (default 1)
#   POOL       the IPCP address must be inside this prefix (default 100.64.0.0/10)
#   DNS        any (default): IPCP must give a DNS address (usepeerdns);
#              A[,B]: primary (and secondary) must equal these; none: not checked
#   TARGET     ping target (default: the IPCP peer address); PINGS (default 3, all
#              must answer)
#   MTU        PPP MTU/MRU (default 1400); UP_TMO seconds to wait for IPCP (45)
#   L2TP_HOSTNAME  Host Name AVP (default l2kit-vm); TAG run dir /run/TAG (l2tpc)
#   SYNC       yes: hand-shake with the host around each cycle (for checks on the
#              LNS side): after the ping prints "SYNC: up N AUTH ADDR" and waits
#              for /mnt/out/SYNC-up-N, after the disconnect prints "SYNC: down N
#              AUTH" and waits for /mnt/out/SYNC-down-N (N counts cycles from 1;
#              SYNC_TMO seconds each, default 60; a missing file fails the cycle)
# A cycle: "c l2k" on the xl2tpd control pipe (SCCRQ..ICCN), pppd LCP/auth/IPCP;
# checks address in POOL, DNS, ping; then a clean disconnect: SIGTERM pppd (LCP
# TermReq/TermAck, CDN), "d l2k" (StopCCN), wait until xl2tpd destroyed the tunnel
# (an unacknowledged StopCCN fails the cycle).
# Final line: RESULT: PASS|FAIL l2tp-client ...
. /mnt/guest/lib.sh
l2k_params
SERVER=${SERVER:?SERVER is required}; USER=${USER:-lab}; PASS=${PASS:-labpass}; AUTH=${AUTH:-chap}
SECRET=${SECRET:-}; HIDDEN=${HIDDEN:-no}; COUNT=${COUNT:-1}; POOL=${POOL:-100.64.0.0/10}
DNS=${DNS:-any}; TARGET=${TARGET:-}; PINGS=${PINGS:-3}; MTU=${MTU:-1400}; UP_TMO=${UP_TMO:-45}
L2TP_HOSTNAME=${L2TP_HOSTNAME:-l2kit-vm}; TAG=${TAG:-l2tpc}; SYNC=${SYNC:-no}; SYNC_TMO=${SYNC_TMO:-60}
D=/run/$TAG
modprobe l2tp_ppp; modprobe ppp_generic
mkdir -p "$D" /var/run/xl2tpd /etc/ppp
echo "=== l2tp-client: SERVER=$SERVER USER=$USER AUTH=$AUTH SECRET=${SECRET:+set} COUNT=$COUNT POOL=$POOL DNS=$DNS TARGET=${TARGET:-peer}"

cat > "$D/xl2tpd.conf" <<CONF
[global]
port = 1701
access control = no
auth file = $D/l2tp-secrets
debug tunnel = yes
debug state = yes
max retries = 5
[lac l2k]
lns = $SERVER
hostname = $L2TP_HOSTNAME
name = $USER
require authentication = no
ppp debug = yes
pppoptfile = $D/options
length bit = yes
autodial = no
redial = no
$( [ -n "$SECRET" ] && echo "challenge = yes" )
$( [ "$HIDDEN" = yes ] && echo "hidden bit = yes" )
CONF
if [ -n "$SECRET" ]; then printf '* * %s\n' "$SECRET" > "$D/l2tp-secrets"; else : > "$D/l2tp-secrets"; fi
chmod 600 "$D/l2tp-secrets"

write_opts() { # AUTH method -> pppd options refusing the others
  local refuse
  case "$1" in
    pap)      refuse="refuse-chap refuse-mschap refuse-mschap-v2 refuse-eap" ;;
    chap)     refuse="refuse-pap refuse-mschap refuse-mschap-v2 refuse-eap" ;;
    mschapv2) refuse="refuse-pap refuse-chap refuse-mschap refuse-eap" ;;
    *) echo "unknown AUTH $1"; return 1 ;;
  esac
  { printf 'name %s\npassword %s\nuser %s\n' "$USER" "$PASS" "$USER"
    printf '%s\n' noauth $refuse usepeerdns noipdefault nodefaultroute noccp nobsdcomp nodeflate noipv6
    printf 'mtu %s\nmru %s\nlcp-echo-interval 10\nlcp-echo-failure 6\nlinkname %s\ndebug\nlogfile %s\n' \
      "$MTU" "$MTU" "$TAG" "$D/pppd.log"; } > "$D/options"
  chmod 600 "$D/options"
}

pppif() { sed -n 2p "/run/ppp-$TAG.pid" 2>/dev/null; }
pppup() { local i; i=$(pppif); [ -n "$i" ] && ip -4 addr show "$i" 2>/dev/null | grep -q 'inet '; }
pppgone() { [ ! -e "/run/ppp-$TAG.pid" ]; }
ctl() { timeout 5 sh -c "echo '$1' > $D/control"; }
# host_sync up|down: with SYNC=yes announce the point and wait for the host's go file
host_sync() {
  [ "$SYNC" = yes ] || return 0
  echo "SYNC: $1 $TOTAL $A ${2:-}"; sync
  wait_for "$SYNC_TMO" test -e "/mnt/out/SYNC-$1-$TOTAL" || { why="$why no-host-sync-$1"; return 1; }
}
tunnel_gone() { tail -n +$((XL+1)) "$D/xl2tpd.log" | grep -q -E 'closing down tunnel|Destroying anyway'; }

: > "$D/pppd.log"; rm -f "$D/control" "/run/ppp-$TAG.pid"
xl2tpd -D -c "$D/xl2tpd.conf" -p "$D/xl2tpd.pid" -C "$D/control" > "$D/xl2tpd.log" 2>&1 &
XPID=$!
wait_for 10 test -p "$D/control" || { cat "$D/xl2tpd.log"; result FAIL l2tp-client "xl2tpd-did-not-start"; exit 1; }

OKS=0; TOTAL=0; SUMMARY=""
for A in ${AUTH//,/ }; do
  write_opts "$A" || { TOTAL=$((TOTAL+1)); SUMMARY="$SUMMARY $A:bad-auth"; continue; }
  for n in $(seq 1 "$COUNT"); do
    TOTAL=$((TOTAL+1)); why=""; LOCAL=""
    echo "=== cycle $n/$COUNT auth=$A: connect"
    LOGL=$(wc -l < "$D/pppd.log"); XL=$(wc -l < "$D/xl2tpd.log"); T0=$(now)
    rm -f /etc/ppp/resolv.conf
    ctl "c l2k"
    if wait_for "$UP_TMO" pppup; then
      IF=$(pppif)
      LOCAL=$(ip -4 -o addr show "$IF" | sed -n 's/.* inet \([0-9.]*\) peer \([0-9.]*\).*/\1/p')
      PEER=$(ip -4 -o addr show "$IF" | sed -n 's/.* inet \([0-9.]*\) peer \([0-9.]*\).*/\2/p')
      echo "    $IF up after $(since "$T0")s: local $LOCAL peer $PEER"
      tail -n +$((LOGL+1)) "$D/pppd.log" | grep -E 'CHAP|PAP|MS-v2|authentication|succeeded|failed|local  IP|remote IP|DNS address' | sed 's/^/    pppd: /' | head -12
      in_net "$LOCAL" "$POOL" || why="$why address-$LOCAL-not-in-$POOL"
      GOT_DNS=$(tail -n +$((LOGL+1)) "$D/pppd.log" | sed -n 's/.*\(primary\|secondary\) *DNS address \([0-9.]*\).*/\2/p' | tr '\n' ',' | sed 's/,$//')
      echo "    DNS from IPCP: ${GOT_DNS:-none}; /etc/ppp/resolv.conf: $(tr '\n' ' ' < /etc/ppp/resolv.conf 2>/dev/null)"
      case "$DNS" in
        none) ;;
        any) [ -n "$GOT_DNS" ] || why="$why no-DNS-from-IPCP" ;;
        *) [ "$GOT_DNS" = "$DNS" ] || why="$why DNS-$GOT_DNS-not-$DNS" ;;
      esac
      TGT=${TARGET:-$PEER}
      if ping -c "$PINGS" -W 2 -I "$IF" "$TGT" > "$D/ping.out" 2>&1 && grep -q " $PINGS received" "$D/ping.out"; then
        echo "    ping $TGT: $(grep -o '[0-9]* received' "$D/ping.out")"
      else
        why="$why ping-$TGT-failed"; tail -3 "$D/ping.out" | sed 's/^/    /'
      fi
      ip l2tp show tunnel 2>/dev/null | sed -n '1,2p' | sed 's/^/    kernel: /'
      host_sync up "$LOCAL"
      # clean disconnect: PPP first (LCP TermReq, xl2tpd sends CDN), then the tunnel (StopCCN)
      T1=$(now); PPPPID=$(sed -n 1p "/run/ppp-$TAG.pid" 2>/dev/null)
      [ -n "$PPPPID" ] && kill -TERM "$PPPPID" 2>/dev/null
      wait_for 10 pppgone || why="$why pppd-did-not-exit"
      sleep 2   # let the CDN exchange finish
      XL=$(wc -l < "$D/xl2tpd.log")
      ctl "d l2k"
      wait_for 45 tunnel_gone || why="$why tunnel-not-closed"
      tail -n +$((XL+1)) "$D/xl2tpd.log" | grep -q 'Unable to deliver closing message' && why="$why StopCCN-not-acked"
      tail -n +$((LOGL+1)) "$D/pppd.log" | grep -q 'Connection terminated' || why="$why no-LCP-terminate"
      echo "    disconnected in $(since "$T1")s"
      host_sync down
    else
      why="no-IPCP-within-${UP_TMO}s"
      tail -n +$((LOGL+1)) "$D/pppd.log" | tail -15 | sed 's/^/    pppd: /'
      tail -n +$((XL+1)) "$D/xl2tpd.log" | tail -15 | sed 's/^/    xl2tpd: /'
      XL=$(wc -l < "$D/xl2tpd.log"); ctl "d l2k"; wait_for 20 tunnel_gone
      PPPPID=$(sed -n 1p "/run/ppp-$TAG.pid" 2>/dev/null); [ -n "$PPPPID" ] && kill "$PPPPID" 2>/dev/null
      host_sync down
    fi
    if [ -z "$why" ]; then OKS=$((OKS+1)); SUMMARY="$SUMMARY $A#$n:ok($LOCAL)"; echo "    cycle OK"
    else SUMMARY="$SUMMARY $A#$n:FAIL($why )"; echo "    cycle FAILED:$why"; fi
    sleep 1
  done
done
echo "=== xl2tpd log (filtered)"
grep -E 'Connection established|Call established|Disconnecting|closing down|[Cc]hallenge|[Rr]esult|error|StopCCN|CDN' "$D/xl2tpd.log" | head -40 | sed 's/^/    /'
kill "$XPID" 2>/dev/null; sleep 1
if [ "$OKS" = "$TOTAL" ] && [ "$TOTAL" -gt 0 ]; then
  result PASS l2tp-client "server=$SERVER auth=$AUTH secret=$([ -n "$SECRET" ] && echo yes || echo no) cycles=$OKS/$TOTAL:$SUMMARY"
else
  result FAIL l2tp-client "server=$SERVER auth=$AUTH cycles=$OKS/$TOTAL:$SUMMARY"
  exit 1
fi
