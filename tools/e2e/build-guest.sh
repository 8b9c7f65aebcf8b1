#!/usr/bin/env bash
#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.
# Build the e2e marker guest from Debian packages: Debian's kernel, a
# busybox-static initramfs, SYSLINUX on a small FAT filesystem. Produces
# $OUT/main.qcow2 and $OUT/rescue.qcow2 (same kernel/initrd, different
# e2e_role= on the kernel command line, so the two images differ).
set -euo pipefail
OUT=${1:?usage: build-guest.sh OUTDIR}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
[ -s "$OUT/main.qcow2" ] && [ -s "$OUT/rescue.qcow2" ] && { echo "e2e: guest images cached in $OUT"; exit 0; }
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
cd "$W"
KPKG=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/{print $2; exit}')
apt-get download "$KPKG" >/dev/null 2>&1
dpkg-deb -x ./*.deb k
KVER=${KPKG#linux-image-}
mkdir -p r/bin r/proc r/sys r/dev r/lib/modules
cp /bin/busybox r/bin/busybox
ln -s busybox r/bin/sh
cp "$HERE/guest/init" r/init; chmod +x r/init
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci \
         virtio_blk scsi_common scsi_mod libata ata_piix libahci ahci cdrom sr_mod isofs; do
  f=$(find k/lib/modules/$KVER -name "$m.ko*" | head -1)
  [ -n "$f" ] || continue
  case $f in *.xz) xz -dc "$f" > r/lib/modules/$m.ko;; *.zst) zstd -dqc "$f" > r/lib/modules/$m.ko;; *) cp "$f" r/lib/modules/$m.ko;; esac
done
(cd r && find . | cpio -o -H newc 2>/dev/null | gzip -9) > initrd.gz
cp k/boot/vmlinuz-$KVER vmlinuz
for role in main rescue; do
  rm -f fat.img
  mkfs.vfat -C -n E2E fat.img 20480 >/dev/null
  printf 'DEFAULT e2e\nPROMPT 0\nTIMEOUT 0\nLABEL e2e\n  KERNEL vmlinuz\n  INITRD initrd.gz\n  APPEND console=ttyS0 loglevel=3 edd=off panic=5 e2e_role=%s\n' "$role" > syslinux.cfg
  mcopy -i fat.img vmlinuz initrd.gz syslinux.cfg ::/
  syslinux --install fat.img
  # Disk = the FAT fs (SYSLINUX boot sector, no partition table), then
  # free space: the last MiB stays outside any filesystem for the markers.
  cp fat.img disk.raw
  truncate -s 24M disk.raw
  qemu-img convert -c -O qcow2 disk.raw "$OUT/$role.qcow2"
  rm -f disk.raw
done
echo "e2e: built guest images in $OUT ($(du -sh "$OUT" | cut -f1))"
