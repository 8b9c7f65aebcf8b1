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

import time

from nova import exception
from oslo_log import log as logging

from nova_rescue_lm.i18n import _
from nova_rescue_lm.virt.xenapi import migrate_data as xen_migrate_data
from nova_rescue_lm.virt.xenapi import recordutils
from nova_rescue_lm.virt.xenapi import session as xenapi_session

LOG = logging.getLogger(__name__)

_SOURCE = 'source'
_DESTINATION = 'destination'


class LiveMigrationOps:

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
            if rec['empty'] or recordutils.is_null(rec['VDI']):
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
        if not (token.get('session_id') and token.get('master')):
            return
        if (data.obj_attr_is_set('xapi_pool_uuid') and
                data.xapi_pool_uuid == self._host.pool_uuid):
            # The token's session is this pool's: log it out where this
            # driver reaches the master (https, CA file), not at the
            # token's plain http URL (xen-api xapi_host.ml migrate_receive
            # always writes http and leaves https to the source XAPI).
            url, https_too = self._session.url, False
        else:
            url, https_too = token['master'], True
        self._session.logout_remote(url, token['session_id'],
                                    https_too=https_too)

    def arrived(self, instance):
        """After the migration: the VM is here; keep it on this host."""
        vm_ref, rec = self._vmops.find_vm(instance.uuid)
        if vm_ref is None:
            raise exception.InstanceNotFound(instance_id=instance.uuid)
        # Storage motion keeps only config-drive of a VDI's other_config
        # (xen-api xapi_globs.ml vdi_other_config_sync_keys): the disk tags
        # come back first, so a failed set_affinity leaves nothing to
        # unrescue or reboot without them (both retag too).
        self._vmops.retag_disks(instance, vm_ref, rec)
        self._session.call('VM.set_affinity', vm_ref, self._host.ref)

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
        if not recordutils.is_null(rec['metrics']):
            try:
                domain = call('VM_metrics.get_current_domain_type',
                              rec['metrics'])
            except xenapi_session.Failure:
                domain = None
            if domain in ('pv', 'pv_in_pvh', 'pvh'):
                return
        guest = {}
        if not recordutils.is_null(rec['guest_metrics']):
            try:
                guest = call('VM_guest_metrics.get_record',
                             rec['guest_metrics'])
            except xenapi_session.Failure:
                guest = {}
        other = guest.get('other') or {}
        version = guest.get('PV_drivers_version') or {}
        role = (_('its rescue VM') if recordutils.role_of(rec) ==
                recordutils.ROLE_RESCUE else _('its VM'))
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
                if recordutils.role_of(rec) == recordutils.ROLE_RESCUE else
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
        """Move the VM. True: it is at the destination; False: it is at
        the source (XAPI refused or undid the move, which is logged);
        ``MigrationError``: XAPI cannot tell where it is.

        XAPI runs the move as a task (``Async.VM.*``, as xapi itself does
        for long migrations) which is polled for at most
        ``migration_timeout`` seconds. Whatever happens then (a failure,
        a timeout, a lost connection or task), where the VM really is
        decides, not the call: a migration XAPI finishes after this driver
        gave up has arrived and must not be rolled back.
        """
        vm_ref, _rec = self._vmops.find_vm(instance.uuid)
        if vm_ref is None:
            raise exception.InstanceNotFound(instance_id=instance.uuid)
        if not data.storage_migration:
            LOG.info('Migrating VM %s within the pool', vm_ref,
                     instance=instance)
            method, args = 'Async.VM.pool_migrate', (
                vm_ref, self._destination_host_ref(data), {'live': 'true'})
        else:
            LOG.info('Migrating VM %s and its disks to XAPI host %s', vm_ref,
                     data.xapi_host_uuid, instance=instance)
            method, args = 'Async.VM.migrate_send', (
                vm_ref, self._token(data), True, self._vdi_map(vm_ref, data),
                self._vif_map(vm_ref, data), {})
        task = None
        try:
            task = self._session.call(method, *args)
        except xenapi_session.Failure:
            raise  # refused before a task existed: nothing started
        except xenapi_session.XenAPIConnectionError as exc:
            LOG.warning('No answer to %(method)s (%(error)s); looking for '
                        'the VM', {'method': method, 'error': exc},
                        instance=instance)
        if task is not None:
            status, error = self._wait_for(task, instance)
            if status == 'success':
                return True
            if status == 'failure':
                LOG.error('XAPI failed the migration: %s', error,
                          instance=instance)
        where = self._locate(instance, data)
        if where == _DESTINATION:
            if task is not None and status == 'failure':
                LOG.warning('XAPI reported a failure but the VM is at the '
                            'destination', instance=instance)
            LOG.warning('The VM arrived at the destination after the '
                        'driver stopped waiting; completing the migration',
                        instance=instance)
            return True
        if where == _SOURCE:
            return False
        raise exception.MigrationError(reason=_(
            'XAPI did not say how the migration of VM %(vm)s ended and the '
            'VM is neither settled on the source nor on XAPI host '
            '%(dest)s; not rolling back. Find the VM in XAPI, then reset '
            'the server\'s state and host.') % {
                'vm': vm_ref, 'dest': data.xapi_host_uuid})

    def _wait_for(self, task, instance):
        """(status, error_info) of a migration task; (None, None) when it
        is lost or still running after migration_timeout plus, once it was
        asked to cancel, call_timeout.
        """
        call = self._session.call
        deadline = time.monotonic() + self._timeout
        cancelled = False
        delay = 0.1
        try:
            while True:
                rec = call('task.get_record', task)
                if rec['status'] not in ('pending', 'cancelling'):
                    return rec['status'], rec['error_info']
                if time.monotonic() >= deadline:
                    if cancelled:
                        return None, None
                    LOG.warning('The migration took more than %d seconds; '
                                'asking XAPI to cancel it', self._timeout,
                                instance=instance)
                    try:
                        call('task.cancel', task)
                    except xenapi_session.Failure as exc:
                        LOG.info('XAPI cannot cancel the migration: %s',
                                 exc, instance=instance)
                    cancelled = True
                    deadline = time.monotonic() + self._session.call_timeout
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
        except (xenapi_session.Failure,
                xenapi_session.XenAPIConnectionError) as exc:
            # A new pool master knows no task of the former one.
            LOG.warning('Lost track of the migration task %(task)s: '
                        '%(error)s', {'task': task, 'error': exc},
                        instance=instance)
            return None, None
        finally:
            try:
                call('task.destroy', task)
            except Exception as exc:  # noqa: BLE001 - best effort
                LOG.debug('Could not destroy task %s: %s', task, exc)

    def _locate(self, instance, data):
        """_SOURCE, _DESTINATION or None (cannot tell), from XAPI's own
        records: where the instance's VM resides, once no migration of
        it runs any more (waited for, at most call_timeout seconds).
        """
        deadline = time.monotonic() + self._session.call_timeout
        while True:
            try:
                where, moving = self._where(data, instance)
            except (xenapi_session.Failure,
                    xenapi_session.XenAPIConnectionError,
                    exception.MigrationPreCheckError) as exc:
                LOG.warning('Cannot tell where the VM is: %s', exc,
                            instance=instance)
                return None
            if not moving or time.monotonic() >= deadline:
                return where
            time.sleep(1)

    def _where(self, data, instance):
        vm_ref, rec = self._vmops.find_vm(instance.uuid)
        same_pool = data.xapi_pool_uuid == self._host.pool_uuid
        if vm_ref is None:
            # XAPI removes the source's VM only once it has arrived in the
            # other pool; in this pool a VM never vanishes on the way.
            return (None if same_pool else _DESTINATION), False
        moving = bool(set(rec['current_operations'].values()) & {
            'pool_migrate', 'migrate_send'})
        if moving:
            return None, True
        resident = rec['resident_on']
        if resident == self._host.ref:
            return _SOURCE, False
        if same_pool and resident == self._destination_host_ref(data):
            return _DESTINATION, False
        return None, False

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
            if not rec['empty'] and not recordutils.is_null(rec['VDI']):
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
