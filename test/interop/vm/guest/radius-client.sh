#!/bin/bash
# Guest peer for the RADIUS tests of our LNS: a Linux L2TPv2 client (xl2tpd + pppd, kernel
# data path) running a plan of connections in one boot, each with its own user and method,
# and a host hand-shake around each one so the host can act on the LNS (DAE, CoA) meanwhile.
#
# Parameters (environment / runGuest({ env })):
#   SERVER     LNS address (required)
#   PLAN       comma list of USER:PASS:AUTH:MODE (AUTH pap|chap|mschapv2; MODE
#              ok     = must come up; ping; "SYNC: up N ADDR"; wait for /mnt/out/SYNC-up-N;
#                       we hang up (LCP Terminate, CDN, StopCCN)
#              reject = authentication must fail; prints "SYNC: rejected N <pppd's message>"
#              held   = must come up; ping; "SYNC: up N ADDR"; wait for /mnt/out/SYNC-up-N;
#                       then the LNS must end the session within HOLD_TMO s: prints
#                       "SYNC: ended N AFTER_S lcp=yes|no cdn=yes|no")
#              every cycle ends with "SYNC: down N" and waits for /mnt/out/SYNC-down-N)
#   TARGET     ping target (default: the IPCP peer); PINGS (default 3, all must answer)
#   HOLD_TMO   seconds a held session may last after SYNC-up (default 60); SYNC_TMO (90)
#   UP_TMO     seconds to wait for IPCP (default 45)
# Final line: RESULT: PASS|FAIL radius-client cycles=OK/TOTAL:...
. /mnt/guest/lib.sh
l2k_params
SERVER=${SERVER:?SERVER is required}; PLAN=${PLAN:?PLAN is required}; TARGET=${TARGET:-}; PINGS=${PINGS:-3}
HOLD_TMO=${HOLD_TMO:-60}; SYNC_TMO=${SYNC_TMO:-90}; UP_TMO=${UP_TMO:-45}; TAG=rad; D=/run/$TAG
modprobe l2tp_ppp; modprobe ppp_generic
mkdir -p "$D" /var/run/xl2tpd /etc/ppp
echo "=== radius-client: SERVER=$SERVER PLAN=$(echo "$PLAN" | sed 's/:[^:,]*:/:*:/g')"

cat > "$D/xl2tpd.conf" <<CONF
[global]
port = 1701
access control = no
debug tunnel = yes
debug state = yes
max retries = 5
[lac l2k]
lns = $SERVER
hostname = l2kit-vm
require authentication = no
ppp debug = yes
pppoptfile = $D/options
length bit = yes
autodial = no
redial = no
CONF

write_opts() { # USER PASS AUTH -> pppd options refusing the other methods
  local refuse
  case "$3" in
    pap)      refuse="refuse-chap refuse-mschap refuse-mschap-v2 refuse-eap" ;;
    chap)     refuse="refuse-pap refuse-mschap refuse-mschap-v2 refuse-eap" ;;
    mschapv2) refuse="refuse-pap refuse-chap refuse-mschap refuse-eap" ;;
    *) echo "unknown AUTH $3"; return 1 ;;
  esac
  { printf 'name %s\npassword %s\nuser %s\n' "$1" "$2" "$1"
    printf '%s\n' noauth $refuse usepeerdns noipdefault nodefaultroute noccp nobsdcomp nodeflate noipv6
    printf 'mtu 1400\nmru 1400\nlcp-echo-interval 10\nlcp-echo-failure 6\nlinkname %s\ndebug\nlogfile %s\n' "$TAG" "$D/pppd.log"; } > "$D/options"
  chmod 600 "$D/options"
}

pppif() { sed -n 2p "/run/ppp-$TAG.pid" 2>/dev/null; }
pppup() { local i; i=$(pppif); [ -n "$i" ] && ip -4 addr show "$i" 2>/dev/null | grep -q 'inet '; }
pppgone() { [ ! -e "/run/ppp-$TAG.pid" ] && ! grep -qsx pppd /proc/[0-9]*/comm; }
ctl() { timeout 5 sh -c "echo '$1' > $D/control"; }
wait_file() { wait_for "$SYNC_TMO" test -e "/mnt/out/$1" || { why="$why no-host-$1"; return 1; }; }
tunnel_gone() { tail -n +$((XL+1)) "$D/xl2tpd.log" | grep -q -E 'closing down tunnel|Destroying anyway'; }
newlog() { tail -n +$((LOGL+1)) "$D/pppd.log"; }

: > "$D/pppd.log"; rm -f "$D/control" "/run/ppp-$TAG.pid"
xl2tpd -D -c "$D/xl2tpd.conf" -p "$D/xl2tpd.pid" -C "$D/control" > "$D/xl2tpd.log" 2>&1 &
XPID=$!
wait_for 10 test -p "$D/control" || { cat "$D/xl2tpd.log"; result FAIL radius-client "xl2tpd-did-not-start"; exit 1; }

OKS=0; N=0; SUMMARY=""
for step in ${PLAN//,/ }; do
  IFS=: read -r U P A MODE <<< "$step"
  N=$((N+1)); why=""; LOCAL=""
  write_opts "$U" "$P" "$A" || { SUMMARY="$SUMMARY #$N:bad-auth"; continue; }
  echo "=== cycle $N: user=$U auth=$A mode=$MODE"
  LOGL=$(wc -l < "$D/pppd.log"); XL=$(wc -l < "$D/xl2tpd.log"); T0=$(now)
  ctl "c l2k"
  if [ "$MODE" = reject ]; then
    # pppd must give up without IPCP; its log has the authenticator's failure text.
    authfail() { newlog | grep -q -i -E 'authentication failed|Connection terminated'; }
    wait_for "$UP_TMO" authfail || why="$why no-auth-failure"
    wait_for 15 pppgone || why="$why pppd-still-running"
    pppup && why="$why came-up"
    MSG=$(newlog | grep -E 'authentication failed|Authentication failure|CHAP authentication|PAP authentication|MS-CHAP' | tail -3 | tr '\n' '|' | tr -s ' ' | sed 's/|$//')
    newlog | tail -12 | sed 's/^/    pppd: /'
    echo "SYNC: rejected $N ${MSG:-no-message}"; sync
    newlog | grep -q -i 'fail' || why="$why no-failure-in-pppd-log"
  elif wait_for "$UP_TMO" pppup; then
    IF=$(pppif)
    LOCAL=$(ip -4 -o addr show "$IF" | sed -n 's/.* inet \([0-9.]*\) peer \([0-9.]*\).*/\1/p')
    PEER=$(ip -4 -o addr show "$IF" | sed -n 's/.* inet \([0-9.]*\) peer \([0-9.]*\).*/\2/p')
    DNS=$(newlog | sed -n 's/.*\(primary\|secondary\) *DNS address \([0-9.]*\).*/\2/p' | tr '\n' ',' | sed 's/,$//')
    echo "    $IF up after $(since "$T0")s: local $LOCAL peer $PEER dns ${DNS:-none}"
    newlog | grep -E 'CHAP|PAP|MS-v2|authentication|succeeded|failed|local  IP|remote IP|DNS address' | sed 's/^/    pppd: /' | head -10
    TGT=${TARGET:-$PEER}
    if ping -c "$PINGS" -W 2 -I "$IF" "$TGT" > "$D/ping.out" 2>&1 && grep -q " $PINGS received" "$D/ping.out"; then
      echo "    ping $TGT: $(grep -o '[0-9]* received' "$D/ping.out")"
    else
      why="$why ping-$TGT-failed"; tail -3 "$D/ping.out" | sed 's/^/    /'
    fi
    echo "SYNC: up $N $LOCAL dns=${DNS:-none}"; sync
    wait_file "SYNC-up-$N"
    if [ "$MODE" = held ]; then
      T1=$(now)
      if wait_for "$HOLD_TMO" pppgone; then
        LCP=no; newlog | grep -q -E 'LCP terminated by peer|Connection terminated' && LCP=yes
        sleep 1
        CDN=no; tail -n +$((XL+1)) "$D/xl2tpd.log" | grep -q -E 'Connection closed to|CDN|call_close' && CDN=yes
        echo "SYNC: ended $N $(since "$T1") lcp=$LCP cdn=$CDN"; sync
        newlog | tail -6 | sed 's/^/    pppd: /'
        tail -n +$((XL+1)) "$D/xl2tpd.log" | grep -E -i 'closed|cdn|disconnect' | head -5 | sed 's/^/    xl2tpd: /'
        [ "$LCP" = yes ] || why="$why no-lcp-terminate"
      else
        why="$why lns-did-not-end-it"
        PPPPID=$(sed -n 1p "/run/ppp-$TAG.pid" 2>/dev/null); [ -n "$PPPPID" ] && kill -TERM "$PPPPID" 2>/dev/null
        wait_for 10 pppgone
      fi
    else
      PPPPID=$(sed -n 1p "/run/ppp-$TAG.pid" 2>/dev/null)
      [ -n "$PPPPID" ] && kill -TERM "$PPPPID" 2>/dev/null
      wait_for 10 pppgone || why="$why pppd-did-not-exit"
      newlog | grep -q 'Connection terminated' || why="$why no-LCP-terminate"
    fi
  else
    why="$why no-IPCP-within-${UP_TMO}s"
    newlog | tail -15 | sed 's/^/    pppd: /'
    PPPPID=$(sed -n 1p "/run/ppp-$TAG.pid" 2>/dev/null); [ -n "$PPPPID" ] && kill "$PPPPID" 2>/dev/null
    wait_for 10 pppgone
  fi
  sleep 1
  XL=$(wc -l < "$D/xl2tpd.log")
  ctl "d l2k"
  wait_for 45 tunnel_gone || why="$why tunnel-not-closed"
  echo "SYNC: down $N"; sync
  wait_file "SYNC-down-$N"
  if [ -z "$why" ]; then OKS=$((OKS+1)); SUMMARY="$SUMMARY #$N:$U/$A/$MODE:ok(${LOCAL:--})"; echo "    cycle OK"
  else SUMMARY="$SUMMARY #$N:$U/$A/$MODE:FAIL($why )"; echo "    cycle FAILED:$why"; fi
  sleep 1
done
echo "=== xl2tpd log (filtered)"
grep -E 'Connection established|Call established|Disconnecting|closing down|closed|[Rr]esult|error|StopCCN|CDN' "$D/xl2tpd.log" | head -40 | sed 's/^/    /'
kill "$XPID" 2>/dev/null; sleep 1
if [ "$OKS" = "$N" ] && [ "$N" -gt 0 ]; then
  result PASS radius-client "cycles=$OKS/$N:$SUMMARY"
else
  result FAIL radius-client "cycles=$OKS/$N:$SUMMARY"
  exit 1
fi
