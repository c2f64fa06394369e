# Helpers sourced by the guest-side scripts in test/interop/vm/guest/ (not a test).
# Inside the guest this directory is the read-only 9p share /mnt/guest; /mnt/out is
# the writable per-run output directory of the host.
#
# Parameters: every script reads NAME=VALUE from its environment; init.sh exports
# the kernel command line's l2k.env.NAME=VALUE (runGuest({ env })) before the test
# starts, and l2k_params re-reads them for scripts started by hand.

# The kernel command line is parsed with bash builtins only: every fork costs a lot
# under TCG.
read -r -a L2K_CMDLINE < /proc/cmdline

# l2k_arg NAME: value of the last NAME=VALUE word of the kernel command line
l2k_arg() {
  local w v=""
  for w in "${L2K_CMDLINE[@]}"; do [ "${w%%=*}" = "$1" ] && v=${w#*=}; done
  printf '%s' "$v"
}

# l2k_params: export every l2k.env.NAME=VALUE not already set; GUEST_IP, SERVE
l2k_params() {
  local w kv k
  for w in "${L2K_CMDLINE[@]}"; do
    case "$w" in l2k.env.?*=*) ;; *) continue ;; esac
    kv=${w#l2k.env.}; k=${kv%%=*}
    case "$k" in *[!A-Za-z0-9_]*|'') continue ;; esac
    [ -z "${!k+x}" ] && export "$kv"
  done
  GUEST_IP=$(l2k_arg l2k.ip); GUEST_IP=${GUEST_IP%%/*}
  SERVE=${SERVE:-$(l2k_arg l2k.serve)}
}

now() { local u _; read -r u _ < /proc/uptime; printf '%s' "$u"; }
since() { awk -v a="$1" '{printf "%.1f", $1-a}' /proc/uptime; }

# in_net ADDR NET/PREFIX: true if the IPv4 ADDR is inside NET/PREFIX
in_net() {
  local a=$1 net=${2%/*} len=${2#*/} x y
  ip2int() { local IFS=.; set -- $1; echo $(( ($1<<24) + ($2<<16) + ($3<<8) + $4 )); }
  x=$(ip2int "$a") || return 1; y=$(ip2int "$net") || return 1
  [ "$len" -eq 0 ] && return 0
  [ $(( (x ^ y) >> (32 - len) )) -eq 0 ]
}

# wait_for SECONDS CMD...: poll CMD every 0.5 s until it succeeds
wait_for() {
  local n=$(( $1 * 2 )) i; shift
  for i in $(seq 1 $n); do "$@" && return 0; sleep 0.5; done
  return 1
}

# serve_wait SECONDS: print READY (the host waits for it), then stay until SECONDS
# passed or the host created OUTDIR/STOP (GuestHandle.requestStop()).
serve_wait() {
  local s=${1:-0} t0; t0=$(now)
  echo "READY: serving for ${s}s"
  sync
  while awk -v a="$t0" -v s="$s" '{exit !($1-a < s)}' /proc/uptime; do
    [ -e /mnt/out/STOP ] && { echo "=== STOP seen after $(since "$t0")s"; break; }
    sleep 1
  done
}

# result PASS|FAIL NAME [details...]: the one line the host parses
result() {
  local r=$1; shift
  echo "RESULT: $r $*"
  sync
}
