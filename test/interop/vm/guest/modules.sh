#!/bin/bash
# Guest self-check: the kernel L2TP/PPP/ESP modules load, /dev/ppp exists, the
# userspace peers run, the 9p output share is writable and the network is up.
# Parameters: PING (optional address to ping once through eth0).
# Final line: RESULT: PASS|FAIL modules ...
. /mnt/guest/lib.sh
l2k_params
why=""
for m in l2tp_ppp l2tp_eth l2tp_ip esp4 ppp_generic xfrm_user; do
  modprobe "$m" || why="$why modprobe-$m"
done
lsmod | grep -E '^(l2tp|ppp|esp4|xfrm)' | awk '{print "  module " $1}'
[ -c /dev/ppp ] && echo "  /dev/ppp: $(ls -l /dev/ppp)" || why="$why no-/dev/ppp"
PPPD=$(pppd --version 2>&1 | head -1); echo "  $PPPD"; case "$PPPD" in *pppd*) ;; *) why="$why pppd" ;; esac
XL=$(xl2tpd -v 2>&1 | grep -m1 xl2tpd); echo "  $XL"; case "$XL" in *xl2tpd*) ;; *) why="$why xl2tpd" ;; esac
SW=$(ipsec --version 2>&1 | head -1); echo "  $SW"; case "$SW" in *strongSwan*) ;; *) why="$why strongswan" ;; esac
ip l2tp show tunnel >/dev/null 2>&1 || why="$why ip-l2tp"
echo ok > /mnt/out/modules.write && [ "$(cat /mnt/out/modules.write)" = ok ] || why="$why out-share"
NET=none
if ip -4 -o addr show eth0 2>/dev/null | grep -q inet; then NET=$(ip -4 -o addr show eth0 | awk '{print $4}'); fi
if [ -n "${PING:-}" ]; then
  ping -c 1 -W 3 "$PING" >/dev/null 2>&1 && echo "  ping $PING ok" || why="$why ping-$PING"
fi
INFO="kernel=$(uname -r) eth0=$NET mem=$(awk '/MemTotal/{print $2}' /proc/meminfo)kB"
if [ -z "$why" ]; then result PASS modules "$INFO"; else result FAIL modules "$INFO:$why"; exit 1; fi
