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

"""VM.assert_can_migrate and VM.migrate_send (storage motion).

Within a pool (the token's host belongs to this pool) the VDIs move to the
mapped SRs and the VM to the host. Across pools the source simulator talks
to the destination over real XML-RPC and HTTP, with the session the
destination put in the ``host.migrate_receive`` token: it checks there,
creates each VDI (``VDI.create``), sends its bytes to ``/import_raw_vdi``,
then has the destination create the VM, VBDs and VIFs
(``xapisim.receive_vm``, standing in for XAPI's metadata import) and finally
removes VM, VBDs, VIFs and VDIs here. As in XAPI: the VM keeps its uuid and
power state; VDIs, VBDs and VIFs are new objects on the destination (storage
motion creates new VDIs, whose other_config keeps only ``config-drive``);
a Halted VM may be migrated too; with the option
``copy=true`` (Halted VMs only) the source stays and the copy gets a new
uuid.
"""

import http.client
import socket
import urllib.parse
import xmlrpc.client

from tests.xapisim import errors
from tests.xapisim.errors import NULL_REF
from tests.xapisim.errors import XapiError
from tests.xapisim import model

TOKEN_KEYS = ('master', 'xenops', 'session_id', 'host', 'SM')

#: The only VDI.other_config keys a storage migration keeps on the new VDI
#: (xen-api ``xapi_globs.ml`` ``vdi_other_config_sync_keys``; copied by
#: ``xapi_vm_migrate.ml`` ``intra_pool_vdi_remap`` within a pool and by
#: ``import.ml``, the metadata import of a migration to another pool, onto
#: the mirrored VDI). Everything else of the source VDI's other_config is
#: left behind.
VDI_OTHER_CONFIG_SYNC_KEYS = ('config-drive',)


def _synced_other_config(other_config):
    return {k: v for k, v in other_config.items()
            if k in VDI_OTHER_CONFIG_SYNC_KEYS}


# VM fields that do not travel: references into the source pool and state.
_VM_LOCAL = ('resident_on', 'scheduled_to_be_resident_on', 'affinity',
             'suspend_VDI', 'metrics', 'guest_metrics', 'suspend_SR',
             'appliance', 'snapshot_of', 'parent', 'consoles', 'VUSBs',
             'crash_dumps', 'VTPMs', 'snapshots', 'current_operations',
             'allowed_operations', 'domid', 'power_state')


def _bool(value):
    return str(value).lower() == 'true'


class _Remote(object):
    """The destination pool, reached as its token says."""

    def __init__(self, dest):
        self.url = dest['master']
        self.session = dest['session_id']
        parsed = urllib.parse.urlsplit(self.url)
        self.netloc = parsed.netloc
        self.ip = parsed.hostname or ''
        self.proxy = xmlrpc.client.ServerProxy(self.url)

    def call(self, method, *args):
        try:
            result = getattr(self.proxy, method)(self.session, *args)
        except (OSError, http.client.HTTPException,
                xmlrpc.client.ProtocolError):
            raise XapiError('CANNOT_CONTACT_HOST', self.ip)
        if result.get('Status') == 'Success':
            return result.get('Value')
        raise XapiError(*result.get('ErrorDescription',
                                    ['INTERNAL_ERROR', 'no error']))

    def put_vdi(self, vdi, data):
        """Send a VDI's bytes to /import_raw_vdi and wait for its task."""
        task = self.call('task.create', 'VDI import', 'migrate_send')
        query = urllib.parse.urlencode({
            'session_id': self.session, 'task_id': task, 'vdi': vdi,
            'format': 'raw'})
        netloc, path = self.netloc, '/import_raw_vdi?' + query
        for _hop in range(3):
            conn = http.client.HTTPConnection(netloc, timeout=60)
            try:
                conn.request('PUT', path, body=data,
                             headers={'Content-Length': str(len(data))})
                resp = conn.getresponse()
                resp.read()
            except (OSError, http.client.HTTPException, socket.timeout):
                raise XapiError('CANNOT_CONTACT_HOST', self.ip)
            finally:
                conn.close()
            if resp.status != 302:
                break
            # The SR is on another host of the destination pool.
            location = urllib.parse.urlsplit(resp.getheader('Location'))
            netloc = location.netloc
            path = '%s?%s' % (location.path, location.query)
        try:
            record = self.call('task.get_record', task)
        finally:
            self.call('task.destroy', task)
        if resp.status != 200 or record['status'] != 'success':
            raise XapiError(*(record['error_info'] or [
                'VDI_COPY_FAILED', 'HTTP %d' % resp.status]))


def _check_token(dest):
    if not isinstance(dest, dict):
        raise XapiError('FIELD_TYPE_ERROR', 'dest')
    for key in TOKEN_KEYS:
        if key not in dest:
            # XAPI looks the keys up with List.assoc.
            raise errors.internal_error('Not_found')


class _Plan(object):
    pass


def _prepare(api, vm, dest, vdi_map, vif_map, options, sending=False):
    """Source-side checks (XAPI's order) and the payload; lock held.

    ``sending``: VM.migrate_send, which message_forwarding.ml wraps in
    ``with_vm_operation`` (strict: a running HVM guest without PV drivers
    or feature-suspend is VM_LACKS_FEATURE, whatever the options say);
    VM.assert_can_migrate does not check the guest's features.
    """
    _check_token(dest)
    options = options if isinstance(options, dict) else {}
    vdi_map = vdi_map if isinstance(vdi_map, dict) else {}
    vif_map = vif_map if isinstance(vif_map, dict) else {}
    rec = api._check_op(vm, 'migrate_send', features=sending)
    plan = _Plan()
    plan.vm = vm
    plan.rec = rec
    plan.force = _bool(options.get('force', 'false'))
    plan.copy = _bool(options.get('copy', 'false'))
    plan.intra = dest['host'] in api.db.tables['host']
    plan.vdis = []
    for vbd, vbdrec, vdi in api._vm_vdis(vm):
        if vdi not in vdi_map:
            raise XapiError('VDI_NOT_IN_MAP', vdi)
        plan.vdis.append((vdi, str(vdi_map[vdi])))
    live = rec['power_state'] in ('Running', 'Paused')
    plan.live = live
    if plan.intra:
        # xapi_vm_migrate.ml assert_can_migrate (intra-pool branch), which
        # message_forwarding.ml runs before VM.migrate_send too: the VIFs
        # keep their networks, any VIF mapping is refused.
        if vif_map:
            raise XapiError(
                'OPERATION_NOT_ALLOWED',
                'VIF mapping is not allowed for intra-pool migration -all '
                'VIFs must be on the same network')
        for vdi, sr in plan.vdis:
            api.db.get('SR', sr)
            if not api._host_sees_sr(dest['host'], sr):
                raise XapiError('VM_REQUIRES_SR', vm, sr)
        return plan
    if plan.copy and not plan.force and rec['power_state'] != 'Halted':
        raise errors.bad_power_state(vm, ['Halted'], rec['power_state'])
    vifs = api.db.where('VIF', VM=vm)
    by_mac = {api.db.get('VIF', v)['MAC']: n for v, n in vif_map.items()
              if api.db.exists('VIF', v)}
    plan.vifs = []
    for vif, vifrec in vifs:
        network = vif_map.get(vif) or by_mac.get(vifrec['MAC'])
        if network is None:
            raise XapiError('VIF_NOT_IN_MAP', vif)
        fields = {k: v for k, v in vifrec.items()
                  if k not in ('VM', 'network', 'metrics', 'uuid',
                               'currently_attached', 'current_operations',
                               'allowed_operations')}
        fields['network'] = str(network)
        plan.vifs.append(fields)
    plan.vbds = []
    for vbd, vbdrec in api.db.where('VBD', VM=vm):
        fields = {k: v for k, v in vbdrec.items()
                  if k not in ('VM', 'metrics', 'uuid', 'currently_attached',
                               'current_operations', 'allowed_operations')}
        plan.vbds.append(fields)
    plan.vdi_records = {}
    plan.vdi_bytes = {}
    for vdi, sr in plan.vdis:
        vdirec = api.db.get('VDI', vdi)
        plan.vdi_records[vdi] = {
            k: vdirec[k] for k in (
                'name_label', 'name_description', 'virtual_size', 'type',
                'sharable', 'read_only', 'other_config', 'xenstore_data',
                'sm_config', 'tags')}
        plan.vdi_records[vdi]['SR'] = sr
        plan.vdi_records[vdi]['other_config'] = _synced_other_config(
            vdirec['other_config'])
        plan.vdi_bytes[vdi] = bytes(api.vdi_data.get(vdi, b''))
    vm_fields = {k: v for k, v in rec.items() if k not in _VM_LOCAL}
    plan.payload = {
        'vm': vm, 'uuid': rec['uuid'], 'record': vm_fields,
        'power_state': rec['power_state'], 'host': dest['host'],
        'force': plan.force, 'copy': plan.copy,
        'srs': {vdi: sr for vdi, sr in plan.vdis},
        'sizes': {vdi: plan.vdi_records[vdi]['virtual_size']
                  for vdi, _ in plan.vdis},
        'networks': sorted({v['network'] for v in plan.vifs}),
        'vbds': plan.vbds, 'vifs': plan.vifs,
    }
    return plan


def assert_can_migrate(api, vm, dest, vdi_map, vif_map, options):
    with api.lock:
        plan = _prepare(api, vm, dest, vdi_map, vif_map, options)
        if plan.intra:
            if plan.live:
                api.assert_can_boot_here(vm, dest['host'],
                                         check_storage=False)
            return
        payload = model.to_wire(plan.payload)
    _Remote(dest).call('xapisim.receive_check', payload)


def migrate_send(api, vm, dest, vdi_map, vif_map, options):
    with api.lock:
        plan = _prepare(api, vm, dest, vdi_map, vif_map, options,
                        sending=True)
        if plan.intra:
            return _intra_pool(api, plan, dest['host'])
        op_ref = api._task or model.new_ref()
        plan.rec['current_operations'][op_ref] = 'migrate_send'
        payload = model.to_wire(plan.payload)
    remote = _Remote(dest)
    try:
        remote.call('xapisim.receive_check', payload)
        api.migration_pause()
        created = {}
        try:
            with api.lock:
                state = plan.rec['power_state']
            if state != payload['power_state']:
                # Shut down hard meanwhile (allowed alongside a migration,
                # xapi_vm_lifecycle.ml is_allowed_concurrently): nothing
                # is sent.
                raise errors.bad_power_state(vm, [payload['power_state']],
                                             state)
            for vdi, _ in plan.vdis:
                new = remote.call('VDI.create',
                                  model.to_wire(plan.vdi_records[vdi]))
                created[vdi] = new
                if plan.vdi_bytes[vdi]:
                    remote.put_vdi(new, plan.vdi_bytes[vdi])
            payload['vdis'] = created
            new_vm = remote.call('xapisim.receive_vm', payload)
        except Exception:
            for new in created.values():
                try:
                    remote.call('VDI.destroy', new)
                except XapiError:
                    pass
            raise
    finally:
        with api.lock:
            if api.db.exists('VM', vm):
                plan.rec['current_operations'].pop(op_ref, None)
    if not plan.copy:
        with api.lock:
            _remove_vm(api, vm, [vdi for vdi, _ in plan.vdis])
    return new_vm


def _remove_vm(api, vm, vdis):
    rec = api.db.get('VM', vm)
    api._unboot(vm, rec)
    for vbd, _ in api.db.where('VBD', VM=vm):
        api.db.destroy('VBD', vbd)
    for vif, _ in api.db.where('VIF', VM=vm):
        api.db.destroy('VIF', vif)
    for vdi in vdis:
        if api.db.exists('VDI', vdi):
            api.vdi_destroy(vdi)
    if api.db.exists('VM_metrics', rec['metrics']):
        api.db.destroy('VM_metrics', rec['metrics'])
    api.db.destroy('VM', vm)


def _intra_pool(api, plan, host):
    """Storage motion inside the pool: new VDIs on the mapped SRs."""
    vm, rec = plan.vm, plan.rec
    moves = [(vdi, sr) for vdi, sr in plan.vdis
             if api.db.get('VDI', vdi)['SR'] != sr]
    needed = {}
    for vdi, sr in moves:
        needed[sr] = needed.get(sr, 0) + api.db.get('VDI', vdi)[
            'virtual_size']
    _check_space(api, needed)
    if plan.live:
        # The VDIs' new SRs were checked against the host in _prepare.
        api.assert_can_boot_here(vm, host, check_storage=False)
    for vdi, sr in moves:
        old = api.db.get('VDI', vdi)
        fields = {k: v for k, v in old.items()
                  if k not in ('uuid', 'SR', 'location')}
        fields['SR'] = sr
        fields['other_config'] = _synced_other_config(old['other_config'])
        new = api.db.create('VDI', fields)
        api.db.get('VDI', new)['location'] = api.db.get('VDI', new)['uuid']
        api.vdi_data[new] = bytearray(api.vdi_data.get(vdi, b''))
        for vbd, vbdrec in api.db.where('VBD', VDI=vdi):
            vbdrec['VDI'] = new
        del api.db.tables['VDI'][vdi]
        api.vdi_data.pop(vdi, None)
    if plan.live:
        rec['resident_on'] = host
        rec['domid'] = api._next_domid()
    return vm


def _check_space(api, needed):
    """``needed``: SR ref -> bytes about to be allocated there."""
    for sr, size in needed.items():
        srrec = api.db.get('SR', sr)
        if (api._derive_SR(sr, srrec)['virtual_allocation'] + size
                > srrec['physical_size']):
            raise XapiError('SR_BACKEND_FAILURE_44', '',
                            'There is insufficient space', '')


# ----------------------------------------------------------------------
# destination side (lock held: these are locked XML-RPC methods)

def receive_check(api, payload):
    host = payload.get('host', NULL_REF)
    hrec = api.db.get('host', host)
    if not hrec['enabled']:
        raise XapiError('HOST_DISABLED', host)
    per_sr = {}
    for vdi, sr in payload.get('srs', {}).items():
        api.db.get('SR', sr)
        if not api._host_sees_sr(host, sr):
            raise XapiError('VM_REQUIRES_SR', payload['vm'], sr)
        per_sr[sr] = per_sr.get(sr, 0) + int(payload['sizes'][vdi])
    _check_space(api, per_sr)
    for network in payload.get('networks', []):
        api.db.get('network', network)
        if not api._host_has_network(host, network):
            raise XapiError('VM_REQUIRES_NET', payload['vm'], network)
    record = payload['record']
    if payload['power_state'] in ('Running', 'Paused'):
        needed = int(record['memory_dynamic_max']) + int(
            record.get('memory_overhead', 0))
        free = api.host_free_memory(host)
        if needed > free:
            raise XapiError('HOST_NOT_ENOUGH_FREE_MEMORY', needed, free)
    if payload.get('copy'):
        return ''
    for ref, existing in api.db.where('VM', uuid=payload['uuid']):
        if existing['power_state'] != 'Halted':
            raise XapiError('VM_BAD_POWER_STATE', ref, 'Halted',
                            existing['power_state'])
        if not payload.get('force'):
            raise XapiError('VM_TO_IMPORT_IS_NOT_NEWER_VERSION', ref,
                            existing['version'], record.get('version', 0))
    return ''


def receive_vm(api, payload):
    receive_check(api, payload)
    copy = payload.get('copy')
    for ref, _ in () if copy else api.db.where('VM', uuid=payload['uuid']):
        api.vm_destroy(ref)
    spec = model.SPECS['VM']
    fields = {}
    for name, value in payload['record'].items():
        if name in spec and not spec[name].derived:
            fields[name] = model.parse_value('VM', name, spec[name], value)
    vdis = payload.get('vdis', {})
    for vdi in vdis.values():
        api.db.get('VDI', vdi)
    fields['metrics'] = api.db.create('VM_metrics', {})
    # A copy is imported as new (new uuid); a move restores the VM.
    vm = api.db.create('VM', fields,
                       obj_uuid=None if copy else payload['uuid'])
    for vbd in payload['vbds']:
        vbd_fields = _parse_all('VBD', vbd)
        vbd_fields['VM'] = vm
        if vbd_fields.get('VDI', NULL_REF) != NULL_REF:
            vbd_fields['VDI'] = vdis.get(vbd_fields['VDI'], NULL_REF)
        api.db.create('VBD', vbd_fields)
    for vif in payload['vifs']:
        vif_fields = _parse_all('VIF', vif)
        vif_fields['VM'] = vm
        api.db.create('VIF', vif_fields)
    rec = api.db.get('VM', vm)
    state = payload['power_state']
    if state in ('Running', 'Paused'):
        api._boot(vm, rec, payload['host'], state == 'Paused')
    else:
        rec['power_state'] = state
    return vm


def _parse_all(cls, record):
    spec = model.SPECS[cls]
    return {name: model.parse_value(cls, name, spec[name], value)
            for name, value in record.items()
            if name in spec and not spec[name].derived}
