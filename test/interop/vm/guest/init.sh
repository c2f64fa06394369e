#!/bin/bash
# Guest init, run by /sbin/l2k-boot (the image's init=) from the 9p share.
# Kernel command line (built by test/interop/vm/guest.ts):
#   l2k.run=NAME          run /mnt/guest/NAME.sh, output to the console and
#                         /mnt/out/NAME.log, then power off (no l2k.run: root shell)
#   l2k.tmo=S             bound for the test (default 300 s)
#   l2k.ip=A.B.C.D/N      eth0 address (no l2k.ip: eth0 is left down)
#   l2k.gw=A.B.C.D        optional default route via eth0
#   l2k.env.NAME=VALUE    exported to the test
#   l2k.keep=1            do not power off after the test (debugging)
# No systemd, no udev, few forks (each costs under TCG): the guest reaches the test
# a few seconds after the kernel.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
mkdir -p /dev/pts /dev/shm /run /tmp /var/run
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mount -t 9p -o trans=virtio,version=9p2000.L out /mnt/out || echo "l2k-init: no /mnt/out share"
echo l2kit-vm > /proc/sys/kernel/hostname
. /mnt/guest/lib.sh
echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6
ip link set lo up
echo "l2k-init: up at $(now)s, kernel $(< /proc/sys/kernel/osrelease)"
l2k_params
RUN=$(l2k_arg l2k.run); TMO=$(l2k_arg l2k.tmo); TMO=${TMO:-300}
IPA=$(l2k_arg l2k.ip); GW=$(l2k_arg l2k.gw); KEEP=$(l2k_arg l2k.keep)
[ -c /dev/ppp ] || modprobe ppp_generic   # (normally loaded by the initramfs already)
if [ -n "$IPA" ]; then
  [ -d /sys/class/net/eth0 ] || modprobe virtio_net
  wait_for 30 test -d /sys/class/net/eth0
  if ip addr add "$IPA" dev eth0 && ip link set eth0 up; then
    [ -n "$GW" ] && ip route add default via "$GW"
    echo "l2k-init: eth0 $IPA up at $(now)s"
  else
    echo "l2k-init: eth0 FAILED"
  fi
fi
poweroff_now() { sync; echo o > /proc/sysrq-trigger; sleep 10; }
if [ -n "$RUN" ]; then
  if [ -f "/mnt/guest/$RUN.sh" ]; then
    echo "l2k-init: running $RUN (bound ${TMO}s) at $(now)s"
    timeout -k 5 "$TMO" bash "/mnt/guest/$RUN.sh" 2>&1 | tee "/mnt/out/$RUN.log"
    rc=${PIPESTATUS[0]}
    [ "$rc" = 124 ] && echo "RESULT: FAIL $RUN guest-timeout-${TMO}s" | tee -a "/mnt/out/$RUN.log"
    echo "l2k-init: $RUN exit $rc at $(now)s" | tee -a "/mnt/out/$RUN.log"
  else
    echo "RESULT: FAIL $RUN no-such-guest-script" | tee "/mnt/out/$RUN.log"
  fi
  [ "$KEEP" = 1 ] || poweroff_now
fi
echo "l2k-init: root shell (exit to power off)"
setsid -c /bin/bash -l < /dev/ttyS0 > /dev/ttyS0 2>&1
poweroff_now
