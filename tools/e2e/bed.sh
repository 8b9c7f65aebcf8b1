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
# Real libvirt/QEMU test bed for nova-rescue-lm on one Debian 12 machine.
#
#   bed.sh up   shared|block    bring everything up (state under $E2E_STATE)
#   bed.sh down                 stop everything this bed started, by PID
#
# Three hypervisor hosts e2e-h1 / e2e-h2 / e2e-h3: each a network namespace
# (veth pairs on one bridge join them), a UTS namespace (own hostname = nova node name) and a
# mount namespace in which per-host directories are bound over /etc/libvirt,
# /run/libvirt, /var/lib/libvirt, /var/log/libvirt, /var/cache/libvirt and
# nova's instances directory, so the same path is a different directory on
# each host (truly separate instance storage). "shared" binds one bindfs
# FUSE mount (subtype=glusterfs: a STAND-IN for NFS that libvirt accepts as
# a cluster filesystem) over the instances directory on both hosts instead.
#
# Controller services (all on 127.0.0.1 of the root network namespace):
# MariaDB, RabbitMQ, placement and nova-api under uWSGI, nova-conductor,
# nova-scheduler, and two STAND-INS: glance (image show/download/schema) and
# neutron (empty lists), see tests/e2e/standins/. nova-api uses the
# package's installed api-paste.ini with ONE change: its authtoken filter is
# the stand-in tests/e2e/standins/auth.py (fixed tokens, not keystone).
# nova-compute on e2e-h1 and e2e-h2 runs the package's driver
# (compute_driver=rescue_lm.libvirt.LibvirtDriver); e2e-h3 runs nova's stock
# libvirt.LibvirtDriver, as a compute not yet upgraded would. Each runs in
# its host's mount namespace.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
VENV=${E2E_VENV:-${VIRTUAL_ENV:-$REPO/.tox/e2e}}
ROOT=${E2E_ROOT:-/var/tmp/nova-rescue-lm-e2e}
S=${E2E_STATE:-$ROOT/run}
CACHE=$ROOT/cache
PIDS=$S/pids
SHARED_MNT=/srv/nova-rescue-lm-e2e-shared
INST=/var/lib/nova/instances

# E2E_AUTH=keystone (default): real keystone, the package's api-paste.ini
# unchanged. E2E_AUTH=standin: the cheap stand-in authtoken filter.
AUTH=${E2E_AUTH:-keystone}
KS_PORT=35357 KS_PASSWORD=e2e-secret
DB_PORT=33306 AMQP_PORT=35672 DIST_PORT=35673 EPMD_PORT=34369
PLACEMENT_PORT=38778 API_PORT=38774 GLANCE_PORT=39292 NEUTRON_PORT=39696
H1_ADDR=10.250.0.1 H2_ADDR=10.250.0.2 H3_ADDR=10.250.0.3 BR_ADDR=10.250.0.254
HOSTS="h1 h2 h3"
STOCK_HOST=h3
host_addr() { case $1 in h1) echo $H1_ADDR ;; h2) echo $H2_ADDR ;; h3) echo $H3_ADDR ;; esac; }
host_driver() {
  if [ "$1" = "$STOCK_HOST" ]; then echo libvirt.LibvirtDriver
  else echo rescue_lm.libvirt.LibvirtDriver; fi
}
DBURL="mysql+pymysql://e2e:e2e@127.0.0.1:$DB_PORT"

log() { printf '%s bed: %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { log "ERROR: $*"; exit 1; }
now() { date +%s.%N; }

# run NAME CMD... : start CMD in the background, record its PID.
run() {
  local name=$1; shift
  "$@" >>"$S/log/$name.log" 2>&1 &
  echo $! >"$PIDS/$name"
}

wait_for() {  # wait_for SECONDS DESCRIPTION CMD...
  local t=$1 what=$2; shift 2
  local end=$(( $(date +%s) + t ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$end" ] || die "timed out after ${t}s waiting for $what"
    sleep 0.3
  done
}

http_ok() { curl -s -o /dev/null -m 3 "$1"; }

# ---------------------------------------------------------------- configs
keystone_auth_opts() {  # the admin user's password credentials
  cat <<EOF
auth_type = password
auth_url = http://127.0.0.1:$KS_PORT/v3
username = admin
password = $KS_PASSWORD
project_name = admin
user_domain_name = Default
project_domain_name = Default
EOF
}

# How nova's services authenticate to placement: keystone tokens with real
# keystone, placement's noauth2 admin token with the stand-in auth.
placement_client_auth() {
  if [ "$AUTH" = keystone ]; then keystone_auth_opts
  else printf 'auth_type = admin_token\ntoken = admin\nendpoint = http://127.0.0.1:%s\n' "$PLACEMENT_PORT"; fi
}

write_nova_conf() {  # write_nova_conf FILE HOST [compute MY_IP DRIVER]
  local f=$1 host=$2 role=${3:-} ip=${4:-127.0.0.1} driver=${5:-}
  mkdir -p "$S/state/$host" "$S/locks/$host"
  cat >"$f" <<EOF
[DEFAULT]
host = $host
my_ip = $ip
state_path = $S/state/$host
instances_path = $INST
transport_url = rabbit://guest:guest@127.0.0.1:$AMQP_PORT/
debug = True
use_stderr = False
shutdown_timeout = 0
heal_instance_info_cache_interval = -1
instance_usage_audit = False
resume_guests_state_on_host_boot = True
$( [ "$role" = compute ] && echo "compute_driver = $driver" )
[api]
auth_strategy = keystone
$( [ "$role" = compute ] || printf '[database]\nconnection = %s\n[api_database]\nconnection = %s\n' "$DBURL/nova?charset=utf8" "$DBURL/nova_api?charset=utf8" )
[oslo_concurrency]
lock_path = $S/locks/$host
[oslo_messaging_notifications]
driver = noop
[placement]
$(placement_client_auth)
endpoint_override = http://127.0.0.1:$PLACEMENT_PORT
region_name = RegionOne
[glance]
endpoint_override = http://127.0.0.1:$GLANCE_PORT
num_retries = 1
[neutron]
auth_type = admin_token
token = e2e-admin
endpoint = http://127.0.0.1:$NEUTRON_PORT
endpoint_override = http://127.0.0.1:$NEUTRON_PORT
[cinder]
os_region_name = RegionOne
[vnc]
enabled = False
[spice]
enabled = False
[serial_console]
enabled = False
[scheduler]
discover_hosts_in_cells_interval = -1
[libvirt]
virt_type = qemu
cpu_mode = custom
cpu_models = qemu64
connection_uri = qemu:///system
live_migration_scheme = tcp
live_migration_inbound_addr = $ip
live_migration_completion_timeout = 120
live_migration_timeout_action = abort
[compute]
live_migration_wait_for_vif_plug = False
[os_vif_ovs]
[workarounds]
EOF
}

# ---------------------------------------------------------------- up
up() {
  local mode=${1:-block}
  [ "$mode" = shared ] || [ "$mode" = block ] || die "mode must be shared or block"
  [ ! -d "$PIDS" ] || [ -z "$(ls -A "$PIDS" 2>/dev/null)" ] || die "a bed seems to be up ($PIDS not empty): run bed.sh down"
  local t0; t0=$(now)
  rm -rf "$S"; mkdir -p "$S"/{log,pids,etc/nova,etc/placement,bin,images}
  echo "$mode" >"$S/mode"
  export PATH="$S/bin:$VENV/bin:$PATH"
  # No sudo on the machine: oslo.privsep runs "sudo privsep-helper".
  # nova asks for "sudo nova-rootwrap /etc/nova/rootwrap.conf privsep-helper
  # ...": we are root already, so the shim runs privsep-helper directly.
  cat >"$S/bin/sudo" <<'SUDO'
#!/bin/sh
# e2e pass-through sudo (we run as root); skips nova-rootwrap's wrapper.
[ "$1" = nova-rootwrap ] && shift 2
exec "$@"
SUDO
  chmod +x "$S/bin/sudo"

  # -- guest images (cached between runs)
  "$HERE/build-guest.sh" "$CACHE/guest"
  "$VENV/bin/python" - "$CACHE/guest" "$S/images/images.json" <<'EOF'
import hashlib, json, os, sys
src, out = sys.argv[1], sys.argv[2]
ids = {'main': '6e2e0000-0000-4000-8000-00000000000a',
       'rescue': '6e2e0000-0000-4000-8000-00000000000b'}
imgs = {}
for role, iid in ids.items():
    p = os.path.join(src, role + '.qcow2')
    data = open(p, 'rb').read()
    imgs[iid] = {
        'id': iid, 'name': 'e2e-' + role, 'status': 'active',
        'visibility': 'public', 'protected': False, 'os_hidden': False,
        'checksum': hashlib.md5(data).hexdigest(),
        'os_hash_algo': 'sha512',
        'os_hash_value': hashlib.sha512(data).hexdigest(),
        'owner': '6e2e0000000000000000000000000001', 'size': len(data),
        'virtual_size': None, 'min_ram': 0, 'min_disk': 0,
        'created_at': '2026-01-01T00:00:00Z',
        'updated_at': '2026-01-01T00:00:00Z', 'tags': [],
        'disk_format': 'qcow2', 'container_format': 'bare',
        'os_shutdown_timeout': '0', 'e2e_role': role, 'path': p}
json.dump(imgs, open(out, 'w'), indent=1)
EOF

  # -- MariaDB
  log "MariaDB"
  mkdir -p "$S/mysql"
  mariadb-install-db --no-defaults --datadir="$S/mysql/data" --user=root \
    --auth-root-authentication-method=socket >"$S/log/mariadb-install.log" 2>&1
  run mariadb mariadbd --no-defaults --datadir="$S/mysql/data" --user=root \
    --bind-address=127.0.0.1 --port=$DB_PORT --socket="$S/mysql/sock" \
    --pid-file="$S/mysql/pid" --skip-log-bin --innodb-buffer-pool-size=64M \
    --max-connections=500 --innodb-flush-log-at-trx-commit=2
  # -- RabbitMQ (own node name, loopback only)
  log "RabbitMQ"
  mkdir -p "$S/rabbit/home"
  echo "[]." >"$S/rabbit/enabled_plugins"
  HOME=$S/rabbit/home RABBITMQ_NODENAME=e2e-rlm@localhost \
    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=$AMQP_PORT \
    RABBITMQ_DIST_PORT=$DIST_PORT ERL_EPMD_PORT=$EPMD_PORT ERL_EPMD_ADDRESS=127.0.0.1 \
    RABBITMQ_MNESIA_BASE=$S/rabbit/mnesia RABBITMQ_LOG_BASE=$S/rabbit/log \
    RABBITMQ_ENABLED_PLUGINS_FILE=$S/rabbit/enabled_plugins \
    RABBITMQ_CONFIG_FILE=$S/rabbit/none RABBITMQ_PID_FILE=$S/rabbit/pid \
    run rabbitmq /usr/lib/rabbitmq/bin/rabbitmq-server
  # -- stand-ins (glance, neutron) under uWSGI
  log "glance and neutron stand-ins"
  E2E_GLANCE_IMAGES=$S/images/images.json run glance-standin \
    "$VENV/bin/uwsgi" --http-socket 127.0.0.1:$GLANCE_PORT -H "$VENV" \
    --pythonpath "$REPO/tests/e2e" --module standins.glance:application \
    --master --processes 1 --threads 4 --die-on-term --add-header Connection:close --env E2E_GLANCE_IMAGES=$S/images/images.json
  run neutron-standin \
    "$VENV/bin/uwsgi" --http-socket 127.0.0.1:$NEUTRON_PORT -H "$VENV" \
    --pythonpath "$REPO/tests/e2e" --module standins.neutron:application \
    --master --processes 1 --threads 2 --die-on-term --add-header Connection:close

  # -- hypervisor hosts (started now: they boot while the databases sync)
  log "hypervisor hosts ($mode instance storage)"
  [ "$mode" = shared ] && mount_shared
  # each host binds the bed's ssh client config over /root/.ssh
  if [ ! -d /root/.ssh ]; then
    mkdir -m 700 /root/.ssh; touch "$S/made-root-ssh"
  fi
  local h n=0
  for h in $HOSTS; do n=$((n + 1)); make_host $h "$(host_addr $h)" $n; done

  wait_for 30 MariaDB test -S "$S/mysql/sock"
  mariadb --no-defaults -S "$S/mysql/sock" -u root <<EOF
CREATE USER 'e2e'@'127.0.0.1' IDENTIFIED BY 'e2e';
CREATE USER 'e2e'@'localhost' IDENTIFIED BY 'e2e';
GRANT ALL ON *.* TO 'e2e'@'127.0.0.1';
GRANT ALL ON *.* TO 'e2e'@'localhost';
CREATE DATABASE nova_api; CREATE DATABASE nova; CREATE DATABASE nova_cell0;
CREATE DATABASE placement; CREATE DATABASE keystone;
EOF
  cat >"$S/etc/placement/placement.conf" <<EOF
[DEFAULT]
debug = True
[placement_database]
connection = $DBURL/placement?charset=utf8
EOF
  if [ "$AUTH" = keystone ]; then
    printf '[api]\nauth_strategy = keystone\n[keystone_authtoken]\nwww_authenticate_uri = http://127.0.0.1:%s\nregion_name = RegionOne\n%s\n' \
      "$KS_PORT" "$(keystone_auth_opts)" >>"$S/etc/placement/placement.conf"
  else
    printf '[api]\nauth_strategy = noauth2\n' >>"$S/etc/placement/placement.conf"
  fi
  local CTL=$S/etc/nova/nova.conf
  write_nova_conf "$CTL" e2e-ctl
  local paste
  paste=$(ls "$VENV"/share/nova-rescue-lm/api-paste.ini) || die "package api-paste.ini not installed"
  if [ "$AUTH" = keystone ]; then
    # the package's installed api-paste.ini, unchanged
    cp "$paste" "$S/etc/nova/api-paste.ini"
    cat >>"$CTL" <<EOF
[keystone_authtoken]
www_authenticate_uri = http://127.0.0.1:$KS_PORT
region_name = RegionOne
$(keystone_auth_opts)
EOF
    keystone_up &
    KS_JOB=$!
  else
    # STAND-IN: the package's api-paste.ini with its authtoken filter
    # swapped for tests/e2e/standins/auth.py
    sed '/^\[filter:authtoken\]/,/^$/ s#^paste.filter_factory = .*#paste.filter_factory = standins.auth:filter_factory#' \
      "$paste" >"$S/etc/nova/api-paste.ini"
    grep -q 'standins.auth:filter_factory' "$S/etc/nova/api-paste.ini" || die "could not swap authtoken filter"
  fi
  echo "$AUTH" >"$S/auth"

  log "database schemas"
  ( placement-manage --config-file $S/etc/placement/placement.conf db sync ) >"$S/log/placement-sync.log" 2>&1 &
  local psync=$!
  nova-manage --config-file "$CTL" api_db sync >"$S/log/nova-sync.log" 2>&1
  nova-manage --config-file "$CTL" cell_v2 map_cell0 \
    --database_connection "$DBURL/nova_cell0?charset=utf8" >>"$S/log/nova-sync.log" 2>&1
  nova-manage --config-file "$CTL" cell_v2 create_cell --name cell1 >>"$S/log/nova-sync.log" 2>&1
  nova-manage --config-file "$CTL" db sync >>"$S/log/nova-sync.log" 2>&1
  wait $psync || die "placement db sync failed (log/placement-sync.log)"
  if [ "$AUTH" = keystone ]; then
    wait $KS_JOB || die "keystone failed to come up (log/keystone*.log)"
  fi

  log "placement, nova-api, conductor, scheduler"
  # --chdir: uWSGI puts its working directory on sys.path; started from the
  # repository root, nova-api would import nova_rescue_lm from the checkout
  # instead of the installed package
  local UW=(--master --lazy-apps --enable-threads --die-on-term --chdir "$S"
            --add-header Connection:close --processes 1 --threads 4 -H "$VENV")
  OS_PLACEMENT_CONFIG_DIR=$S/etc/placement run placement \
    "$VENV/bin/uwsgi" --http-socket 127.0.0.1:$PLACEMENT_PORT "${UW[@]}" \
    --env OS_PLACEMENT_CONFIG_DIR=$S/etc/placement \
    --module placement.wsgi.api:application
  wait_for 30 "RabbitMQ" bash -c "exec 3<>/dev/tcp/127.0.0.1/$AMQP_PORT"
  run nova-api \
    "$VENV/bin/uwsgi" --http-socket 127.0.0.1:$API_PORT "${UW[@]}" \
    --env OS_NOVA_CONFIG_DIR=$S/etc/nova --pythonpath "$REPO/tests/e2e" \
    --module nova.wsgi.osapi_compute:application
  run nova-conductor nova-conductor --config-file "$CTL"
  run nova-scheduler nova-scheduler --config-file "$CTL"
  wait_for 60 placement http_ok http://127.0.0.1:$PLACEMENT_PORT/

  for h in $HOSTS; do
    write_nova_conf "$S/etc/nova/nova-$h.conf" e2e-$h compute "$(host_addr $h)" "$(host_driver $h)"
    wait_for 30 "libvirtd on $h" nsenter -t "$(cat "$PIDS/host-$h")" -m test -S /run/libvirt/libvirt-sock
    start_compute $h
  done
  wait_for 90 "nova-api" http_ok http://127.0.0.1:$API_PORT/
  log "waiting for the computes to register"
  wait_for 120 "three compute nodes" bash -c \
    "mariadb --no-defaults -S $S/mysql/sock -N -e 'select count(*) from nova.compute_nodes where deleted=0' | grep -qx 3"
  nova-manage --config-file "$CTL" cell_v2 discover_hosts >>"$S/log/nova-sync.log" 2>&1
  wait_for 60 "trait CUSTOM_COMPUTE_LIVE_MIGRATE_RESCUED on the two package providers" bash -c \
    "mariadb --no-defaults -S $S/mysql/sock -N -e \"select count(*) from placement.resource_provider_traits rpt join placement.traits t on t.id=rpt.trait_id where t.name='CUSTOM_COMPUTE_LIVE_MIGRATE_RESCUED'\" | grep -qx 2"
  log "bed up in $(awk "BEGIN{printf \"%.1f\", $(now) - $t0}")s ($mode instance storage)"
}

keystone_up() {  # real keystone under uWSGI, bootstrapped, with a catalog
  local K=$S/etc/keystone/keystone.conf
  mkdir -p "$S/etc/keystone" "$S/keystone/fernet-keys" "$S/keystone/credential-keys"
  cat >"$K" <<EOF
[DEFAULT]
debug = False
[database]
connection = $DBURL/keystone?charset=utf8
[token]
provider = fernet
[fernet_tokens]
key_repository = $S/keystone/fernet-keys
[fernet_receipts]
key_repository = $S/keystone/fernet-keys
[credential]
key_repository = $S/keystone/credential-keys
EOF
  {
    keystone-manage --config-file "$K" db_sync &&
    keystone-manage --config-file "$K" fernet_setup --keystone-user root --keystone-group root &&
    keystone-manage --config-file "$K" credential_setup --keystone-user root --keystone-group root &&
    keystone-manage --config-file "$K" bootstrap --bootstrap-password "$KS_PASSWORD" \
      --bootstrap-admin-url http://127.0.0.1:$KS_PORT/v3 \
      --bootstrap-public-url http://127.0.0.1:$KS_PORT/v3 \
      --bootstrap-internal-url http://127.0.0.1:$KS_PORT/v3 \
      --bootstrap-region-id RegionOne
  } >"$S/log/keystone-manage.log" 2>&1 || return 1
  run keystone "$VENV/bin/uwsgi" --http-socket 127.0.0.1:$KS_PORT --master \
    --lazy-apps --enable-threads --die-on-term --add-header Connection:close \
    --processes 1 --threads 4 -H "$VENV" --env OS_KEYSTONE_CONFIG_DIR=$S/etc/keystone \
    --module keystone.wsgi.api:application
  wait_for 60 keystone http_ok http://127.0.0.1:$KS_PORT/v3
  cat >"$S/openrc" <<EOF
export OS_AUTH_URL=http://127.0.0.1:$KS_PORT/v3 OS_IDENTITY_API_VERSION=3
export OS_USERNAME=admin OS_PASSWORD=$KS_PASSWORD OS_PROJECT_NAME=admin
export OS_USER_DOMAIN_NAME=Default OS_PROJECT_DOMAIN_NAME=Default OS_REGION_NAME=RegionOne
EOF
  # catalog: compute, placement and the two stand-ins
  "$VENV/bin/python" - "$KS_PORT" "$KS_PASSWORD" >>"$S/log/keystone-manage.log" 2>&1 <<EOF
import sys
from keystoneauth1 import session
from keystoneauth1.identity import v3
s = session.Session(auth=v3.Password(
    auth_url='http://127.0.0.1:%s/v3' % sys.argv[1], username='admin',
    password=sys.argv[2], project_name='admin', user_domain_name='Default',
    project_domain_name='Default'))
K = 'http://127.0.0.1:%s/v3' % sys.argv[1]
for name, typ, url in [
        ('nova', 'compute', 'http://127.0.0.1:$API_PORT/v2.1'),
        ('placement', 'placement', 'http://127.0.0.1:$PLACEMENT_PORT'),
        ('glance', 'image', 'http://127.0.0.1:$GLANCE_PORT'),
        ('neutron', 'network', 'http://127.0.0.1:$NEUTRON_PORT')]:
    sid = s.post(K + '/services', json={'service': {
        'name': name, 'type': typ,
        'description': 'e2e' + (' STAND-IN' if name in ('glance', 'neutron')
                                else '')}}).json()['service']['id']
    for iface in ('public', 'internal', 'admin'):
        s.post(K + '/endpoints', json={'endpoint': {
            'service_id': sid, 'interface': iface, 'url': url,
            'region_id': 'RegionOne'}})
print('catalog registered')
EOF
}

mount_shared() {
  mkdir -p "$S/shared-backing" "$SHARED_MNT"
  run bindfs bindfs -f -o subtype=glusterfs,allow_other "$S/shared-backing" "$SHARED_MNT"
  wait_for 10 "bindfs mount" bash -c "grep -q ' $SHARED_MNT ' /proc/mounts"
}

make_host() {  # make_host NAME ADDR N
  local h=$1 addr=$2 n=$3 d=$S/hosts/$1
  mkdir -p "$d"/{run,lib,log,cache,instances} "$INST" /run/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt
  cp -a /etc/libvirt "$d/etc"
  rm -rf "$d/etc/qemu/networks/autostart" "$d/etc/qemu/"*.xml
  cp -a /var/lib/libvirt/. "$d/lib/"
  cat >>"$d/etc/libvirtd.conf" <<EOF
listen_tls = 0
listen_tcp = 1
listen_addr = "$addr"
auth_tcp = "none"
auth_unix_rw = "none"
auth_unix_ro = "none"
host_uuid = "6e2e0000-0000-4000-8000-00000000000$n"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
EOF
  cat >>"$d/etc/qemu.conf" <<EOF
user = "root"
group = "root"
security_driver = "none"
stdio_handler = "logd"
migration_address = "$addr"
migration_host = "$addr"
migration_port_min = $((49152 + n * 100))
migration_port_max = $((49152 + n * 100 + 63))
cgroup_controllers = [ ]
namespaces = [ ]
remember_owner = 0
EOF
  # network: a bridge in the root namespace joins both hosts (and lets the
  # computes, which run in the root network namespace, reach the hosts'
  # sshd for nova's remotefs copies)
  if [ "$n" = 1 ]; then
    ip link add e2e-rlm-br type bridge
    ip addr add "$BR_ADDR/24" dev e2e-rlm-br
    ip link set e2e-rlm-br up
  fi
  ip netns add e2e-rlm-$h
  ip link add e2e-rlm-b$n type veth peer name e2e-rlm-v$n netns e2e-rlm-$h
  ip link set e2e-rlm-b$n master e2e-rlm-br
  ip link set e2e-rlm-b$n up
  ip -n e2e-rlm-$h link set lo up
  ip -n e2e-rlm-$h addr add "$addr/24" dev e2e-rlm-v$n
  ip -n e2e-rlm-$h link set e2e-rlm-v$n up
  # ssh: nova copies files between hosts with scp (remotefs). One sshd per
  # host in its namespaces; the computes get a bed-only client key and
  # config through a bind mount over /root/.ssh in the host's mount ns.
  if [ "$n" = 1 ]; then
    mkdir -p "$S/ssh/client"
    ssh-keygen -q -t ed25519 -N '' -f "$S/ssh/client/id_ed25519"
    cp "$S/ssh/client/id_ed25519.pub" "$S/ssh/authorized_keys"
    printf 'Host *\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  BatchMode yes\n  ConnectTimeout 5\n  LogLevel ERROR\n' >"$S/ssh/client/config"
    chmod 600 "$S/ssh/client/config"
  fi
  ssh-keygen -q -t ed25519 -N '' -f "$d/ssh_host_ed25519_key"
  cat >"$d/sshd_config" <<EOF
ListenAddress $addr
Port 22
HostKey $d/ssh_host_ed25519_key
PidFile /run/libvirt/sshd.pid
AuthorizedKeysFile $S/ssh/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
EOF
  printf '127.0.0.1 localhost\n%s e2e-h1\n%s e2e-h2\n%s e2e-h3\n' $H1_ADDR $H2_ADDR $H3_ADDR >"$d/hosts"
  local instsrc=$d/instances
  [ "$(cat "$S/mode")" = shared ] && instsrc=$SHARED_MNT
  cat >"$d/init.sh" <<EOF
#!/bin/bash
# host $h: runs in its own network, UTS and mount namespaces
set -e
hostname e2e-$h
mount --bind $d/etc /etc/libvirt
mount --bind $d/run /run/libvirt
mount --bind $d/lib /var/lib/libvirt
mount --bind $d/log /var/log/libvirt
mount --bind $d/cache /var/cache/libvirt
mount --bind $instsrc $INST
mount --bind $d/hosts /etc/hosts
mount --bind $S/ssh/client /root/.ssh
mkdir -p /run/sshd
virtlogd -p /run/libvirt/virtlogd.pid >>$S/log/virtlogd-$h.log 2>&1 &
echo \$! > $PIDS/virtlogd-$h
libvirtd -l -p /run/libvirt/libvirtd.pid >>$S/log/libvirtd-$h.log 2>&1 &
echo \$! > $PIDS/libvirtd-$h
/usr/sbin/sshd -D -e -f $d/sshd_config >>$S/log/sshd-$h.log 2>&1 &
echo \$! > $PIDS/sshd-$h
wait
EOF
  chmod +x "$d/init.sh"
  ip netns exec e2e-rlm-$h unshare --uts --mount --propagation private "$d/init.sh" \
    >>"$S/log/host-$h.log" 2>&1 &
  echo $! >"$PIDS/host-$h"
}

# ---------------------------------------------------------------- down
stop_pid() {  # stop_pid NAME PID [grace seconds]
  local name=$1 pid=$2 grace=${3:-10}
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  local i=0
  while kill -0 "$pid" 2>/dev/null && [ $i -lt $((grace * 10)) ]; do sleep 0.1; i=$((i + 1)); done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name ($pid) ignored SIGTERM for ${grace}s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
}

start_compute() {  # start_compute h1: nova-compute inside host h1
  run nova-compute-$1 nsenter -t "$(cat "$PIDS/host-$1")" -m \
    env PATH="$PATH" nova-compute --config-file "$S/etc/nova/nova-$1.conf"
}

stop_compute() {  # stop_compute h1: SIGKILL nova-compute of h1 (power loss)
  local f="$PIDS/nova-compute-$1" pid all i=0
  [ -f "$f" ] || die "no nova-compute-$1 running"
  pid=$(cat "$f")
  all=("$pid" $(descendants "$pid" 2>/dev/null || true))
  kill -KILL "${all[@]}" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  kill -0 "$pid" 2>/dev/null && die "nova-compute-$1 (pid $pid) survived SIGKILL"
  rm -f "$f"
}

descendants() {  # all descendant PIDs of $1
  local c
  for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
    echo "$c"; descendants "$c"
  done
}

down() {
  [ -d "$PIDS" ] || { log "nothing to tear down"; return 0; }
  log "tearing down"
  local name pid
  # nova services first (and their privsep helpers), then the controller:
  # SIGTERM to all at once (nova-compute and the scheduler may ignore it
  # for 10 s), then SIGKILL what is left, children included.
  local svc=(nova-compute-h1 nova-compute-h2 nova-compute-h3 nova-scheduler nova-conductor
             nova-api placement keystone glance-standin neutron-standin)
  local all=()
  for name in "${svc[@]}"; do
    [ -f "$PIDS/$name" ] || continue
    pid=$(cat "$PIDS/$name")
    all+=("$pid" $(descendants "$pid" 2>/dev/null || true))
  done
  [ ${#all[@]} -gt 0 ] && kill -TERM "${all[@]}" 2>/dev/null || true
  local i=0
  while [ $i -lt 100 ]; do
    local alive=0
    for pid in "${all[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1; i=$((i + 1))
  done
  for pid in "${all[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      log "PID $pid ($(tr '\0' ' ' </proc/$pid/cmdline 2>/dev/null | cut -c1-60)) ignored SIGTERM for 10s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  for name in "${svc[@]}"; do rm -f "$PIDS/$name"; done
  # guests: the QEMU processes libvirt recorded for each host
  for h in $HOSTS; do
    for pf in "$S/hosts/$h/run/qemu/"*.pid; do
      [ -f "$pf" ] || continue
      stop_pid "qemu-$h" "$(cat "$pf")" 5
    done
  done
  for h in $HOSTS; do
    for name in sshd-$h libvirtd-$h virtlogd-$h host-$h; do
      [ -f "$PIDS/$name" ] || continue
      stop_pid "$name" "$(cat "$PIDS/$name")" 5
      rm -f "$PIDS/$name"
    done
  done
  if [ -f "$PIDS/rabbitmq" ]; then
    pid=$(cat "$PIDS/rabbitmq")
    local kids; kids=$(descendants "$pid" 2>/dev/null || true)
    local rpid; rpid=$(cat "$S/rabbit/pid" 2>/dev/null || true)
    stop_pid rabbitmq "$pid" 15
    for k in $rpid $kids; do stop_pid rabbitmq-child "$k" 5; done
    rm -f "$PIDS/rabbitmq"
  fi
  # epmd daemonizes away from rabbit: find the one on our port, by PID
  for pid in $(pgrep -x epmd 2>/dev/null || true); do
    if tr '\0' '\n' </proc/"$pid"/environ 2>/dev/null | grep -qx "ERL_EPMD_PORT=$EPMD_PORT"; then
      stop_pid epmd "$pid" 5
    fi
  done
  [ -f "$PIDS/mariadb" ] && { stop_pid mariadb "$(cat "$PIDS/mariadb")" 20; rm -f "$PIDS/mariadb"; }
  if grep -q " $SHARED_MNT " /proc/mounts; then
    fusermount3 -u "$SHARED_MNT" 2>/dev/null || umount -l "$SHARED_MNT" || true
  fi
  [ -f "$PIDS/bindfs" ] && { stop_pid bindfs "$(cat "$PIDS/bindfs")" 5; rm -f "$PIDS/bindfs"; }
  for ns in e2e-rlm-h1 e2e-rlm-h2 e2e-rlm-h3; do
    ip netns del $ns 2>/dev/null || true
  done
  ip link del e2e-rlm-br 2>/dev/null || true
  # the empty mount point up() made, if it made one
  [ -f "$S/made-root-ssh" ] && rmdir /root/.ssh 2>/dev/null && rm -f "$S/made-root-ssh"
  for name in "$PIDS"/*; do
    [ -f "$name" ] || continue
    stop_pid "$(basename "$name")" "$(cat "$name")" 5; rm -f "$name"
  done
  log "torn down"
}

# Anything of ours still running? (checked by run.sh after down)
leftovers() {
  ps -eo pid=,args= | grep -E "$S|$ROOT|e2e-rlm|$SHARED_MNT|sshd -D -e -f|qemu-system|libvirtd|virtlogd|mariadbd|beam.smp|epmd -daemon|uwsgi|nova-(compute|conductor|scheduler)|privsep-helper" \
    | grep -v -E "grep -E|bed.sh" || true
}

# Resident memory of everything the bed runs (MiB)
footprint() {
  local pids="" f
  for f in "$PIDS"/*; do
    [ -f "$f" ] || continue
    pids="$pids $(cat "$f") $(descendants "$(cat "$f")" 2>/dev/null | tr '\n' ' ')"
  done
  for f in "$S"/hosts/*/run/qemu/*.pid; do [ -f "$f" ] && pids="$pids $(cat "$f")"; done
  local pe; pe=$(pgrep -x epmd || true)
  ps -o rss= -p "$(echo $pids $pe | tr ' ' ',')" 2>/dev/null |
    awk '{s+=$1} END {printf "bed: footprint %.0f MiB RSS (%d processes)\n", s/1024, NR}'
}

case ${1:-} in
  footprint) footprint ;;
  up) up "${2:-block}" ;;
  down) down ;;
  leftovers) leftovers ;;
  # Scenarios that restart a host's nova-compute (the bed is up).
  stop-compute) stop_compute "${2:?host: h1, h2 or h3}" ;;
  start-compute)
    export PATH="$S/bin:$VENV/bin:$PATH"
    start_compute "${2:?host: h1, h2 or h3}" ;;
  # Faults injected during a live migration (tests/e2e/scenarios.py).
  kill-libvirtd)   # kill-libvirtd H: SIGKILL the host's libvirtd
    kill -KILL "$(cat "$PIDS/libvirtd-${2:?host}")"; rm -f "$PIDS/libvirtd-$2" ;;
  start-libvirtd)  # start-libvirtd H: libvirtd again, in the host's namespaces
    h=${2:?host}
    run libvirtd-$h nsenter -t "$(cat "$PIDS/host-$h")" -m -u -n \
      libvirtd -l -p /run/libvirt/libvirtd.pid
    wait_for 30 "libvirtd on $h" nsenter -t "$(cat "$PIDS/host-$h")" -m \
      test -S /run/libvirt/libvirt-sock ;;
  link)            # link H up|down: the host's only network link
    ip link set "e2e-rlm-b${2#h}" "${3:?up or down}" ;;
  small-fs)        # small-fs H SIZE: a tmpfs of SIZE over its instances dir
    nsenter -t "$(cat "$PIDS/host-${2:?host}")" -m \
      mount -t tmpfs -o "size=${3:?size}" e2e-small-fs "$INST" ;;
  drop-small-fs)   # drop-small-fs H
    nsenter -t "$(cat "$PIDS/host-${2:?host}")" -m umount "$INST" ;;
  # An operator switching a (stopped) compute's driver: set-driver H DRIVER
  set-driver)
    sed -i "s/^compute_driver = .*/compute_driver = ${3:?driver}/" \
      "$S/etc/nova/nova-${2:?host: h1, h2 or h3}.conf" ;;
  *) echo "usage: $0 up shared|block | down | leftovers | stop-compute H | start-compute H | set-driver H DRIVER | kill-libvirtd H | start-libvirtd H | link H up|down | small-fs H SIZE | drop-small-fs H" >&2; exit 2 ;;
esac
