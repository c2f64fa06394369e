#!/bin/bash
# Usage: test/interop/vm/build-image.sh [--force] [--check]
#
# Builds the Debian 12 (bookworm) guest used by the real-kernel interop tests
# (kernel L2TP/PPP/ESP, xl2tpd + pppd, strongSwan, ip l2tp) into a cache
# OUTSIDE the repository:
#
#   $L2TPKIT_VM_CACHE (default /var/cache/l2tpkit/vm)
#     vmlinux  vmlinuz  initrd.img  rootfs.img   the guest (vmlinux = uncompressed ELF,
#                                      booted via PVH; rootfs.img is used snapshot=on)
#     stamp                             sha256 of this script when they were built
#     rootfs/  debs/                    debootstrap tree and .deb cache (reused on rebuild)
#
# Nothing is rebuilt while `stamp` matches this script (edit the script => rebuild).
# --check  exit 0 if the image is current, 1 if it needs a build (builds nothing)
# --force  rebuild everything, including the debootstrap tree
#
# Steps: host deps (debootstrap qemu-system-x86 qemu-utils e2fsprogs, apt-get waits
# for the dpkg lock); debootstrap --variant=minbase with the packages below; a tiny
# /sbin/l2k-boot init (mounts the 9p share "l2kguest" and runs its init.sh, see
# guest/init.sh); a small initramfs (MODULES=list: only what mounts the virtio root);
# rootfs.img via `mke2fs -d` (no loop mount). CPU-heavy steps run under nice/ionice.
# Bounded: the whole build is killed after L2TPKIT_VM_BUILD_TIMEOUT s (default 1800).
# A lock (flock on $CACHE/.lock) serialises concurrent builds.
set -euo pipefail
SELF=$(readlink -f "$0")
CACHE=${L2TPKIT_VM_CACHE:-/var/cache/l2tpkit/vm}
MIRROR=${L2TPKIT_VM_MIRROR:-http://deb.debian.org/debian}
TMO=${L2TPKIT_VM_BUILD_TIMEOUT:-1800}
HASH=$(sha256sum "$SELF" | cut -c1-64)
# Guest packages. linux-image-amd64: l2tp_ppp l2tp_eth l2tp_ip esp4 ppp_generic;
# libstrongswan-standard-plugins: openssl plugin (3DES, GCM, ECP); pppoe: PPPoE peers.
PKGS=linux-image-amd64,initramfs-tools,kmod,iproute2,iputils-ping,procps,netbase,xl2tpd,ppp,pppoe,strongswan,strongswan-starter,strongswan-charon,libstrongswan-standard-plugins,libcharon-extra-plugins,tcpdump,iptables
# Modules the tests need (checked present in the rootfs; loaded by the guest itself).
NEED_MODS="l2tp_core l2tp_ppp l2tp_eth l2tp_ip l2tp_netlink pppox ppp_generic esp4 xfrm_user 9p 9pnet_virtio virtio_net"
# Modules in the initramfs: what mounts the virtio root disk, the 9p share, the NIC and
# the L2TP/PPP/ESP modules most tests need (modules loaded there stay loaded after
# switch_root, so the guest scripts' modprobes are no-ops).
INITRD_MODS="virtio_pci virtio_blk ext4 crc32c_generic 9pnet_virtio 9p virtio_net ppp_generic l2tp_ppp esp4 xfrm_user"

current() { [ -f "$CACHE/stamp" ] && [ "$(cat "$CACHE/stamp")" = "$HASH" ] &&
  [ -s "$CACHE/vmlinuz" ] && [ -s "$CACHE/initrd.img" ] && [ -s "$CACHE/rootfs.img" ]; }

case "${1:-}" in
  --check) current && { echo "image current: $CACHE"; exit 0; }; echo "image missing or stale: $CACHE"; exit 1 ;;
  --force) FORCE=1 ;;
  '') FORCE=0 ;;
  *) sed -n '2,25p' "$SELF"; exit 2 ;;
esac
[ "$(id -u)" = 0 ] || { echo "build-image.sh: must run as root (debootstrap, chroot)"; exit 1; }

# Re-exec under a time bound (once), at low CPU/IO priority.
if [ -z "${L2TPKIT_VM_BUILD_INNER:-}" ]; then
  export L2TPKIT_VM_BUILD_INNER=1
  exec timeout --kill-after=10 "$TMO" nice -n 15 ionice -c 2 -n 7 "$SELF" "$@"
fi

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock -w "$TMO" 9 || { echo "build-image.sh: lock timeout"; exit 1; }
if [ "$FORCE" = 0 ] && current; then echo "image current: $CACHE"; exit 0; fi
T0=$(date +%s)
log() { echo "build-image: [$(( $(date +%s) - T0 ))s] $*"; }

# --- host dependencies ------------------------------------------------------
missing=()
for pair in xz:xz-utils debootstrap:debootstrap qemu-system-x86_64:qemu-system-x86 qemu-img:qemu-utils mke2fs:e2fsprogs; do
  command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing host packages: ${missing[*]} (waiting for the dpkg lock if needed)"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends "${missing[@]}"
fi

# --- debootstrap tree (kept and reused unless the package list changed) ------
ROOT=$CACHE/rootfs
[ "$FORCE" = 1 ] && rm -rf "$ROOT"
if [ "$(cat "$ROOT/.l2k-pkgs" 2>/dev/null)" != "$PKGS" ]; then
  rm -rf "$ROOT"; mkdir -p "$CACHE/debs"
  log "debootstrap bookworm (minbase + ${PKGS//,/ })"
  debootstrap --variant=minbase --cache-dir="$CACHE/debs" --include="$PKGS" bookworm "$ROOT" "$MIRROR" \
    > "$CACHE/debootstrap.log" 2>&1 || { tail -30 "$CACHE/debootstrap.log"; exit 1; }
  echo "$PKGS" > "$ROOT/.l2k-pkgs"
  log "debootstrap done"
fi

# --- guest customisation (idempotent) ---------------------------------------
echo l2kit-vm > "$ROOT/etc/hostname"
printf '/dev/vda / ext4 rw,relatime 0 1\n' > "$ROOT/etc/fstab"
chroot "$ROOT" passwd -d root >/dev/null   # console login only; the guest has no outside network
rm -rf "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/man/* "$ROOT"/usr/share/locale/* "$ROOT"/var/cache/apt/*.bin
KVER=$(ls "$ROOT/lib/modules" | sort -V | tail -1)
for m in $NEED_MODS; do
  find "$ROOT/lib/modules/$KVER" -name "$m.ko*" | grep -q . || { echo "build-image.sh: module $m missing in $KVER"; exit 1; }
done
# Boot stub: everything else (init.sh, tests) comes over 9p, so editing the guest
# scripts never needs an image rebuild.
cat > "$ROOT/sbin/l2k-boot" <<'BOOT'
#!/bin/sh
# /sbin/l2k-boot: init= of the l2tpkit test guest (written by build-image.sh).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
# (the initramfs moved /proc, /sys and /dev here and loaded the 9p modules; builtin
# tests only, every exec is slow under TCG)
[ -e /proc/self ] || mount -t proc proc /proc
[ -e /sys/kernel ] || mount -t sysfs sys /sys
[ -e /dev/null ] || mount -t devtmpfs dev /dev
[ -d /sys/module/9p ] || { modprobe 9pnet_virtio; modprobe 9p; }
if mount -t 9p -o trans=virtio,version=9p2000.L,ro l2kguest /mnt/guest && [ -f /mnt/guest/init.sh ]; then
  exec /bin/bash /mnt/guest/init.sh
fi
echo "l2k-boot: cannot mount the 9p share l2kguest; RESULT: FAIL boot no-9p-share"
echo o > /proc/sysrq-trigger; sleep 10
BOOT
chmod 0755 "$ROOT/sbin/l2k-boot"
mkdir -p "$ROOT/mnt/guest" "$ROOT/mnt/out"

# --- small initramfs ----------------------------------------------------------
printf 'MODULES=list\nCOMPRESS=gzip\n' > "$ROOT/etc/initramfs-tools/conf.d/l2kit"
printf '%s\n' $INITRD_MODS > "$ROOT/etc/initramfs-tools/modules"
# No udev in the initramfs: devtmpfs provides /dev/vda once load_modules has bound the
# drivers; starting udevd + "udevadm settle" cost ~5 s per boot under TCG.
rm -f "$ROOT"/usr/share/initramfs-tools/hooks/udev "$ROOT"/usr/share/initramfs-tools/scripts/init-top/udev \
  "$ROOT"/usr/share/initramfs-tools/scripts/init-bottom/udev
# ... but keep what udev's init-bottom did: move the devtmpfs /dev into the new root.
mkdir -p "$ROOT/etc/initramfs-tools/scripts/init-bottom"
printf '#!/bin/sh\n[ "$1" = prereqs ] && exit 0\nmount -n -o move /dev "${rootmnt}/dev"\n' \
  > "$ROOT/etc/initramfs-tools/scripts/init-bottom/l2k-dev"
chmod 0755 "$ROOT/etc/initramfs-tools/scripts/init-bottom/l2k-dev"
if [ "$(cat "$ROOT/.l2k-initrd" 2>/dev/null)" != "$HASH" ] || [ ! -s "$ROOT/boot/initrd.img-$KVER" ]; then
  log "update-initramfs (MODULES=list: $INITRD_MODS)"
  chroot "$ROOT" update-initramfs -u -k "$KVER" >/dev/null
  echo "$HASH" > "$ROOT/.l2k-initrd"
fi

# --- outputs (written to temporary names, then renamed) -----------------------
rm -f "$CACHE/stamp"
cp -f "$ROOT/boot/vmlinuz-$KVER" "$CACHE/vmlinuz.tmp"
cp -f "$ROOT/boot/initrd.img-$KVER" "$CACHE/initrd.img.tmp"
SIZE_MB=$(( $(du -sm "$ROOT" | cut -f1) + 256 ))
log "mke2fs -d ($SIZE_MB MiB)"
rm -f "$CACHE/rootfs.img.tmp"
mke2fs -q -t ext4 -L l2kit -E root_owner=0:0 -d "$ROOT" "$CACHE/rootfs.img.tmp" "${SIZE_MB}M"
# Uncompressed ELF kernel: qemu boots it through PVH, which skips the BIOS and the
# in-guest xz decompression (10-20 s under TCG). guest.ts falls back to vmlinuz.
rm -f "$CACHE/vmlinux"
off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$CACHE/vmlinuz.tmp" | head -1 | cut -d: -f1)
if [ -n "$off" ] && xz -dc --single-stream < <(tail -c +$((off + 1)) "$CACHE/vmlinuz.tmp") > "$CACHE/vmlinux.tmp" &&
   [ "$(head -c 4 "$CACHE/vmlinux.tmp" | od -An -tx1 | tr -d ' ')" = 7f454c46 ]; then
  mv -f "$CACHE/vmlinux.tmp" "$CACHE/vmlinux"
else
  rm -f "$CACHE/vmlinux.tmp"; log "no uncompressed kernel (booting vmlinuz through the BIOS)"
fi
mv -f "$CACHE/vmlinuz.tmp" "$CACHE/vmlinuz"
mv -f "$CACHE/initrd.img.tmp" "$CACHE/initrd.img"
mv -f "$CACHE/rootfs.img.tmp" "$CACHE/rootfs.img"
echo "$HASH" > "$CACHE/stamp"
log "done: kernel $KVER, rootfs $SIZE_MB MiB, initrd $(du -k "$CACHE/initrd.img" | cut -f1) KiB in $CACHE"
