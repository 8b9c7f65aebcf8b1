#!/bin/bash
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
# System packages the tests need, installed when missing.
#
# The functional tests make and read real disk images (qcow2 and raw) with
# qemu-img and qemu-io, from the qemu-utils package. tox runs this before
# the tests ([testenv] commands_pre). It installs only as root on an
# apt-based system (Debian, Ubuntu); otherwise it says what to install and
# fails, so that the tests do not fail later for an unclear reason.

set -eu

missing=()
for tool in qemu-img qemu-io; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

echo "install-test-packages: ${missing[*]} not found; the tests need the" \
     "qemu-utils package." >&2
if [ "${EUID}" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "install-test-packages: installing qemu-utils with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends qemu-utils
    exit 0
fi

printf '%s\n' \
    "install-test-packages: cannot install it from here (not root, or no" \
    "apt-get). Install it, then run tox again:" \
    "" \
    "    Debian/Ubuntu:  sudo apt-get install --no-install-recommends qemu-utils" \
    "    Fedora/RHEL:    sudo dnf install qemu-img" >&2
exit 1
