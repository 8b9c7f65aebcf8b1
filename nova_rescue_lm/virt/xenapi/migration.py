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

"""Live migration of an instance's one VM, whatever role it has.

Within a pool whose storage the destination host sees, XAPI moves the VM
with ``VM.pool_migrate``. Otherwise (another pool, or storage the
destination does not see) the destination asks its pool for a
``host.migrate_receive`` token and the source sends the VM and its disks
with ``VM.migrate_send``. A rescued server migrates like any other: its
rescue VM holds the rescue disk and every disk of the server, and unrescue
on the destination rebuilds the server's own VM around them.
"""

from nova import exception
from oslo_log import log as logging

from nova_rescue_lm.i18n import _
from nova_rescue_lm.virt.xenapi import migrate_data as xen_migrate_data
from nova_rescue_lm.virt.xenapi import records
from nova_rescue_lm.virt.xenapi import session as xenapi_session

LOG = logging.getLogger(__name__)


class MigrationOps:

    def __init__(self, session, host, vmops, migration_timeout=3600):
        self._session = session
        self._host = host
        self._vmops = vmops
        self._timeout = migration_timeout

    # destination

    def plan(self, instance, base=None, network_info=None):
        """What the source needs to send ``instance``'s VM to this host.

        ``network_info`` is what nova hands pre_live_migration; the
        pre-check has none and reads the instance's cache.
        """
        data = xen_migrate_data.from_stock(base)
        data.xapi_pool_uuid = self._host.pool_uuid
        data.xapi_host_uuid = self._host.uuid
        data.migrate_send_data = {}
        data.destination_sr_ref = None
        data.vif_networks = {}
        vm_ref, rec = self._vmops.find_vm(instance.uuid)
        if vm_ref is not None:
            if rec['resident_on'] == self._host.ref:
                raise exception.MigrationPreCheckError(reason=_(
                    'the VM of the instance already runs on XAPI host %s')
                    % self._host.name)
            if self._sees_all_disks(vm_ref):
                return data  # VM.pool_migrate
        # Another pool, or disks this host does not see: storage migration.
        data.destination_sr_ref = self._host.sr_ref()
        if vm_ref is None:
            # Another pool: each interface goes to this pool's network.
            # Within one pool XAPI refuses any VIF mapping (the VIFs keep
            # their networks), so none is planned there.
            data.vif_networks = {
                vif['address']: self._host.network_ref(vif)
                for vif in (network_info if network_info is not None
                            else instance.get_network_info())}
        try:
            data.migrate_send_data = self._session.call(
                'host.migrate_receive', self._host.ref,
                self._host.migration_network_ref(), {})
        except xenapi_session.Failure as exc:
            raise exception.MigrationPreCheckError(reason=_(
                'XAPI host %(host)s cannot receive the VM: %(error)s') % {
                    'host': self._host.name, 'error': exc})
        return data

    def _sees_all_disks(self, vm_ref):
        for vbd in self._session.call('VM.get_VBDs', vm_ref):
            rec = self._session.call('VBD.get_record', vbd)
            if rec['empty'] or records.is_null(rec['VDI']):
                continue
            sr = self._session.call('VDI.get_SR', rec['VDI'])
            if not self._host.sees_sr(sr):
                return False
        return True

    def forget_plan(self, data):
        """Log out the session a migrate_receive token holds, if any.

        Called on the destination for the token of the pre-checks, on the
        source after the migration (the token is spent) and on rollback.
        """
        token = (data.migrate_send_data if isinstance(
            data, xen_migrate_data.XenAPILiveMigrateData) and
            data.obj_attr_is_set('migrate_send_data') else {})
        if token.get('session_id') and token.get('master'):
            self._session.logout_remote(token['master'], token['session_id'])

    def arrived(self, instance):
        """After the migration: the VM is here; keep it on this host."""
        vm_ref, rec = self._vmops.find_vm(instance.uuid)
        if vm_ref is None:
            raise exception.InstanceNotFound(instance_id=instance.uuid)
        self._session.call('VM.set_affinity', vm_ref, self._host.ref)
        self._retag_disks(instance, vm_ref, rec)

    def _retag_disks(self, instance, vm_ref, rec):
        """Give disks that lost their tags on the way their tags back.

        The tags follow from the VM's role and device layout.
        """
        rescue = records.role_of(rec) == records.ROLE_RESCUE
        for vbd in self._session.call('VM.get_VBDs', vm_ref):
            vbd_rec = self._session.call('VBD.get_record', vbd)
            vdi = vbd_rec['VDI']
            if vbd_rec['empty'] or records.is_null(vdi):
                continue
            other = self._session.call('VDI.get_other_config', vdi)
            if other.get(records.VDI_UUID) == instance.uuid:
                continue
            device = int(vbd_rec['userdevice'])
            if rescue:
                kind = records.RESCUE if device == 0 else None
                device = None if device == 0 else device - 1
            else:
                kind = None
            if kind is None:
                kind = (records.ROOT if device == records.ROOT_DEVICE else
                        records.SWAP if device == records.SWAP_DEVICE else
                        records.EPHEMERAL)
            LOG.warning('Disk %(vdi)s arrived without its tags; tagging it '
                        'as %(kind)s', {'vdi': vdi, 'kind': kind},
                        instance=instance)
            for key, value in records.disk_tags(instance.uuid, kind,
                                                device).items():
                self._session.call('VDI.remove_from_other_config', vdi, key)
                self._session.call('VDI.add_to_other_config', vdi, key,
                                   value)

    # source

    def check_source(self, instance, data):
        """Refuse early what XAPI would refuse during the migration."""
        vm_ref, rec = self._vmops.find_vm(instance.uuid)
        if vm_ref is None:
            raise exception.MigrationPreCheckError(reason=_(
                'the instance has no VM in the pool of XAPI host %s')
                % self._host.name)
        self._assert_guest_can_move(instance, vm_ref, rec)
        if data.xapi_pool_uuid == self._host.pool_uuid:
            if not data.storage_migration:
                self._destination_host_ref(data)
                return data
        elif not data.storage_migration:
            raise exception.MigrationPreCheckError(reason=_(
                'the destination is in another pool but gave no '
                'migrate_receive token'))
        try:
            self._session.call(
                'VM.assert_can_migrate', vm_ref, self._token(data), True,
                self._vdi_map(vm_ref, data), self._vif_map(vm_ref, data), {})
        except xenapi_session.Failure as exc:
            raise exception.MigrationPreCheckError(reason=_(
                'XAPI refuses to migrate the VM: %s') % exc)
        return data

    def _assert_guest_can_move(self, instance, vm_ref, rec):
        """Refuse a running HVM guest without PV drivers or feature-suspend.

        XAPI refuses to live-migrate such a guest (VM_LACKS_FEATURE;
        xen-api xapi_vm_lifecycle.ml check_op_for_feature), but only once
        VM.pool_migrate or VM.migrate_send runs: VM.assert_can_migrate does
        not look. A rescue image often has no guest tools, so this is
        checked here, before anything moves, with the same rules: a guest
        that booted PV, or whose agent reports PV drivers or
        feature-suspend, may move; one that reports
        data-cant-suspend-reason may not (VM_NON_SUSPENDABLE). The driver
        does not use pool_migrate's ``force``, which would skip this and
        XAPI's CPU compatibility check, and which migrate_send lacks.
        """
        if rec['power_state'] not in ('Running', 'Paused'):
            return
        call = self._session.call
        if not records.is_null(rec['metrics']):
            try:
                domain = call('VM_metrics.get_current_domain_type',
                              rec['metrics'])
            except xenapi_session.Failure:
                domain = None
            if domain in ('pv', 'pv_in_pvh', 'pvh'):
                return
        guest = {}
        if not records.is_null(rec['guest_metrics']):
            try:
                guest = call('VM_guest_metrics.get_record',
                             rec['guest_metrics'])
            except xenapi_session.Failure:
                guest = {}
        other = guest.get('other') or {}
        version = guest.get('PV_drivers_version') or {}
        role = (_('its rescue VM') if records.role_of(rec) ==
                records.ROLE_RESCUE else _('its VM'))
        if other.get('data-cant-suspend-reason'):
            raise exception.MigrationPreCheckError(reason=_(
                'XAPI cannot live-migrate %(role)s %(vm)s: the guest says it '
                'cannot be suspended (%(why)s; VM_NON_SUSPENDABLE)') % {
                    'role': role, 'vm': rec['uuid'],
                    'why': other['data-cant-suspend-reason']})
        drivers = all(str(version.get(key, '')).isdigit()
                      for key in ('major', 'minor'))
        if drivers or other.get('feature-suspend') == '1':
            return
        hint = (_('Rescue the server from an image with the XenServer or '
                  'XCP-ng guest tools, or unrescue it before migrating.')
                if records.role_of(rec) == records.ROLE_RESCUE else
                _('Run the XenServer or XCP-ng guest tools in the guest.'))
        LOG.warning('Refusing to live-migrate VM %s: an HVM guest without '
                    'PV drivers or feature-suspend', vm_ref,
                    instance=instance)
        raise exception.MigrationPreCheckError(reason=_(
            'XAPI cannot live-migrate %(role)s %(vm)s: the guest runs HVM '
            'without PV drivers and does not advertise feature-suspend '
            '(VM_LACKS_FEATURE). %(hint)s') % {
                'role': role, 'vm': rec['uuid'], 'hint': hint})

    def migrate(self, instance, data):
        """Move the VM; returns when XAPI has moved it (or raises)."""
        vm_ref, _rec = self._vmops.find_vm(instance.uuid)
        if vm_ref is None:
            raise exception.InstanceNotFound(instance_id=instance.uuid)
        if not data.storage_migration:
            LOG.info('Migrating VM %s within the pool', vm_ref,
                     instance=instance)
            self._session.call('VM.pool_migrate', vm_ref,
                               self._destination_host_ref(data),
                               {'live': 'true'}, timeout=self._timeout)
            return
        LOG.info('Migrating VM %s and its disks to XAPI host %s', vm_ref,
                 data.xapi_host_uuid, instance=instance)
        self._session.call(
            'VM.migrate_send', vm_ref, self._token(data), True,
            self._vdi_map(vm_ref, data), self._vif_map(vm_ref, data), {},
            timeout=self._timeout)

    def _destination_host_ref(self, data):
        try:
            return self._session.call('host.get_by_uuid',
                                      data.xapi_host_uuid)
        except xenapi_session.Failure as exc:
            raise exception.MigrationPreCheckError(reason=_(
                'XAPI host %(host)s is not in this pool: %(error)s') % {
                    'host': data.xapi_host_uuid, 'error': exc})

    @staticmethod
    def _token(data):
        # XML-RPC marshals plain dicts only (not nova's CoercedDict).
        return {str(k): str(v) for k, v in data.migrate_send_data.items()}

    def _vdi_map(self, vm_ref, data):
        vdi_map = {}
        for vbd in self._session.call('VM.get_VBDs', vm_ref):
            rec = self._session.call('VBD.get_record', vbd)
            if not rec['empty'] and not records.is_null(rec['VDI']):
                vdi_map[rec['VDI']] = str(data.destination_sr_ref)
        return vdi_map

    def _vif_map(self, vm_ref, data):
        if data.xapi_pool_uuid == self._host.pool_uuid:
            # XAPI (xapi_vm_migrate.ml, assert_can_migrate) answers
            # OPERATION_NOT_ALLOWED to any VIF mapping within one pool.
            return {}
        vif_map = {}
        for vif in self._session.call('VM.get_VIFs', vm_ref):
            mac = self._session.call('VIF.get_MAC', vif)
            if mac in data.vif_networks:
                vif_map[vif] = str(data.vif_networks[mac])
        return vif_map
