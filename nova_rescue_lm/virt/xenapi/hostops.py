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

"""The XAPI host a nova-compute manages: identity, storage, network, usage.

Every host of a pool may run its own nova-compute against the same pool
master; each one is told which host is its own (``[xenserver] xapi_host``),
reports that host as its node and starts VMs there.
"""

import socket

from nova import exception
from nova.objects import fields as obj_fields
from oslo_log import log as logging
from oslo_serialization import jsonutils
from oslo_utils import units
from oslo_utils import uuidutils
from oslo_utils import versionutils

from nova_rescue_lm.i18n import _
from nova_rescue_lm.virt.xenapi import recordutils

LOG = logging.getLogger(__name__)

HYPERVISOR_TYPE = obj_fields.HVType.XEN


class NoUsableSR(exception.NovaException):
    msg_fmt = _("No storage repository that host %(host)s can use matches "
                "[xenserver] sr_matching_filter = %(filter)s.")


class HostOps:

    def __init__(self, session, xapi_host=None,
                 sr_matching_filter='default-sr:true',
                 integration_bridge='xenbr0'):
        self._session = session
        self._wanted = xapi_host
        self._sr_filter = sr_matching_filter
        self._bridge = integration_bridge
        self.ref = None
        self.uuid = None
        self.name = None
        self.address = None
        self.pool_uuid = None

    def connect(self):
        """Find this compute's XAPI host (fails with a clear message)."""
        session = self._session
        if self._wanted:
            self.ref = self._find_host(self._wanted)
        else:
            with session.session() as s:
                self.ref = s.xenapi.session.get_this_host(s.handle)
            if session.member_address:
                # Logged in at the master, but connection_url named a
                # member: that member is the host to manage.
                self.ref = self._host_at(session.member_address)
        rec = session.call('host.get_record', self.ref)
        self.uuid = rec['uuid']
        self.name = rec['name_label']
        self.address = rec['address']
        pool = session.call('pool.get_all')[0]
        self.pool_uuid = session.call('pool.get_uuid', pool)
        self.sr_ref()  # a wrong filter should stop the service at start
        LOG.info('Managing XAPI host %(name)s (%(uuid)s) of pool %(pool)s',
                 {'name': self.name, 'uuid': self.uuid,
                  'pool': self.pool_uuid})

    def _find_host(self, wanted):
        session = self._session
        if uuidutils.is_uuid_like(wanted):
            try:
                return session.call('host.get_by_uuid', wanted)
            except Exception:  # noqa: BLE001 - try it as a name below
                pass
        refs = session.call('host.get_by_name_label', wanted)
        if len(refs) != 1:
            raise exception.NovaException(_(
                "[xenserver] xapi_host = %(host)s names %(count)d hosts of "
                "the pool at %(url)s; give a host name label or uuid that "
                "names exactly one.") % {'host': wanted, 'count': len(refs),
                                         'url': session.url})
        return refs[0]

    def _host_at(self, address):
        try:
            resolved = socket.gethostbyname(address)
        except OSError:
            resolved = address
        records = self._session.call('host.get_all_records')
        for ref, rec in records.items():
            if rec['address'] in (address, resolved) or address in (
                    rec['hostname'], rec['name_label']):
                return ref
        raise exception.NovaException(_(
            "[xenserver] connection_url names %(address)s, a pool member "
            "(XAPI sent the driver to the pool master at %(url)s), but no "
            "host of the pool has that address; set [xenserver] xapi_host "
            "to the host's name label or uuid.") % {
                'address': address, 'url': self._session.url})

    # storage

    def sr_ref(self):
        """The SR new disks go to and migrated disks arrive in."""
        session = self._session
        kind, _sep, value = self._sr_filter.partition(':')
        if kind == 'default-sr' and value == 'true':
            pool = session.call('pool.get_all')[0]
            sr = session.call('pool.get_default_SR', pool)
            if not recordutils.is_null(sr) and self._sees(sr):
                return sr
        elif kind == 'other-config' and '=' in value:
            key, _eq, wanted = value.partition('=')
            for ref, rec in session.call('SR.get_all_records').items():
                if (rec['other_config'].get(key) == wanted and
                        self._sees(ref)):
                    return ref
        raise NoUsableSR(host=self.name or self._wanted,
                         filter=self._sr_filter)

    def _sees(self, sr_ref):
        for pbd in self._session.call('SR.get_PBDs', sr_ref):
            rec = self._session.call('PBD.get_record', pbd)
            if rec['host'] == self.ref and rec['currently_attached']:
                return True
        return False

    def sees_sr(self, sr_ref):
        return self._sees(sr_ref)

    # network

    def network_ref(self, vif):
        """The XAPI network a nova VIF is attached to on this host."""
        bridge = (vif.get('network') or {}).get('bridge')
        networks = self._session.call('network.get_all_records')
        for wanted in (bridge, self._bridge):
            if not wanted:
                continue
            for ref, rec in networks.items():
                if wanted in (rec['bridge'], rec['name_label']):
                    return ref
        raise exception.NetworkNotFoundForBridge(
            bridge=bridge or self._bridge)

    def migration_network_ref(self):
        """A network of this host to receive a migration on (management)."""
        session = self._session
        for pif in session.call('host.get_PIFs', self.ref):
            rec = session.call('PIF.get_record', pif)
            if rec.get('management'):
                return rec['network']
        return self.network_ref({})

    # usage

    def resources(self):
        """What nova-compute records in ComputeNode for this host."""
        session = self._session
        rec = session.call('host.get_record', self.ref)
        metrics = session.call('host_metrics.get_record', rec['metrics'])
        total_mb = int(metrics['memory_total']) // units.Mi
        free_mb = int(metrics['memory_free']) // units.Mi
        vcpus = len(rec['host_CPUs']) or int(
            rec['cpu_info'].get('cpu_count', 0))
        vcpus_used = 0
        for vm in rec['resident_VMs']:
            vm_rec = session.call('VM.get_record', vm)
            if not vm_rec['is_control_domain']:
                vcpus_used += int(vm_rec['VCPUs_max'])
        sr = session.call('SR.get_record', self.sr_ref())
        size_gb = int(sr['physical_size']) // units.Gi
        used_gb = -(-int(sr['physical_utilisation']) // units.Gi)
        version = rec['software_version'].get(
            'product_version') or rec['software_version'].get(
                'platform_version', '0')
        return {
            'vcpus': vcpus,
            'memory_mb': total_mb,
            'local_gb': size_gb,
            'vcpus_used': vcpus_used,
            'memory_mb_used': total_mb - free_mb,
            'local_gb_used': used_gb,
            'hypervisor_type': HYPERVISOR_TYPE,
            'hypervisor_version': versionutils.convert_version_to_int(
                version),
            'hypervisor_hostname': rec['name_label'],
            'cpu_info': jsonutils.dumps(self._cpu_info(rec)),
            'disk_available_least': max(size_gb - used_gb, 0),
            'supported_instances': [
                (obj_fields.Architecture.X86_64, HYPERVISOR_TYPE,
                 obj_fields.VMMode.HVM),
                (obj_fields.Architecture.X86_64, HYPERVISOR_TYPE,
                 obj_fields.VMMode.XEN)],
            'numa_topology': None,
        }

    @staticmethod
    def _cpu_info(host_rec):
        cpu = host_rec.get('cpu_info', {})
        return {
            'arch': obj_fields.Architecture.X86_64,
            'vendor': cpu.get('vendor', ''),
            'model': cpu.get('modelname', ''),
            'features': cpu.get('flags', '').split(),
            'topology': {'sockets': int(cpu.get('socket_count', 1) or 1),
                         'cores': int(cpu.get('cpu_count', 1) or 1),
                         'threads': 1},
        }
