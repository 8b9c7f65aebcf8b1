"""Bringing a rescued server back after its host restarted.

nova resumes a server whose domain stopped with a hard reboot, which
defines the domain afresh from the server's own image: a rescued server
would boot its root disk while its status still says RESCUE. The rescue
domain is still defined on the host (nova defines it persistently, and a
live migration persists it on the destination), so it is started as it is.
"""

from nova.compute import power_state
from nova import exception

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
