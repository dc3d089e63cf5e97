#!/usr/bin/env bash
# Makes a small base root filesystem tarball from Debian's busybox-static:
# /bin/busybox with a symlink per applet, /etc/passwd and /etc/group, and the usual
# empty directories. The tar is reproducible (fixed mtimes, numeric root owner), so tests
# that import it twice get the same layer.
#   usage: scripts/make-busybox-rootfs.sh OUT.tar
set -euo pipefail
out=${1:?usage: $0 OUT.tar}
if [ ! -x /bin/busybox ] || ! /bin/busybox --list >/dev/null 2>&1 || ! ldd /bin/busybox 2>&1 | grep -q 'not a dynamic'; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq busybox-static >/dev/null
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
mkdir -p "$root"/{bin,dev,etc,proc,sys,tmp,root,home,var/log,usr/bin,usr/sbin,sbin}
chmod 1777 "$root/tmp"
chmod 700 "$root/root"
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list-full); do
  [ "$applet" = bin/busybox ] && continue
  mkdir -p "$root/$(dirname "$applet")"
  target=$(realpath --relative-to="$root/$(dirname "$applet")" "$root/bin/busybox")
  ln -sf "$target" "$root/$applet"
done
cat > "$root/etc/passwd" <<'PW'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
PW
cat > "$root/etc/group" <<'GR'
root:x:0:
daemon:x:1:
nogroup:x:65534:
GR
echo "strata busybox fixture" > "$root/etc/motd"
tar --sort=name --mtime='2024-01-01 00:00:00Z' --owner=0 --group=0 --numeric-owner \
    -C "$root" -cf "$out" .
