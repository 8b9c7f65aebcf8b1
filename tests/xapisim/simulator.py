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

"""``Simulator``: one simulated XAPI pool on a loopback port."""

from tests.xapisim import api as api_mod
from tests.xapisim.errors import NULL_REF
from tests.xapisim import faults as faults_mod
from tests.xapisim import server as server_mod


class Simulator(object):
    """A XAPI pool master speaking XML-RPC (and HTTP import) on loopback.

    ``strict_create=True`` makes ``VM.create``, ``VDI.create``,
    ``VBD.create`` and ``VIF.create`` fail, as XAPI does, when the record
    lacks a field XAPI requires; by default such fields get a default and
    their names are collected in ``omitted_fields`` (e.g.
    ``'VM.PV_args'``) so a test can assert a driver sends full records.

    ``guest_agent``: whether a guest, once started, runs an agent with PV
    drivers that advertises every feature (True), none does (False), or
    a callable given the VM's record deciding for each VM; see
    ``set_guest_agent`` and ``Api._check_op_for_feature``.
    """

    def __init__(self, pool_name='pool', hosts=('host-1',),
                 host_memory_mb=16384, host_cpus=8, shared_sr=True,
                 sr_size_gb=200, username='root', password='secret',
                 strict_create=False, guest_agent=True):
        self.pool_name = pool_name
        self.hosts = tuple(hosts)
        self.host_memory_mb = host_memory_mb
        self.host_cpus = host_cpus
        self.shared_sr = shared_sr
        self.sr_size_gb = sr_size_gb
        self.username = username
        self.password = password
        self.strict_create = strict_create
        self.guest_agent = guest_agent
        #: Seconds a live migration (VM.pool_migrate, cross-pool
        #: VM.migrate_send) takes; the VM shows the operation meanwhile.
        self.migration_seconds = 0
        self.faults = faults_mod.Faults()
        self.api = api_mod.Api(self, self.faults)
        self._endpoints = {}
        self._down = set()

    # -- life cycle ------------------------------------------------------

    def start(self):
        with self.api.lock:
            master = self.api.master
        server, thread = server_mod.start(
            api_mod.HostApi(self.api, master), host=self._address(master))
        self.api.port = server.server_port
        self._endpoints[master] = (server, thread)
        # Every host answers on its own address from the start, so a
        # master change (pool.designate_new_master over the wire) finds
        # the new master listening.
        for host in self.api.host_refs.values():
            self._endpoint(host)
        return self

    def _address(self, host):
        with self.api.lock:
            return self.api.db.get('host', host)['address']

    def _endpoint(self, host):
        """Start ``host``'s endpoint if it is not listening yet."""
        if host not in self._endpoints and host not in self._down:
            self._endpoints[host] = server_mod.start(
                api_mod.HostApi(self.api, host), host=self._address(host),
                port=self.api.port)

    @property
    def url(self):
        """The URL of the pool master (it changes with the master)."""
        if self.api.port is None:
            return None
        return self.api.url

    def host_url(self, host_name):
        """The URL of any host of the pool, master or member."""
        ref = self.api.host_refs[host_name]
        self._endpoint(ref)
        with self.api.lock:
            return self.api.host_url(ref)

    def member_url(self, host_name):
        """URL of pool member ``host_name`` (any host but the master).

        It listens on that host's own loopback address at the master's
        port and, as XAPI does, refuses password logins and the master's
        sessions with ``HOST_IS_SLAVE`` naming the master's address.
        """
        with self.api.lock:
            if self.api.host_refs[host_name] == self.api.master:
                raise ValueError('%s is the pool master: use url'
                                 % host_name)
        return self.host_url(host_name)

    def designate_new_master(self, host_name):
        """``pool.designate_new_master``: ``host_name`` becomes the master;
        every session and task is lost (see ``Api.designate_new_master``).
        Every host keeps answering, the old master as a member.
        """
        ref = self.api.host_refs[host_name]
        with self.api.lock:
            self.api.designate_new_master(ref)

    def fail_over(self, host_name):
        """An HA failover: the master stops answering (its endpoint is
        closed: connections are refused), ``host_name`` becomes the
        master, every session and task is lost. The other members still
        answer, with ``HOST_IS_SLAVE`` naming the new master.
        """
        with self.api.lock:
            old = self.api.master
        self._down.add(old)
        if old in self._endpoints:
            self._stop_endpoint(*self._endpoints.pop(old))
        self.designate_new_master(host_name)

    @staticmethod
    def _stop_endpoint(server, thread):
        server.shutdown()
        server.server_close()
        server.close_connections()
        thread.join(5)

    def stop(self):
        for server, thread in self._endpoints.values():
            self._stop_endpoint(server, thread)
        self._endpoints.clear()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- what tests look at ---------------------------------------------

    @property
    def host_refs(self):
        return dict(self.api.host_refs)

    @property
    def pool_ref(self):
        return self.api.pool_ref

    @property
    def network_ref(self):
        """The pool-wide network (every host has a PIF on it)."""
        return self.api.network_ref

    @property
    def shared_sr_ref(self):
        return self.api.shared_sr

    def local_sr_ref(self, host_name):
        host = self.api.host_refs[host_name]
        with self.api.lock:
            for _, pbd in self.api.db.where('PBD', host=host):
                if not self.api.db.get('SR', pbd['SR'])['shared']:
                    return pbd['SR']

    def add_network(self, name, hosts=()):
        """A network with a PIF on each named host (none: an internal
        network, usable on every host); returns its ref.
        """
        api = self.api
        with api.lock:
            net = api.db.create('network', {
                'name_label': name,
                'bridge': 'xenbr%d' % len(api.db.tables['network'])})
            for index, host in enumerate(hosts):
                api.db.create('PIF', {
                    'network': net, 'host': api.host_refs[host],
                    'device': 'eth%d' % len(api.db.tables['network']),
                    'IP': '127.0.0.1',
                    'MAC': '02:00:00:01:%02x:%02x' % (
                        len(api.db.tables['network']) % 256, index)})
            return net

    @property
    def omitted_fields(self):
        with self.api.lock:
            return set(self.api.omitted_fields)

    def set_guest_agent(self, vm_uuid, present=True, **report):
        """What the guest agent of a running VM reports from now on.

        ``present=False``: no agent (no PV drivers, no features), as in a
        guest booted from an image without the guest tools. ``report``
        replaces parts of ``api.GUEST_AGENT`` (``other={...}`` for the
        feature flags, ``PV_drivers_version={}`` for none).
        """
        with self.api.lock:
            ref = self.api.db.by_uuid('VM', vm_uuid)
            agent = None
            if present:
                agent = dict(api_mod.GUEST_AGENT)
                agent.update(report)
            self.api.set_guest_metrics(ref, agent)

    def expire_sessions(self):
        """Invalidate every session, as a XAPI restart or timeout would."""
        self.api.expire_sessions()

    def session_count(self):
        with self.api.lock:
            return len(self.api.sessions)

    def vms(self):
        """Guest VMs (no templates, no control domains) as plain dicts."""
        api = self.api
        host_names = {ref: name for name, ref in api.host_refs.items()}
        out = []
        with api.lock:
            for ref, rec in api.db.all('VM'):
                if rec['is_a_template'] or rec['is_control_domain']:
                    continue
                vbds = []
                for vbd, vrec in api.db.where('VBD', VM=ref):
                    vdi_uuid = None
                    if vrec['VDI'] != NULL_REF and api.db.exists(
                            'VDI', vrec['VDI']):
                        vdi_uuid = api.db.get('VDI', vrec['VDI'])['uuid']
                    vbds.append({
                        'ref': vbd, 'userdevice': vrec['userdevice'],
                        'device': vrec['device'], 'vdi_uuid': vdi_uuid,
                        'mode': vrec['mode'], 'type': vrec['type'],
                        'bootable': vrec['bootable'],
                        'currently_attached': vrec['currently_attached']})
                vbds.sort(key=lambda v: int(v['userdevice']))
                vifs = []
                for vif, vrec in api.db.where('VIF', VM=ref):
                    vifs.append({
                        'ref': vif, 'device': vrec['device'],
                        'MAC': vrec['MAC'], 'network': vrec['network'],
                        'other_config': dict(vrec['other_config']),
                        'currently_attached': vrec['currently_attached']})
                vifs.sort(key=lambda v: int(v['device']))
                out.append({
                    'uuid': rec['uuid'], 'ref': ref,
                    'name_label': rec['name_label'],
                    'power_state': rec['power_state'],
                    'resident_on': host_names.get(rec['resident_on']),
                    'other_config': dict(rec['other_config']),
                    'blocked_operations': dict(rec['blocked_operations']),
                    'memory': rec['memory_dynamic_max'],
                    'memory_static_max': rec['memory_static_max'],
                    'vcpus': rec['VCPUs_at_startup'],
                    'vcpus_max': rec['VCPUs_max'],
                    'platform': dict(rec['platform']),
                    'vbds': vbds, 'vifs': vifs})
        return out

    def vm(self, uuid):
        """One guest VM by uuid (see ``vms``), or None."""
        for vm in self.vms():
            if vm['uuid'] == uuid:
                return vm
        return None

    def vdis(self):
        """Every VDI as a plain dict: uuid, ref, name_label, sr (uuid),
        virtual_size, other_config, attached_to (VM uuids).
        """
        api = self.api
        out = []
        with api.lock:
            for ref, rec in api.db.all('VDI'):
                vms = [api.db.get('VM', vbd['VM'])['uuid']
                       for _, vbd in api.db.where('VBD', VDI=ref)]
                out.append({
                    'uuid': rec['uuid'], 'ref': ref,
                    'name_label': rec['name_label'],
                    'sr': api.db.get('SR', rec['SR'])['uuid'],
                    'sr_ref': rec['SR'],
                    'virtual_size': rec['virtual_size'],
                    'other_config': dict(rec['other_config']),
                    'attached_to': vms})
        return out

    def vdi_bytes(self, vdi_uuid):
        """A VDI's content up to the last byte ever written (the rest of
        its virtual size reads as zeros).
        """
        with self.api.lock:
            ref = self.api.db.by_uuid('VDI', vdi_uuid)
            return bytes(self.api.vdi_data.get(ref, b''))

    def write_vdi(self, vdi_uuid, data, offset=0):
        """Write into a VDI as a guest would."""
        with self.api.lock:
            ref = self.api.db.by_uuid('VDI', vdi_uuid)
            self.api.write_vdi(ref, bytes(data), offset)

    def host_free_memory(self, host_name):
        with self.api.lock:
            return self.api.host_free_memory(self.api.host_refs[host_name])
