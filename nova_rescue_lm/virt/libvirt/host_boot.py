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

"""Bringing a rescued server back after its host restarted.

nova resumes a server whose domain stopped with a hard reboot, which
defines the domain afresh from the server's own image: a rescued server
would boot its root disk while its status still says RESCUE. The rescue
domain is still defined on the host (nova defines it persistently, and a
live migration persists it on the destination), so it is started as it is.
If it is not, and a live migration of the server from this host was cut by
nova-compute's death, the guest may run on the destination: nothing is
started here (:func:`cut_migration_destination`).
"""

from nova.compute import power_state
from nova import exception
from nova import objects

#: nova's libvirt rescue names its disks (and kernel, ramdisk) so.
RESCUE_SUFFIX = '.rescue'

_UP = (power_state.RUNNING, power_state.PAUSED, power_state.SUSPENDED,
       power_state.NOSTATE)


def defined_rescue_domain(host, instance):
    """The server's guest if the host has its rescue domain, else None."""
    try:
        guest = host.get_guest(instance)
    except exception.InstanceNotFound:
        return None
    for disk in guest.get_all_disks():
        source = disk.source_path or disk.source_name or ''
        if source.endswith(RESCUE_SUFFIX):
            return guest
    return None


def is_up(host, guest):
    return guest.get_power_state(host) in _UP


NOT_DEFINED = 'not defined'

#: Live-migration records of a move that may have been cut (nova-compute
#: sets 'error' on the ones it finds running when it starts again).
_CUT = ('queued', 'preparing', 'running', 'error')


def latest_live_migration(context, instance, statuses):
    """The newest live migration of ``instance`` from its host whose
    status is one of ``statuses``, or None.
    """
    migrations = objects.MigrationList.get_by_filters(context, {
        'instance_uuid': instance.uuid, 'source_compute': instance.host,
        'migration_type': 'live-migration'})
    found = [m for m in migrations if m.status in statuses]
    return max(found, key=lambda m: m.id) if found else None


def cut_migration_destination(context, instance, domain_state_at):
    """Where a live migration cut by this nova-compute's death may have
    left the rescued server's guest: ``(destination host, what its libvirt
    says)``, or None.

    nova-compute's death does not stop libvirt: a peer-to-peer migration
    goes on, and when it completes the rescue domain is undefined here and
    runs on the destination, while the database still names this host.
    Starting the server here again would run a second copy, on the same
    disks (shared storage) or on stale ones.

    :param domain_state_at: ``f(host, instance)``, the state of the
        instance's domain on that host's libvirt (raises if it cannot be
        asked).
    """
    cut = latest_live_migration(context, instance, _CUT)
    dest = cut.dest_compute if cut else None
    if not dest:
        return None
    try:
        state = domain_state_at(dest, instance)
    except Exception as e:  # cannot ask it: it may still run there
        return dest, 'unknown (%s)' % e
    return None if state == NOT_DEFINED else (dest, state)
