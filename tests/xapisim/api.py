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

"""XAPI's methods and rules, as the simulator enforces them.

One ``Api`` is one pool. Every XML-RPC call goes through ``dispatch``:
method lookup (``MESSAGE_METHOD_UNKNOWN``), parameter count
(``MESSAGE_PARAMETER_COUNT_MISMATCH``), session (``SESSION_INVALID``),
injected faults, then the method under the pool's lock. The rules (power
states, blocked operations, devices, memory, storage visibility, migration)
follow xen-api's implementation (ocaml/xapi/xapi_vm_lifecycle.ml,
xapi_vbd.ml, xapi_vif_helpers.ml, xapi_vdi.ml, xapi_vm_migrate.ml,
xapi_host.ml); each check cites the XAPI error it mirrors.
"""

import threading
import time
import uuid
from xml.sax import saxutils

from oslo_utils import timeutils

from tests.xapisim import errors
from tests.xapisim.errors import NULL_REF
from tests.xapisim.errors import XapiError
from tests.xapisim import migration
from tests.xapisim import model

MiB = 1024 * 1024
GiB = 1024 * MiB

# Power states each VM operation needs
# (Xapi_vm_lifecycle.allowed_power_states).
ALLOWED_STATES = {
    'start': ('Halted',), 'start_on': ('Halted',),
    'unpause': ('Paused',), 'resume': ('Suspended',),
    'resume_on': ('Suspended',),
    'clean_reboot': ('Running',), 'clean_shutdown': ('Running',),
    'pause': ('Running',), 'pool_migrate': ('Running',),
    'suspend': ('Running',),
    'destroy': ('Halted', 'Suspended'),
    'hard_reboot': ('Paused', 'Running'),
    'hard_shutdown': ('Paused', 'Suspended', 'Running'),
    'shutdown': ('Paused', 'Suspended', 'Running'),
    'migrate_send': ('Halted', 'Suspended', 'Running'),
    'changing_static_range': ('Halted',),
    'changing_VCPUs': ('Halted',),
    'changing_dynamic_range': ('Halted', 'Running'),
    'changing_VCPUs_live': ('Running',),
}
LIVE = ('Running', 'Paused')

#: What a guest agent with PV drivers reports (xe-guest-utilities, the
#: Windows PV tools): a driver version and every feature flag.
GUEST_AGENT = {
    'PV_drivers_version': {'major': '7', 'minor': '30', 'micro': '0',
                           'build': '0'},
    'os_version': {'distro': 'xapisim'},
    'other': {'feature-suspend': '1', 'feature-shutdown': '1',
              'feature-poweroff': '1', 'feature-reboot': '1',
              'feature-vcpu-hotplug': '1', 'has-vendor-device': '0'},
}


def _now():
    return timeutils.utcnow().strftime('%Y%m%dT%H:%M:%SZ')


def _vbd_device_name(userdevice):
    """'0' -> 'xvda', '1' -> 'xvdb', ... (names already given are kept)."""
    if not userdevice.isdigit():
        return userdevice
    n = int(userdevice)
    name = ''
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        name = chr(ord('a') + r) + name
    return 'xvd' + name


def host_address(index):
    """The management address of the pool's ``index``-th host (0: the
    master). Each host has its own loopback address, so a member's endpoint
    can listen on the master's port, and the master's address alone (all
    that XAPI's HOST_IS_SLAVE gives) leads a client back to the master.
    """
    return '127.0.0.%d' % (index + 1)


def _allowed_concurrently(op, current_ops):
    """xen-api xapi_vm_lifecycle.ml is_allowed_concurrently: a hard
    shutdown may always start unless another one runs (a migration
    included: the domain then dies under it), a hard reboot unless a hard
    shutdown or reboot runs; a clean shutdown or reboot alongside one
    migrate_send; long copies and snapshots among themselves.
    """
    current_ops = list(current_ops)
    if op == 'hard_shutdown':
        return op not in current_ops
    if op == 'hard_reboot':
        return not {'hard_shutdown', 'hard_reboot'} & set(current_ops)
    if current_ops == ['migrate_send'] and op in (
            'metadata_export', 'clean_shutdown', 'clean_reboot'):
        return True
    if current_ops == ['snapshot_with_quiesce'] and op == 'snapshot':
        return True
    for group in (('clone', 'copy', 'export'), ('snapshot', 'checkpoint'),
                  ('get_boot_record',)):
        if op in group and all(cur in group for cur in current_ops):
            return True
    return False


class Method(object):

    def __init__(self, fn, nparams, nopt=0, session=True, locked=True,
                 asyncable=True):
        self.fn = fn
        self.nparams = nparams
        self.nopt = nopt
        self.session = session
        self.locked = locked
        self.asyncable = asyncable


class Api(object):
    """One simulated pool: its database, sessions, disks and methods."""

    def __init__(self, config, faults):
        self.config = config
        self.faults = faults
        self.lock = threading.RLock()
        self._local = threading.local()
        self.db = model.Database()
        self.sessions = {}
        self.vdi_data = {}
        self.omitted_fields = set()
        self.port = None
        #: Tasks of Async calls still running.
        self.running_tasks = set()
        self.methods = {}
        self._register_generic()
        self._register()
        self._build_pool()

    # ------------------------------------------------------------------
    # pool construction

    def _build_pool(self):
        cfg = self.config
        db = self.db
        pool = db.create('pool', {'name_label': cfg.pool_name})
        network = db.create('network', {
            'name_label': 'Pool-wide network associated with eth0',
            'bridge': 'xenbr0'})
        shared = None
        if cfg.shared_sr:
            shared = db.create('SR', {
                'name_label': 'Shared storage (%s)' % cfg.pool_name,
                'type': 'lvmoiscsi', 'shared': True,
                'physical_size': cfg.sr_size_gb * GiB})
        self.host_refs = {}
        first_local = None
        for index, name in enumerate(cfg.hosts):
            metrics = db.create('host_metrics', {
                'memory_total': cfg.host_memory_mb * MiB,
                'last_updated': _now()})
            host = db.create('host', {
                'name_label': name, 'hostname': name,
                'address': host_address(index), 'metrics': metrics,
                'software_version': {
                    'product_brand': 'xapisim', 'product_version': '8.2.1',
                    'platform_version': '3.2.1', 'xapi': '1.20',
                    'xen': '4.13.5', 'hostname': name},
                'cpu_info': {
                    'cpu_count': str(cfg.host_cpus), 'socket_count': '1',
                    'vendor': 'GenuineIntel', 'speed': '2400.000',
                    'modelname': 'Simulated CPU', 'family': '6',
                    'model': '85', 'stepping': '4',
                    'flags': 'fpu vme de pse tsc msr pae mce cx8 apic sep',
                    'features': '', 'features_pv': '', 'features_hvm': ''},
                'capabilities': ['xen-3.0-x86_64', 'hvm-3.0-x86_32',
                                 'hvm-3.0-x86_64']})
            self.host_refs[name] = host
            for n in range(cfg.host_cpus):
                db.create('host_cpu', {'host': host, 'number': n})
            local = db.create('SR', {
                'name_label': 'Local storage on %s' % name, 'type': 'lvm',
                'shared': False, 'physical_size': cfg.sr_size_gb * GiB})
            first_local = first_local or local
            db.create('PBD', {'host': host, 'SR': local,
                              'device_config': {'device': '/dev/sdb'}})
            if shared:
                db.create('PBD', {'host': host, 'SR': shared,
                                  'device_config': {'target': '127.0.0.1'}})
            db.create('PIF', {
                'network': network, 'host': host, 'IP': host_address(index),
                'MAC': '02:00:00:00:%02x:%02x' % (id(self) % 256, index)})
            dom0 = db.create('VM', {
                'name_label': 'Control domain on host: %s' % name,
                'power_state': 'Running', 'is_control_domain': True,
                'resident_on': host, 'domid': 0, 'VCPUs_max': 1,
                'VCPUs_at_startup': 1, 'memory_static_max': 0,
                'memory_dynamic_max': 0, 'memory_dynamic_min': 0,
                'memory_static_min': 0, 'user_version': 1,
                'actions_after_shutdown': 'destroy',
                'actions_after_reboot': 'restart',
                'actions_after_crash': 'restart', 'domain_type': 'pv'})
            self.db.get('VM', dom0)['metrics'] = self.db.create(
                'VM_metrics', {})
            if index == 0:
                self.db.get('pool', pool)['master'] = host
        template = db.create('VM', {
            'name_label': 'Other install media', 'is_a_template': True,
            'is_default_template': True, 'user_version': 1,
            'memory_static_max': 256 * MiB, 'memory_dynamic_max': 256 * MiB,
            'memory_dynamic_min': 256 * MiB, 'memory_static_min': 256 * MiB,
            'VCPUs_max': 1, 'VCPUs_at_startup': 1,
            'actions_after_shutdown': 'destroy',
            'actions_after_reboot': 'restart',
            'actions_after_crash': 'restart',
            'HVM_boot_policy': 'BIOS order',
            'HVM_boot_params': {'order': 'dc'}})
        self.db.get('VM', template)['metrics'] = self.db.create(
            'VM_metrics', {})
        rec = db.get('pool', pool)
        rec['default_SR'] = shared or first_local
        rec['suspend_image_SR'] = rec['default_SR']
        rec['crash_dump_SR'] = rec['default_SR']
        self.pool_ref = pool
        self.network_ref = network
        self.shared_sr = shared

    @property
    def master(self):
        return self.db.get('pool', self.pool_ref)['master']

    @property
    def master_address(self):
        return self.db.get('host', self.master)['address']

    def host_url(self, host):
        """Where ``host`` answers: its own address, the pool's port."""
        return 'http://%s:%d' % (self.db.get('host', host)['address'],
                                 self.port)

    @property
    def url(self):
        """The pool master's URL (it moves with the master)."""
        with self.lock:
            return self.host_url(self.master)

    # ------------------------------------------------------------------
    # dispatch

    def add(self, name, fn, nparams, **kw):
        self.methods[name.lower()] = (name, Method(fn, nparams, **kw))

    def dispatch(self, method, params):
        """Run one call; returns the value or raises XapiError."""
        is_async = False
        name = method
        if name.startswith('Async.'):
            is_async = True
            name = name[len('Async.'):]
        entry = self.methods.get(name.lower())
        if entry is None or (is_async and not entry[1].asyncable):
            raise XapiError('MESSAGE_METHOD_UNKNOWN', method)
        name, m = entry
        params = list(params)
        given = len(params) - (1 if m.session else 0)
        if given < m.nparams or given > m.nparams + m.nopt:
            raise XapiError('MESSAGE_PARAMETER_COUNT_MISMATCH', method,
                            m.nparams, max(given, 0))
        session = None
        if m.session:
            session = params.pop(0)
            with self.lock:
                self._check_session(session)
        if is_async:
            # An Async call answers with its task at once; what the method
            # then does or fails with, injected faults included, lands in
            # the task (xen-api's Server_helpers run it in the background).
            return self._run_async(method, name, m, session, params)
        self.faults.check(method)
        return self._invoke(m, session, params)

    @property
    def _session(self):
        """The session of the call this thread is running."""
        return getattr(self._local, 'session', None)

    def _invoke(self, m, session, params):
        self._local.session = session
        if m.locked:
            with self.lock:
                return m.fn(*params)
        return m.fn(*params)

    @property
    def _task(self):
        """The task of the Async call this thread is running, if any."""
        return getattr(self._local, 'task', None)

    def _run_async(self, method, name, m, session, params):
        with self.lock:
            task = self.db.create('task', {
                'name_label': 'Async.%s' % name, 'created': _now(),
                'resident_on': self.master})
            self.running_tasks.add(task)

        def run():
            self._local.task = task
            try:
                self.faults.check(method)
                value = self._invoke(m, session, params)
            except XapiError as e:
                self._finish_task(task, 'failure', error=e.description)
            except Exception as e:  # the wire carries INTERNAL_ERROR
                self._finish_task(task, 'failure',
                                  error=['INTERNAL_ERROR', str(e)])
            else:
                self._finish_task(task, 'success', value=value)
            finally:
                with self.lock:
                    self.running_tasks.discard(task)

        threading.Thread(target=run, name='xapisim-task', daemon=True).start()
        return task

    def _finish_task(self, task, status, value=None, error=None):
        with self.lock:
            if not self.db.exists('task', task):
                return
            rec = self.db.get('task', task)
            rec['status'] = status
            rec['progress'] = 1.0
            rec['finished'] = _now()
            if error is not None:
                rec['error_info'] = [str(e) for e in error]
            elif value is not None and value != '':
                rec['result'] = '<value>%s</value>' % saxutils.escape(
                    str(value))

    # ------------------------------------------------------------------
    # sessions

    def _check_session(self, session):
        if session not in self.sessions:
            raise XapiError('SESSION_INVALID', session)

    def new_session(self, user, local_to=None):
        """A session; ``local_to``: the host of a slave-local login."""
        ref = model.new_ref()
        self.sessions[ref] = {'uuid': model.new_uuid(), 'user': user,
                              'local': local_to is not None,
                              'host': local_to, 'created': _now()}
        return ref

    def session_login(self, uname, pwd, version=None, originator=None):
        if (uname, pwd) != (self.config.username, self.config.password):
            raise XapiError('SESSION_AUTHENTICATION_FAILED', uname,
                            'Authentication failure')
        return self.new_session(uname)

    def session_local_login(self, uname, pwd):
        if (uname, pwd) != (self.config.username, self.config.password):
            raise XapiError('SESSION_AUTHENTICATION_FAILED', uname,
                            'Authentication failure')
        return self.new_session(uname, local_to=self.master)

    def session_logout(self):
        self.sessions.pop(self._session, None)
        return ''

    def expire_sessions(self):
        with self.lock:
            self.sessions.clear()

    def designate_new_master(self, host):
        """``pool.designate_new_master`` (xapi_pool.ml), and what an HA
        failover ends with: ``host`` becomes the master. xapi restarts on
        the hosts involved, and sessions and tasks are not persisted
        (``~persist:PersistNothing`` in ocaml/idl/datamodel.ml): every
        session is gone, so each client sees ``SESSION_INVALID``, and
        ``HOST_IS_SLAVE`` when it logs in again at the old master.
        """
        self.db.get('host', host)
        self.db.get('pool', self.pool_ref)['master'] = host
        self.sessions.clear()
        self.db.tables['task'].clear()
        return ''

    # ------------------------------------------------------------------
    # generic accessors

    def _register_generic(self):
        for cls, spec in model.SPECS.items():
            self._register_class(cls, spec)

    def _register_class(self, cls, spec):
        add = self.add
        add('%s.get_all' % cls, lambda: list(self.db.tables[cls]), 0)
        add('%s.get_all_records' % cls, lambda: {
            ref: self.record(cls, ref) for ref in self.db.tables[cls]}, 0)
        add('%s.get_record' % cls, lambda ref: self.record(cls, ref), 1)
        add('%s.get_by_uuid' % cls,
            lambda u: self.db.by_uuid(cls, u), 1)
        add('%s.get_uuid' % cls, lambda ref: self.db.get(cls, ref)['uuid'],
            1)
        if 'name_label' in spec:
            add('%s.get_by_name_label' % cls, lambda label: [
                ref for ref, rec in self.db.all(cls)
                if rec['name_label'] == label], 1)
        for name, field in spec.items():
            add('%s.get_%s' % (cls, name),
                self._getter(cls, name), 1)
            if not field.rw:
                continue
            add('%s.set_%s' % (cls, name), self._setter(cls, name, field), 2)
            if field.ty == model.M:
                add('%s.add_to_%s' % (cls, name),
                    self._map_add(cls, name), 3)
                add('%s.remove_from_%s' % (cls, name),
                    self._map_remove(cls, name), 2)
            if name == 'tags':
                add('%s.add_tags' % cls, self._tag_add(cls), 2)
                add('%s.remove_tags' % cls, self._tag_remove(cls), 2)

    def _getter(self, cls, name):
        def get(ref):
            return self.record(cls, ref)[name]
        return get

    def _setter(self, cls, name, field):
        def set_(ref, value):
            rec = self.db.get(cls, ref)
            rec[name] = model.parse_value(cls, name, field, value)
            return ''
        return set_

    def _map_add(self, cls, name):
        def add(ref, key, value):
            rec = self.db.get(cls, ref)
            if key in rec[name]:
                # The object's ref, not its uuid, whatever
                # datamodel_errors.ml calls the parameter: xen-api
                # db_cache_impl.ml raises Duplicate_key (table, field,
                # objref, key), which exnHelper.ml passes on as it is.
                raise XapiError('MAP_DUPLICATE_KEY', cls, name, ref, key)
            rec[name][str(key)] = str(value)
            return ''
        return add

    def _map_remove(self, cls, name):
        def remove(ref, key):
            self.db.get(cls, ref)[name].pop(key, None)
            return ''
        return remove

    def _tag_add(self, cls):
        def add(ref, tag):
            tags = self.db.get(cls, ref)['tags']
            if tag not in tags:
                tags.append(tag)
            return ''
        return add

    def _tag_remove(self, cls):
        def remove(ref, tag):
            tags = self.db.get(cls, ref)['tags']
            if tag in tags:
                tags.remove(tag)
            return ''
        return remove

    def record(self, cls, ref):
        """The wire form of one record, derived fields included."""
        rec = dict(self.db.get(cls, ref))
        derive = getattr(self, '_derive_%s' % cls, None)
        if derive:
            rec.update(derive(ref, rec))
        return model.to_wire(rec)

    def _refs(self, cls, **match):
        return [ref for ref, _ in self.db.where(cls, **match)]

    def _derive_host(self, ref, rec):
        return {'PBDs': self._refs('PBD', host=ref),
                'PIFs': self._refs('PIF', host=ref),
                'host_CPUs': self._refs('host_cpu', host=ref),
                'resident_VMs': self._refs('VM', resident_on=ref)}

    def _derive_host_metrics(self, ref, rec):
        host = [h for h, r in self.db.all('host') if r['metrics'] == ref]
        free = self.host_free_memory(host[0]) if host else 0
        return {'memory_free': free}

    def _derive_SR(self, ref, rec):
        vdis = self._refs('VDI', SR=ref)
        allocated = sum(self.db.get('VDI', v)['virtual_size'] for v in vdis)
        return {'VDIs': vdis, 'PBDs': self._refs('PBD', SR=ref),
                'virtual_allocation': allocated,
                'physical_utilisation': allocated}

    def _derive_network(self, ref, rec):
        return {'PIFs': self._refs('PIF', network=ref),
                'VIFs': self._refs('VIF', network=ref)}

    def _derive_VDI(self, ref, rec):
        return {'VBDs': self._refs('VBD', VDI=ref),
                'physical_utilisation': rec['virtual_size']}

    def _derive_VM(self, ref, rec):
        vbds = self._refs('VBD', VM=ref)
        vifs = self._refs('VIF', VM=ref)
        allowed = [op for op, states in sorted(ALLOWED_STATES.items())
                   if rec['power_state'] in states
                   and op not in rec['blocked_operations']
                   and self._feature_ok(ref, rec, op)]
        return {'VBDs': vbds, 'VIFs': vifs, 'allowed_operations': allowed}

    # ------------------------------------------------------------------
    # specific methods

    def _register(self):
        add = self.add
        add('session.login_with_password', self.session_login, 2, nopt=2,
            session=False, asyncable=False)
        add('session.slave_local_login_with_password',
            self.session_local_login, 2, session=False, asyncable=False)
        add('session.logout', self.session_logout, 0, asyncable=False)
        add('session.local_logout', self.session_logout, 0,
            asyncable=False)
        add('session.get_this_host', lambda s: self.master, 1)
        add('session.get_uuid', lambda s: self.sessions[s]['uuid'], 1)
        add('session.get_this_user', lambda s: self.sessions[s]['user'], 1)

        add('host.compute_free_memory',
            lambda h: str(self.host_free_memory(h)), 1)
        add('host.enable', lambda h: self._set('host', h, enabled=True), 1)
        add('host.disable', lambda h: self._set('host', h, enabled=False), 1)
        add('host.get_servertime', lambda h: _now(), 1)
        add('host.migrate_receive', self.host_migrate_receive, 3)
        add('pool.designate_new_master', self.designate_new_master, 1,
            asyncable=False)

        add('task.create', self.task_create, 2)
        add('task.destroy', lambda t: self._destroy('task', t), 1)
        add('task.cancel', self.task_cancel, 1)

        add('SR.scan', lambda sr: self.db.get('SR', sr) and '', 1)
        add('network.create', self.network_create, 1)
        add('network.destroy', self.network_destroy, 1)

        add('VDI.create', self.vdi_create, 1)
        add('VDI.destroy', self.vdi_destroy, 1)
        add('VDI.resize', self.vdi_resize, 2)

        add('VBD.create', self.vbd_create, 1)
        add('VBD.destroy', self.vbd_destroy, 1)
        add('VBD.plug', self.vbd_plug, 1)
        add('VBD.unplug', self.vbd_unplug, 1)
        add('VBD.unplug_force', self.vbd_unplug, 1)

        add('VIF.create', self.vif_create, 1)
        add('VIF.destroy', self.vif_destroy, 1)
        add('VIF.plug', self.vif_plug, 1)
        add('VIF.unplug', self.vif_unplug, 1)
        add('VIF.unplug_force', self.vif_unplug, 1)

        add('VM.create', self.vm_create, 1)
        add('VM.destroy', self.vm_destroy, 1)
        add('VM.start', self.vm_start, 3)
        add('VM.start_on', self.vm_start_on, 4)
        add('VM.clean_shutdown', lambda vm: self._vm_halt(
            vm, 'clean_shutdown'), 1)
        add('VM.hard_shutdown', lambda vm: self._vm_halt(
            vm, 'hard_shutdown'), 1)
        add('VM.shutdown', lambda vm: self._vm_halt(vm, 'shutdown'), 1)
        add('VM.clean_reboot', lambda vm: self._vm_reboot(
            vm, 'clean_reboot'), 1)
        add('VM.hard_reboot', lambda vm: self._vm_reboot(
            vm, 'hard_reboot'), 1)
        add('VM.pause', lambda vm: self._vm_transition(
            vm, 'pause', 'Paused'), 1)
        add('VM.unpause', lambda vm: self._vm_transition(
            vm, 'unpause', 'Running'), 1)
        add('VM.suspend', self.vm_suspend, 1)
        add('VM.resume', self.vm_resume, 3)
        add('VM.resume_on', self.vm_resume_on, 4)
        add('VM.power_state_reset', self.vm_power_state_reset, 1)
        add('VM.set_memory_static_max', lambda vm, v: self._vm_memory(
            vm, static_max=v), 2)
        add('VM.set_memory_static_min', lambda vm, v: self._vm_memory(
            vm, static_min=v), 2)
        add('VM.set_memory_dynamic_max', lambda vm, v: self._vm_memory(
            vm, dynamic_max=v), 2)
        add('VM.set_memory_dynamic_min', lambda vm, v: self._vm_memory(
            vm, dynamic_min=v), 2)
        add('VM.set_memory_static_range', lambda vm, lo, hi: self._vm_memory(
            vm, static_min=lo, static_max=hi), 3)
        add('VM.set_memory_dynamic_range',
            lambda vm, lo, hi: self._vm_memory(
                vm, dynamic_min=lo, dynamic_max=hi), 3)
        add('VM.set_memory_limits',
            lambda vm, smin, smax, dmin, dmax: self._vm_memory(
                vm, static_min=smin, static_max=smax, dynamic_min=dmin,
                dynamic_max=dmax), 5)
        add('VM.set_memory', lambda vm, v: self._vm_memory(
            vm, static_max=v, dynamic_min=v, dynamic_max=v), 2)
        add('VM.set_VCPUs_max', lambda vm, v: self._vm_vcpus(
            vm, 'max', v), 2)
        add('VM.set_VCPUs_at_startup', lambda vm, v: self._vm_vcpus(
            vm, 'at_startup', v), 2)
        add('VM.set_VCPUs_number_live', self.vm_set_vcpus_live, 2)
        add('VM.get_allowed_VBD_devices', self.vm_allowed_vbd_devices, 1)
        add('VM.get_allowed_VIF_devices', self.vm_allowed_vif_devices, 1)
        add('VM.pool_migrate', self.vm_pool_migrate, 3, locked=False)
        add('VM.assert_can_migrate', self.vm_assert_can_migrate, 6, nopt=2,
            locked=False)
        add('VM.migrate_send', self.vm_migrate_send, 6, nopt=2,
            locked=False)
        # Simulator-internal calls a source pool makes on a destination
        # pool during VM.migrate_send (real XAPI uses its own import
        # protocol there).
        add('xapisim.receive_check', self.receive_check, 1,
            asyncable=False)
        add('xapisim.receive_vm', self.receive_vm, 1, asyncable=False)

    def _set(self, cls, ref, **fields):
        self.db.get(cls, ref).update(fields)
        return ''

    def _destroy(self, cls, ref):
        self.db.destroy(cls, ref)
        return ''

    def _fill(self, cls, record, ignore=()):
        """A constructor record -> stored fields, with defaults.

        XAPI fails a constructor whose record lacks a field that has no
        default (INTERNAL_ERROR Dispatcher_FieldNotFound); with
        ``strict_create`` the simulator does the same, otherwise it uses a
        default and remembers the omission in ``omitted_fields``.
        """
        if not isinstance(record, dict):
            raise XapiError('FIELD_TYPE_ERROR', 'args')
        spec = model.SPECS[cls]
        fields = {}
        for name, field in spec.items():
            if field.derived or name in ignore:
                continue
            if name in record:
                fields[name] = model.parse_value(cls, name, field,
                                                 record[name])
            elif field.required:
                if self.config.strict_create:
                    raise errors.internal_error(
                        'Server_helpers.Dispatcher_FieldNotFound("%s")'
                        % name)
                self.omitted_fields.add('%s.%s' % (cls, name))
        return fields

    # ------------------------------------------------------------------
    # host and memory

    def host_free_memory(self, host):
        rec = self.db.get('host', host)
        total = self.db.get('host_metrics', rec['metrics'])['memory_total']
        used = 0
        for _, vm in self.db.where('VM', resident_on=host):
            if not vm['is_control_domain']:
                used += vm['memory_dynamic_max']
        for _, vm in self.db.where('VM', scheduled_to_be_resident_on=host):
            if vm['resident_on'] != host:
                used += vm['memory_dynamic_max']
        return total - used

    def _vm_vdis(self, vm):
        """(vbd_ref, vbd_rec, vdi_ref) for each non-empty VBD of the VM."""
        out = []
        for vbd, rec in self.db.where('VBD', VM=vm):
            if not rec['empty'] and rec['VDI'] != NULL_REF:
                out.append((vbd, rec, rec['VDI']))
        return out

    def _host_sees_sr(self, host, sr):
        return any(r['currently_attached']
                   for _, r in self.db.where('PBD', host=host, SR=sr))

    def _host_has_network(self, host, network):
        """A network with no PIF at all is internal and exists on every
        host; otherwise the host needs a PIF on it.
        """
        pifs = self.db.where('PIF', network=network)
        return not pifs or any(p['host'] == host for _, p in pifs)

    def assert_can_boot_here(self, vm, host, check_memory=True,
                             check_storage=True):
        """Xapi_vm_helpers.assert_can_boot_here, the parts we model."""
        rec = self.db.get('VM', vm)
        hrec = self.db.get('host', host)
        if not hrec['enabled']:
            raise XapiError('HOST_DISABLED', host)
        for _, _, vdi in self._vm_vdis(vm) if check_storage else ():
            sr = self.db.get('VDI', vdi)['SR']
            if not self._host_sees_sr(host, sr):
                raise XapiError('VM_REQUIRES_SR', vm, sr)
        for _, vif in self.db.where('VIF', VM=vm):
            if not self._host_has_network(host, vif['network']):
                raise XapiError('VM_REQUIRES_NET', vm, vif['network'])
        if check_memory:
            needed = rec['memory_dynamic_max'] + rec['memory_overhead']
            free = self.host_free_memory(host)
            if rec['resident_on'] == host:
                free += rec['memory_dynamic_max']
            if needed > free:
                raise XapiError('HOST_NOT_ENOUGH_FREE_MEMORY', needed, free)

    # ------------------------------------------------------------------
    # tasks

    def task_create(self, label, description):
        return self.db.create('task', {
            'name_label': label, 'name_description': description,
            'created': _now(), 'resident_on': self.master})

    def task_cancel(self, task):
        """xapi_task.ml: cancelling asks; an operation past the point
        where it can stop finishes anyway. The simulator's operations
        never stop: the task of a running Async call only records the
        request (``current_operations``) and ends as its operation does.
        A task nothing runs behind (``task.create``) is cancelled.
        """
        rec = self.db.get('task', task)
        if rec['status'] != 'pending':
            return ''
        if task in self.running_tasks:
            rec['current_operations'][model.new_ref()] = 'cancel'
            return ''
        rec['status'] = 'cancelled'
        rec['finished'] = _now()
        return ''

    # ------------------------------------------------------------------
    # network

    def network_create(self, record):
        fields = {}
        spec = model.SPECS['network']
        for name in ('name_label', 'name_description', 'MTU', 'other_config',
                     'tags', 'bridge'):
            if name in record:
                fields[name] = model.parse_value('network', name,
                                                 spec[name], record[name])
        ref = self.db.create('network', fields)
        rec = self.db.get('network', ref)
        if not rec['bridge']:
            rec['bridge'] = 'xapi%d' % len(self.db.tables['network'])
        return ref

    def network_destroy(self, network):
        self.db.get('network', network)
        attached = [v for v, r in self.db.where('VIF', network=network)
                    if r['currently_attached']]
        if attached:
            raise XapiError('NETWORK_CONTAINS_VIF', *attached)
        if self.db.where('PIF', network=network):
            raise XapiError('NETWORK_CONTAINS_PIF',
                            *self._refs('PIF', network=network))
        # XAPI destroys the (unplugged) VIFs on it at once.
        for vif in self._refs('VIF', network=network):
            self.db.destroy('VIF', vif)
        self.db.destroy('network', network)
        return ''

    # ------------------------------------------------------------------
    # VDI

    def vdi_create(self, record):
        fields = self._fill('VDI', record)
        sr = fields.get('SR', NULL_REF)
        srrec = self.db.get('SR', sr)
        size = fields.get('virtual_size', 0)
        if size < 0:
            raise XapiError('INVALID_VALUE', 'virtual_size', size)
        allocated = self._derive_SR(sr, srrec)['virtual_allocation']
        if allocated + size > srrec['physical_size']:
            raise XapiError('SR_BACKEND_FAILURE_44', '',
                            'There is insufficient space', '')
        ref = self.db.create('VDI', fields)
        rec = self.db.get('VDI', ref)
        rec['location'] = rec['uuid']
        self.vdi_data[ref] = bytearray()
        return ref

    def _vdi_attached(self, vdi):
        return [(vbd, rec) for vbd, rec in self.db.where('VBD', VDI=vdi)
                if rec['currently_attached']]

    def vdi_destroy(self, vdi):
        self.db.get('VDI', vdi)
        if self._vdi_attached(vdi):
            raise XapiError('VDI_IN_USE', vdi, 'destroy')
        # XAPI destroys the (unplugged) VBDs of a destroyed VDI at once.
        for vbd, _ in self.db.where('VBD', VDI=vdi):
            self.db.destroy('VBD', vbd)
        self.db.destroy('VDI', vdi)
        self.vdi_data.pop(vdi, None)
        return ''

    def vdi_resize(self, vdi, size):
        rec = self.db.get('VDI', vdi)
        size = model.parse_value('VDI', 'virtual_size',
                                 model.SPECS['VDI']['virtual_size'], size)
        if size < rec['virtual_size']:
            raise XapiError('VDI_TOO_SMALL', vdi, rec['virtual_size'])
        srrec = self.db.get('SR', rec['SR'])
        allocated = self._derive_SR(rec['SR'], srrec)['virtual_allocation']
        if allocated - rec['virtual_size'] + size > srrec['physical_size']:
            raise XapiError('SR_BACKEND_FAILURE_44', '',
                            'There is insufficient space', '')
        rec['virtual_size'] = size
        return ''

    def write_vdi(self, vdi, data, offset=0):
        """Write guest data into a VDI (caller holds the lock)."""
        rec = self.db.get('VDI', vdi)
        end = offset + len(data)
        if offset < 0 or end > rec['virtual_size']:
            raise XapiError('VDI_TOO_SMALL', vdi, end)
        buf = self.vdi_data.setdefault(vdi, bytearray())
        if len(buf) < end:
            buf.extend(b'\0' * (end - len(buf)))
        buf[offset:end] = data

    # ------------------------------------------------------------------
    # VBD

    def vbd_create(self, record):
        fields = self._fill('VBD', record)
        vm = fields.get('VM', NULL_REF)
        vmrec = self.db.get('VM', vm)
        vdi = fields.get('VDI', NULL_REF)
        empty = fields.get('empty', False)
        vbd_type = fields.get('type', 'Disk')
        mode = fields.get('mode', 'RW')
        if not empty:
            vdirec = self.db.get('VDI', vdi)
            if vdirec['type'] not in ('system', 'user', 'ephemeral',
                                      'suspend', 'crashdump', 'metadata',
                                      'rrd', 'pvs_cache'):
                raise XapiError('VDI_INCOMPATIBLE_TYPE', vdi,
                                vdirec['type'])
        if vbd_type == 'CD' and mode != 'RO':
            raise XapiError('VBD_CDS_MUST_BE_READONLY')
        if vbd_type != 'CD' and empty:
            raise XapiError('VBD_NOT_REMOVABLE_MEDIA', 'in constructor')
        if not empty and mode == 'RW' and self.db.get(
                'VDI', vdi)['read_only']:
            raise XapiError('VDI_READONLY', vdi)
        if any(op in ('migrate_send', 'pool_migrate')
               for op in vmrec['current_operations'].values()):
            op_ref, op = next(iter(vmrec['current_operations'].items()))
            raise XapiError('OTHER_OPERATION_IN_PROGRESS', 'VM', vm, op,
                            op_ref)
        userdevice = fields.get('userdevice', 'autodetect')
        used = {r['userdevice'] for _, r in self.db.where('VBD', VM=vm)}
        if userdevice == 'autodetect':
            free = [str(n) for n in range(255) if str(n) not in used]
            if not free:
                raise XapiError('INVALID_DEVICE', userdevice)
            userdevice = free[0]
        elif not (userdevice.isdigit() and int(userdevice) <= 254):
            raise XapiError('INVALID_DEVICE', userdevice)
        userdevice = str(int(userdevice))
        if userdevice in used:
            raise XapiError('DEVICE_ALREADY_EXISTS', userdevice)
        fields['userdevice'] = userdevice
        fields['device'] = fields.get('device', '')
        if vmrec['power_state'] != 'Suspended':
            fields['device'] = ''
        fields['currently_attached'] = False
        if empty:
            fields['VDI'] = NULL_REF
        return self.db.create('VBD', fields)

    def vbd_destroy(self, vbd):
        rec = self.db.get('VBD', vbd)
        if rec['currently_attached']:
            raise XapiError(
                'OPERATION_NOT_ALLOWED', "VBD '%s' still attached to '%s'"
                % (rec['uuid'], self.db.get('VM', rec['VM'])['uuid']))
        self.db.destroy('VBD', vbd)
        return ''

    def _assert_vdi_free(self, vbd, rec):
        """XAPI's attach check: a non-sharable VDI may be attached by one
        VBD if any writes (Xapi_vbd_helpers, VDI_IN_USE [vdi]).
        """
        if rec['empty']:
            return
        vdi = rec['VDI']
        vdirec = self.db.get('VDI', vdi)
        if vdirec['sharable']:
            return
        # VBDs of suspended VMs are "really offline" for this check.
        others = [r for v, r in self._vdi_attached(vdi) if v != vbd
                  and not self.db.get('VM', r['VM'])['is_control_domain']
                  and self.db.get('VM', r['VM'])['power_state']
                  != 'Suspended']
        if any(r['mode'] == 'RW' for r in others) or (
                rec['mode'] == 'RW' and others):
            raise XapiError('VDI_IN_USE', vdi)

    def vbd_plug(self, vbd):
        rec = self.db.get('VBD', vbd)
        vm = self.db.get('VM', rec['VM'])
        if vm['power_state'] not in LIVE:
            raise errors.bad_power_state(rec['VM'], ['Running', 'Paused'],
                                         vm['power_state'])
        if rec['currently_attached']:
            raise XapiError('DEVICE_ALREADY_ATTACHED', vbd)
        self._assert_vdi_free(vbd, rec)
        rec['currently_attached'] = True
        rec['device'] = _vbd_device_name(rec['userdevice'])
        return ''

    def vbd_unplug(self, vbd):
        rec = self.db.get('VBD', vbd)
        if not rec['currently_attached']:
            raise XapiError('DEVICE_ALREADY_DETACHED', vbd)
        rec['currently_attached'] = False
        return ''

    # ------------------------------------------------------------------
    # VIF

    def _mac_for(self, vm, device):
        seed = self.db.get('VM', vm)['other_config'].get('mac_seed', '')
        digest = uuid.uuid5(uuid.NAMESPACE_OID,
                            '%s/%s' % (seed, device)).bytes
        return ':'.join('%02x' % b for b in
                        (0x02 | (digest[0] & 0xfc),) + tuple(digest[1:6]))

    def vif_create(self, record):
        fields = self._fill('VIF', record)
        vm = fields.get('VM', NULL_REF)
        vmrec = self.db.get('VM', vm)
        self.db.get('network', fields.get('network', NULL_REF))
        device = fields.get('device', '')
        if not device.isdigit():
            raise XapiError('INVALID_DEVICE', device)
        mac = fields.get('MAC', '')
        if mac == '' and 'mac_seed' in vmrec['other_config']:
            mac = self._mac_for(vm, device)
            fields['MAC_autogenerated'] = True
        parts = mac.split(':')
        if len(parts) != 6 or not all(
                len(p) == 2 and all(c in '0123456789abcdefABCDEF' for c in p)
                for p in parts):
            raise XapiError('MAC_INVALID', mac)
        fields['MAC'] = mac
        if any(int(r['device']) == int(device)
               for _, r in self.db.where('VIF', VM=vm)):
            raise XapiError('DEVICE_ALREADY_EXISTS', device)
        fields['currently_attached'] = False
        return self.db.create('VIF', fields)

    def vif_destroy(self, vif):
        rec = self.db.get('VIF', vif)
        vm = self.db.get('VM', rec['VM'])
        if vm['power_state'] in LIVE and rec['currently_attached']:
            raise XapiError('OPERATION_NOT_ALLOWED',
                            'VIF currently attached to a running VM')
        self.db.destroy('VIF', vif)
        return ''

    def vif_plug(self, vif):
        rec = self.db.get('VIF', vif)
        vm = self.db.get('VM', rec['VM'])
        if vm['power_state'] not in LIVE:
            raise errors.bad_power_state(rec['VM'], ['Running', 'Paused'],
                                         vm['power_state'])
        if rec['currently_attached']:
            raise XapiError('DEVICE_ALREADY_ATTACHED', vif)
        rec['currently_attached'] = True
        return ''

    def vif_unplug(self, vif):
        rec = self.db.get('VIF', vif)
        if not rec['currently_attached']:
            raise XapiError('DEVICE_ALREADY_DETACHED', vif)
        rec['currently_attached'] = False
        return ''

    # ------------------------------------------------------------------
    # VM lifecycle

    def vm_create(self, record):
        fields = self._fill('VM', record, ignore=model.VM_CREATE_IGNORED)
        fields.pop('power_state', None)
        other = fields.setdefault('other_config', {})
        # Xapi_vm.create adds a MAC seed unless one is given.
        other.setdefault('mac_seed', model.new_uuid())
        fields['metrics'] = self.db.create('VM_metrics', {
            'memory_actual': fields.get('memory_dynamic_max', 0),
            'VCPUs_number': fields.get('VCPUs_at_startup', 0)})
        return self.db.create('VM', fields)

    def _check_op(self, vm, op, strict=True, features=True):
        """Blocked operations first, then the power state (XAPI's order),
        then what the guest supports (``strict``: see
        ``_check_op_for_feature``).
        """
        rec = self.db.get('VM', vm)
        if op in rec['blocked_operations']:
            raise XapiError('OPERATION_BLOCKED', vm,
                            rec['blocked_operations'][op])
        states = ALLOWED_STATES[op]
        if rec['power_state'] not in states:
            raise errors.bad_power_state(vm, list(states),
                                         rec['power_state'])
        current = rec['current_operations']
        if current and not _allowed_concurrently(op, current.values()):
            # xapi_vm_lifecycle.ml report_concurrent_operations_error
            if len(current) == 1:
                op_ref, cur = next(iter(current.items()))
            else:
                op_ref = '{%s}' % ','.join(current)
                cur = '{%s}' % ','.join(current.values())
            raise XapiError('OTHER_OPERATION_IN_PROGRESS', 'VM', vm, cur,
                            op_ref)
        if rec['is_a_template'] and not rec['is_a_snapshot']:
            # Xapi_vm_lifecycle.check_template: a template may only be
            # destroyed or migrated, and a default template not even that.
            default = rec['is_default_template'] or rec['other_config'].get(
                'default_template') in ('true', '1')
            if op not in ('destroy', 'migrate_send') or default:
                raise XapiError('VM_IS_TEMPLATE', vm, op)
        if rec['is_control_domain']:
            raise XapiError('OPERATION_NOT_ALLOWED',
                            'This operation is not allowed on dom0')
        if features:
            self._check_op_for_feature(vm, rec, op, strict)
        return rec

    def _check_op_for_feature(self, vm, rec, op, strict):
        """xapi_vm_lifecycle.ml check_op_for_feature: what a running HVM
        guest without PV drivers cannot do. ``strict`` is XAPI's: True
        for everything but ``VM.pool_migrate`` with ``force``
        (message_forwarding.ml passes ``~strict:(not force)`` there).
        """
        live = rec['power_state'] in LIVE
        gm = (self.db.get('VM_guest_metrics', rec['guest_metrics'])
              if self.db.exists('VM_guest_metrics', rec['guest_metrics'])
              else None)
        metrics = (self.db.get('VM_metrics', rec['metrics'])
                   if self.db.exists('VM_metrics', rec['metrics']) else {})
        booted_pv = metrics.get('current_domain_type') in (
            'pv', 'pv_in_pvh', 'pvh')
        # xapi_pv_driver_version.ml: drivers are there when the guest
        # agent reported a numeric major and minor version.
        version = gm['PV_drivers_version'] if gm else {}
        has_drivers = all(version.get(k, '').isdigit()
                          for k in ('major', 'minor'))
        implicit = not live or booted_pv or has_drivers
        other = gm['other'] if gm else {}

        def lacks(feature):
            return other.get(feature) != '1'

        if op in ('suspend', 'checkpoint', 'pool_migrate',
                  'migrate_send') and live:
            if 'data-cant-suspend-reason' in other:
                raise XapiError('VM_NON_SUSPENDABLE', vm,
                                other['data-cant-suspend-reason'])
            if not implicit and strict and lacks('feature-suspend'):
                raise XapiError('VM_LACKS_FEATURE', vm)
            return
        if implicit:
            return
        if op == 'clean_shutdown' and strict and lacks(
                'feature-shutdown') and lacks('feature-poweroff'):
            raise XapiError('VM_LACKS_FEATURE', vm)
        if op == 'clean_reboot' and strict and lacks(
                'feature-shutdown') and lacks('feature-reboot'):
            raise XapiError('VM_LACKS_FEATURE', vm)
        if op == 'changing_VCPUs_live' and lacks('feature-vcpu-hotplug'):
            raise XapiError('VM_LACKS_FEATURE', vm)

    def _feature_ok(self, vm, rec, op):
        """For allowed_operations, computed strict (xapi_vm_lifecycle.ml
        update_allowed_operations).
        """
        try:
            self._check_op_for_feature(vm, rec, op, True)
        except XapiError:
            return False
        return True

    def _report_guest_agent(self, vm, rec):
        """After a boot: the guest agent's report, if the guest has one
        (``Simulator(guest_agent=...)``, ``sim.set_guest_agent``). XAPI
        drops a VM's guest metrics when it starts (xapi_vm.ml) and the
        agent in the guest writes them again.
        """
        self._drop_guest_metrics(rec)
        agent = self.config.guest_agent
        if callable(agent):
            agent = agent(rec)
        if agent:
            self.set_guest_metrics(vm, GUEST_AGENT)

    def set_guest_metrics(self, vm, report):
        """Guest metrics as an agent reports them: ``report`` has
        ``PV_drivers_version`` and ``other`` (features); None: no agent.
        """
        rec = self.db.get('VM', vm)
        self._drop_guest_metrics(rec)
        if report is not None:
            rec['guest_metrics'] = self.db.create('VM_guest_metrics', {
                'PV_drivers_version': dict(report.get(
                    'PV_drivers_version', {})),
                'PV_drivers_detected': bool(report.get(
                    'PV_drivers_version')),
                'other': dict(report.get('other', {})),
                'os_version': dict(report.get('os_version', {})),
                'last_updated': _now(), 'live': True})

    def _drop_guest_metrics(self, rec):
        if self.db.exists('VM_guest_metrics', rec['guest_metrics']):
            self.db.destroy('VM_guest_metrics', rec['guest_metrics'])
        rec['guest_metrics'] = NULL_REF

    def vm_destroy(self, vm):
        rec = self._check_op(vm, 'destroy')
        for vbd, _ in self.db.where('VBD', VM=vm):
            self.db.destroy('VBD', vbd)
        for vif, _ in self.db.where('VIF', VM=vm):
            self.db.destroy('VIF', vif)
        if self.db.exists('VM_metrics', rec['metrics']):
            self.db.destroy('VM_metrics', rec['metrics'])
        self._drop_guest_metrics(rec)
        self.db.destroy('VM', vm)
        return ''

    def _validate_for_boot(self, vm, rec):
        smin, dmin = rec['memory_static_min'], rec['memory_dynamic_min']
        dmax, smax = rec['memory_dynamic_max'], rec['memory_static_max']
        if not (0 <= smin <= dmin <= dmax <= smax):
            raise XapiError('MEMORY_CONSTRAINT_VIOLATION',
                            'Memory limits must satisfy: static_min <= '
                            'dynamic_min <= dynamic_max <= static_max')
        if rec['VCPUs_at_startup'] < 1:
            raise XapiError('VM_NO_VCPUS', vm)
        if rec['VCPUs_at_startup'] > rec['VCPUs_max']:
            raise XapiError('INVALID_VALUE', 'VCPUs_at_startup',
                            rec['VCPUs_at_startup'])
        for vif, vrec in self.db.where('VIF', VM=vm):
            if int(vrec['device']) > 15:
                raise XapiError('INVALID_DEVICE', vrec['device'])
        for vbd, vbdrec, _ in self._vm_vdis(vm):
            if vbdrec['mode'] == 'RW' and self.db.get(
                    'VDI', vbdrec['VDI'])['read_only']:
                raise XapiError('VDI_READONLY', vbdrec['VDI'])

    def _choose_host(self, vm, rec):
        hosts = [h for h, _ in self.db.all('host')]
        if rec['affinity'] in hosts:
            hosts.remove(rec['affinity'])
            hosts.insert(0, rec['affinity'])
        first_error = None
        for host in hosts:
            try:
                self.assert_can_boot_here(vm, host)
                return host
            except XapiError as e:
                first_error = first_error or e
        raise first_error

    def _boot(self, vm, rec, host, paused):
        for vbd, vbdrec, _ in self._vm_vdis(vm):
            self._assert_vdi_free(vbd, vbdrec)
        rec['power_state'] = 'Paused' if paused else 'Running'
        rec['resident_on'] = host
        rec['scheduled_to_be_resident_on'] = NULL_REF
        rec['domid'] = self._next_domid()
        if rec['domain_type'] == 'unspecified':
            rec['domain_type'] = ('hvm' if rec['HVM_boot_policy'] else 'pv')
        for vbd, vbdrec in self.db.where('VBD', VM=vm):
            vbdrec['currently_attached'] = True
            vbdrec['device'] = _vbd_device_name(vbdrec['userdevice'])
        for vif, vifrec in self.db.where('VIF', VM=vm):
            vifrec['currently_attached'] = True
        self._update_metrics(rec)
        self._report_guest_agent(vm, rec)

    def _update_metrics(self, rec):
        if self.db.exists('VM_metrics', rec['metrics']):
            m = self.db.get('VM_metrics', rec['metrics'])
            live = rec['power_state'] in LIVE
            m['memory_actual'] = rec['memory_dynamic_max'] if live else 0
            m['VCPUs_number'] = rec['VCPUs_at_startup'] if live else 0
            m['start_time'] = _now() if live else m['start_time']
            m['current_domain_type'] = (rec['domain_type'] if live
                                        else 'unspecified')

    def _next_domid(self):
        used = {r['domid'] for _, r in self.db.all('VM')}
        n = 1
        while n in used:
            n += 1
        return n

    def _unboot(self, vm, rec, state='Halted'):
        rec['power_state'] = state
        rec['resident_on'] = NULL_REF
        rec['domid'] = -1
        # "Disks remain in-use while the VM is suspended" (datamodel).
        attached = state == 'Suspended'
        for vbd, vbdrec in self.db.where('VBD', VM=vm):
            vbdrec['currently_attached'] = attached
        for vif, vifrec in self.db.where('VIF', VM=vm):
            vifrec['currently_attached'] = False
        self._update_metrics(rec)

    def vm_start(self, vm, start_paused, force):
        rec = self._check_op(vm, 'start')
        self._validate_for_boot(vm, rec)
        host = self._choose_host(vm, rec)
        self._boot(vm, rec, host, model.parse_value(
            'VM', 'start_paused', model.f(model.B), start_paused))
        return ''

    def vm_start_on(self, vm, host, start_paused, force):
        rec = self._check_op(vm, 'start_on')
        self.db.get('host', host)
        self._validate_for_boot(vm, rec)
        self.assert_can_boot_here(vm, host)
        self._boot(vm, rec, host, model.parse_value(
            'VM', 'start_paused', model.f(model.B), start_paused))
        return ''

    def _vm_halt(self, vm, op):
        rec = self._check_op(vm, op)
        self._unboot(vm, rec)
        return ''

    def _vm_reboot(self, vm, op):
        rec = self._check_op(vm, op)
        rec['power_state'] = 'Running'
        rec['domid'] = self._next_domid()
        self._update_metrics(rec)
        return ''

    def _vm_transition(self, vm, op, state):
        rec = self._check_op(vm, op)
        rec['power_state'] = state
        return ''

    def vm_suspend(self, vm):
        rec = self._check_op(vm, 'suspend')
        self._unboot(vm, rec, state='Suspended')
        return ''

    def vm_resume(self, vm, start_paused, force):
        rec = self._check_op(vm, 'resume')
        host = self._choose_host(vm, rec)
        self._boot(vm, rec, host, bool(start_paused))
        return ''

    def vm_resume_on(self, vm, host, start_paused, force):
        rec = self._check_op(vm, 'resume_on')
        self.assert_can_boot_here(vm, host)
        self._boot(vm, rec, host, bool(start_paused))
        return ''

    def vm_power_state_reset(self, vm):
        rec = self.db.get('VM', vm)
        self._unboot(vm, rec)
        return ''

    def _vm_memory(self, vm, **values):
        rec = self.db.get('VM', vm)
        static = {'static_min', 'static_max'} & set(values)
        op = 'changing_static_range' if static else 'changing_dynamic_range'
        states = ALLOWED_STATES[op]
        if rec['power_state'] not in states:
            raise errors.bad_power_state(vm, list(states),
                                         rec['power_state'])
        spec = model.SPECS['VM']
        new = {}
        for key, value in values.items():
            name = 'memory_' + key
            new[name] = model.parse_value('VM', name, spec[name], value)
        merged = dict(rec)
        merged.update(new)
        if not (0 <= merged['memory_static_min'] <= merged[
                'memory_dynamic_min'] <= merged['memory_dynamic_max'] <=
                merged['memory_static_max']):
            raise XapiError('MEMORY_CONSTRAINT_VIOLATION',
                            'Memory limits must satisfy: static_min <= '
                            'dynamic_min <= dynamic_max <= static_max')
        if rec['power_state'] in LIVE and rec['resident_on'] != NULL_REF:
            grow = merged['memory_dynamic_max'] - rec['memory_dynamic_max']
            free = self.host_free_memory(rec['resident_on'])
            if grow > free:
                raise XapiError('HOST_NOT_ENOUGH_FREE_MEMORY', grow, free)
        rec.update(new)
        self._update_metrics(rec) if rec['power_state'] in LIVE else None
        return ''

    def _vm_vcpus(self, vm, which, value):
        rec = self.db.get('VM', vm)
        if rec['power_state'] != 'Halted':
            raise errors.bad_power_state(vm, ['Halted'], rec['power_state'])
        name = 'VCPUs_' + which
        rec[name] = model.parse_value('VM', name, model.SPECS['VM'][name],
                                      value)
        return ''

    def vm_set_vcpus_live(self, vm, value):
        rec = self.db.get('VM', vm)
        if rec['power_state'] != 'Running':
            raise errors.bad_power_state(vm, ['Running'], rec['power_state'])
        n = model.parse_value('VM', 'VCPUs_at_startup',
                              model.SPECS['VM']['VCPUs_at_startup'], value)
        if not 0 < n <= rec['VCPUs_max']:
            raise XapiError('INVALID_VALUE', 'VCPU', n)
        rec['VCPUs_at_startup'] = n
        self._update_metrics(rec)
        return ''

    def vm_allowed_vbd_devices(self, vm):
        used = {r['userdevice'] for _, r in self.db.where('VBD', VM=vm)}
        return [str(n) for n in range(255) if str(n) not in used]

    def vm_allowed_vif_devices(self, vm):
        used = {r['device'] for _, r in self.db.where('VIF', VM=vm)}
        return [str(n) for n in range(16) if str(n) not in used]

    # ------------------------------------------------------------------
    # migration within the pool

    def vm_pool_migrate(self, vm, host, options):
        """Called without the lock: the move takes
        ``Simulator.migration_seconds``, during which the VM stays on its
        host with the operation in ``current_operations`` (XAPI's
        with_vm_operation, xapi_vm_helpers.ml), as a live migration does.
        """
        options = options if isinstance(options, dict) else {}
        force = str(options.get('force', 'false')).lower() == 'true'
        with self.lock:
            rec = self._check_op(vm, 'pool_migrate', strict=not force)
            self.db.get('host', host)
            self.assert_can_boot_here(vm, host)
            op_ref = self._task or model.new_ref()
            rec['current_operations'][op_ref] = 'pool_migrate'
        try:
            self.migration_pause()
            with self.lock:
                rec = self.db.get('VM', vm)
                if rec['power_state'] not in ('Running', 'Paused'):
                    # Shut down hard meanwhile: the domain being sent is
                    # gone, the migration fails.
                    raise errors.bad_power_state(vm, ['running'],
                                                 rec['power_state'])
                self.assert_can_boot_here(vm, host)
                rec['resident_on'] = host
                rec['domid'] = self._next_domid()
        finally:
            with self.lock:
                if self.db.exists('VM', vm):
                    self.db.get('VM', vm)['current_operations'].pop(
                        op_ref, None)
        return ''

    def migration_pause(self):
        """How long a live migration takes (outside the lock)."""
        seconds = getattr(self.config, 'migration_seconds', 0)
        if seconds:
            time.sleep(seconds)

    # ------------------------------------------------------------------
    # migration between pools (see migration.py for the sending side)

    def host_migrate_receive(self, host, network, options):
        self.db.get('host', host)
        self.db.get('network', network)
        pifs = self.db.where('PIF', host=host, network=network)
        if not pifs:
            raise XapiError('HOST_CANNOT_ATTACH_NETWORK', host, network)
        session = self.new_session(self.sessions[self._session]['user'])
        base = self.url
        return {
            'SM': '%s/services/SM?session_id=%s' % (base, session),
            'host': host,
            'xenops': '%s/services/xenops?session_id=%s' % (base, session),
            'session_id': session,
            'master': '%s/' % base,
        }

    def vm_assert_can_migrate(self, vm, dest, live, vdi_map, vif_map,
                              options, vgpu_map=None, vdi_format_map=None):
        migration.assert_can_migrate(self, vm, dest, vdi_map, vif_map,
                                     options)
        return ''

    def vm_migrate_send(self, vm, dest, live, vdi_map, vif_map, options,
                        vgpu_map=None, vdi_format_map=None):
        return migration.migrate_send(self, vm, dest, vdi_map, vif_map,
                                      options)

    def receive_check(self, payload):
        return migration.receive_check(self, payload)

    def receive_vm(self, payload):
        return migration.receive_vm(self, payload)


class HostApi(object):
    """What one host of the pool answers on its own address.

    The master answers everything. A member (session_check.ml, xen-api's
    ``Session_check.check``) refuses a session made by a password login
    (a "non-pool" session, every session a client can make) with
    ``HOST_IS_SLAVE [master address]``: it does not forward the call. A
    session it does not know is ``SESSION_INVALID``. A password login at a
    member is ``HOST_IS_SLAVE`` too (xapi_session.ml); only
    ``slave_local_login_with_password`` makes a session there, good at that
    host only (the simulator answers its calls from the pool's database).
    Which host is the master is read at each call, so a master change
    (``pool.designate_new_master``) turns the old master into a member.
    """

    def __init__(self, master_api, host):
        self._master_api = master_api
        self.host = host

    def dispatch(self, method, params):
        api = self._master_api
        name = method.lower().replace('async.', '', 1)
        entry = api.methods.get(name)
        with_session = bool(entry is not None and entry[1].session and
                            params)
        with api.lock:
            is_master = api.master == self.host
            session = api.sessions.get(params[0]) if with_session else None
        if is_master:
            if session is not None and session['host'] not in (
                    None, self.host):
                # A member's local session is in that member's memory only.
                raise XapiError('SESSION_INVALID', params[0])
            return api.dispatch(method, params)
        if name == 'session.login_with_password':
            api.faults.check(method + '@member')
            with api.lock:
                raise XapiError('HOST_IS_SLAVE', api.master_address)
        if name == 'session.slave_local_login_with_password':
            ref = api.dispatch(method, params)
            with api.lock:
                api.sessions[ref]['host'] = self.host
            return ref
        if with_session:
            if session is None:
                raise XapiError('SESSION_INVALID', params[0])
            if session['host'] != self.host:
                with api.lock:
                    raise XapiError('HOST_IS_SLAVE', api.master_address)
        return api.dispatch(method, params)

    def __getattr__(self, name):
        return getattr(self._master_api, name)
