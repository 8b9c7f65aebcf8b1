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
# Install the Debian packages the real-hypervisor test bed needs (idempotent).
# Exit code 3: the virtualization packages cannot be installed here.
set -euo pipefail
PKGS=(qemu-system-x86 qemu-utils libvirt-daemon libvirt-daemon-system
      libvirt-clients libvirt-dev pkg-config rabbitmq-server mariadb-server
      bindfs fuse3 busybox-static cpio syslinux syslinux-common mtools
      dosfstools iproute2 util-linux procps curl gcc python3-dev
      openssh-server openssh-client genisoimage rsync tar)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "e2e: all Debian packages present"; exit 0
fi
echo "e2e: installing Debian packages: ${missing[*]}"
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "e2e: cannot install Debian packages (not root or no apt-get)" >&2; exit 3
fi
export DEBIAN_FRONTEND=noninteractive
# No init system: keep postinst scripts from starting services.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq || { echo "e2e: apt-get update failed" >&2; exit 3; }
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/e2e-apt.log 2>&1 || {
  tail -20 /tmp/e2e-apt.log >&2; echo "e2e: apt-get install failed" >&2; exit 3; }
echo "e2e: Debian packages installed"
