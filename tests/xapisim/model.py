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

"""The simulated XAPI database: classes, fields, records and their wire form.

Field names, types, defaults and which fields a constructor requires follow
xen-api's datamodel (ocaml/idl/datamodel*.ml), restricted to what a compute
driver uses. Integers travel as XML-RPC strings, as XAPI sends every Int64;
both strings and integers are accepted on input, as XAPI does.
"""

import copy

from oslo_utils import uuidutils

from tests.xapisim import errors
from tests.xapisim.errors import NULL_REF
from tests.xapisim.errors import XapiError

S, I, B, FL, M, R, L, E, D = ('str', 'int', 'bool', 'float', 'map', 'ref',
                              'list', 'enum', 'datetime')


class Field(object):

    def __init__(self, ty, default=None, required=False, rw=False,
                 derived=False, enum=None):
        self.ty = ty
        self.default = default
        self.required = required
        self.rw = rw
        self.derived = derived
        self.enum = enum


def f(ty, default=None, **kw):
    if default is None:
        default = {S: '', I: 0, B: False, FL: 0.0, M: {}, R: NULL_REF,
                   L: [], E: '', D: '19700101T00:00:00Z'}[ty]
    return Field(ty, default, **kw)


def req(ty, default=None, **kw):
    """A field a constructor record must carry (no default in XAPI); the
    default here is only used when ``strict_create`` is off.
    """
    return f(ty, default, required=True, rw=kw.pop('rw', True), **kw)


def derived(ty):
    return Field(ty, None, derived=True)


POWER_STATES = ('Halted', 'Paused', 'Running', 'Suspended')

SPECS = {
    'pool': {
        'name_label': f(S, rw=True), 'name_description': f(S, rw=True),
        'master': f(R), 'default_SR': f(R, rw=True),
        'suspend_image_SR': f(R, rw=True), 'crash_dump_SR': f(R, rw=True),
        'other_config': f(M, rw=True), 'ha_enabled': f(B),
        'tags': f(L, rw=True), 'restrictions': f(M), 'cpu_info': f(M),
    },
    'host': {
        'name_label': f(S, rw=True), 'name_description': f(S, rw=True),
        'address': f(S), 'hostname': f(S), 'enabled': f(B, True),
        'API_version_major': f(I, 2), 'API_version_minor': f(I, 20),
        'API_version_vendor': f(S, 'XenSource'),
        'software_version': f(M), 'other_config': f(M, rw=True),
        'capabilities': f(L), 'cpu_configuration': f(M), 'cpu_info': f(M),
        'memory_overhead': f(I), 'metrics': f(R),
        'PBDs': derived(L), 'PIFs': derived(L), 'host_CPUs': derived(L),
        'resident_VMs': derived(L), 'suspend_image_sr': f(R, rw=True),
        'crash_dump_sr': f(R, rw=True), 'local_cache_sr': f(R),
        'tags': f(L, rw=True), 'sched_policy': f(S, 'credit'),
        'edition': f(S, 'xcp-ng'), 'license_params': f(M),
        'bios_strings': f(M), 'allowed_operations': f(L),
        'current_operations': f(M),
    },
    'host_metrics': {
        'memory_total': f(I), 'memory_free': derived(I), 'live': f(B, True),
        'last_updated': f(D), 'other_config': f(M, rw=True),
    },
    'host_cpu': {
        'host': f(R), 'number': f(I), 'vendor': f(S, 'GenuineIntel'),
        'speed': f(I, 2400), 'modelname': f(S, 'Simulated CPU'),
        'family': f(I, 6), 'model': f(I, 85), 'stepping': f(S, '4'),
        'flags': f(S, 'fpu vme de pse tsc msr pae mce cx8 apic sep'),
        'features': f(S), 'utilisation': f(FL), 'other_config': f(M),
    },
    'SR': {
        'name_label': f(S, rw=True), 'name_description': f(S, rw=True),
        'allowed_operations': f(L), 'current_operations': f(M),
        'VDIs': derived(L), 'PBDs': derived(L),
        'virtual_allocation': derived(I), 'physical_utilisation': derived(I),
        'physical_size': f(I), 'type': f(S), 'content_type': f(S, 'user'),
        'shared': f(B, rw=True), 'other_config': f(M, rw=True),
        'tags': f(L, rw=True), 'sm_config': f(M, rw=True), 'blobs': f(M),
        'local_cache_enabled': f(B), 'clustered': f(B),
        'is_tools_sr': f(B),
    },
    'PBD': {
        'host': f(R), 'SR': f(R), 'device_config': f(M),
        'currently_attached': f(B, True), 'other_config': f(M, rw=True),
    },
    'network': {
        'name_label': f(S, rw=True), 'name_description': f(S, rw=True),
        'MTU': f(I, 1500, rw=True), 'bridge': f(S), 'managed': f(B, True),
        'other_config': f(M, rw=True), 'tags': f(L, rw=True),
        'PIFs': derived(L), 'VIFs': derived(L), 'allowed_operations': f(L),
        'current_operations': f(M), 'blobs': f(M),
        'default_locking_mode': f(S, 'unlocked'), 'purpose': f(L),
    },
    'PIF': {
        'device': f(S, 'eth0'), 'network': f(R), 'host': f(R), 'MAC': f(S),
        'MTU': f(I, 1500), 'VLAN': f(I, -1), 'currently_attached': f(B, True),
        'ip_configuration_mode': f(S, 'Static'), 'IP': f(S),
        'netmask': f(S, '255.0.0.0'), 'gateway': f(S), 'DNS': f(S),
        'management': f(B, True), 'physical': f(B, True),
        'other_config': f(M, rw=True), 'primary_address_type': f(S, 'IPv4'),
    },
    'VDI': {
        'name_label': req(S), 'name_description': req(S),
        'SR': req(R, rw=False), 'VBDs': derived(L), 'crash_dumps': f(L),
        'virtual_size': req(I, rw=False), 'physical_utilisation': derived(I),
        'type': req(E, 'user', rw=False, enum=(
            'system', 'user', 'ephemeral', 'suspend', 'crashdump',
            'ha_statefile',
            'metadata', 'redo_log', 'rrd', 'pvs_cache', 'cbt_metadata')),
        'sharable': req(B), 'read_only': req(B), 'other_config': req(M),
        'storage_lock': f(B), 'location': f(S), 'managed': f(B, True),
        'missing': f(B), 'parent': f(R), 'xenstore_data': req(M),
        'sm_config': req(M), 'is_a_snapshot': f(B), 'snapshot_of': f(R),
        'snapshots': f(L), 'snapshot_time': f(D), 'tags': f(L, rw=True),
        'allow_caching': f(B, rw=True), 'on_boot': f(S, 'persist', rw=True),
        'metadata_of_pool': f(R), 'metadata_latest': f(B),
        'is_tools_iso': f(B), 'cbt_enabled': f(B),
        'allowed_operations': f(L), 'current_operations': f(M),
    },
    'VBD': {
        'VM': req(R, rw=False), 'VDI': req(R, rw=False), 'device': f(S),
        'userdevice': req(S), 'bootable': req(B),
        'mode': req(E, 'RW', enum=('RO', 'RW')),
        'type': req(E, 'Disk', enum=('CD', 'Disk', 'Floppy')),
        'unpluggable': f(B, True, rw=True), 'storage_lock': f(B),
        'empty': req(B, rw=False), 'other_config': req(M),
        'currently_attached': f(B), 'status_code': f(I),
        'status_detail': f(S), 'runtime_properties': f(M),
        'qos_algorithm_type': req(S), 'qos_algorithm_params': req(M),
        'qos_supported_algorithms': f(L), 'metrics': f(R),
        'allowed_operations': f(L), 'current_operations': f(M),
    },
    'VIF': {
        'device': req(S, rw=False), 'network': req(R, rw=False),
        'VM': req(R, rw=False), 'MAC': req(S, rw=False),
        'MTU': req(I, rw=False), 'other_config': req(M),
        'currently_attached': f(B), 'status_code': f(I),
        'status_detail': f(S), 'runtime_properties': f(M),
        'qos_algorithm_type': req(S), 'qos_algorithm_params': req(M),
        'qos_supported_algorithms': f(L), 'metrics': f(R),
        'MAC_autogenerated': f(B),
        'locking_mode': f(E, 'network_default', rw=True, enum=(
            'network_default', 'locked', 'unlocked', 'disabled')),
        'ipv4_allowed': f(L, rw=True), 'ipv6_allowed': f(L, rw=True),
        'ipv4_configuration_mode': f(S, 'None'), 'ipv4_addresses': f(L),
        'ipv4_gateway': f(S), 'ipv6_configuration_mode': f(S, 'None'),
        'ipv6_addresses': f(L), 'ipv6_gateway': f(S),
        'allowed_operations': f(L), 'current_operations': f(M),
    },
    'VM': {
        'name_label': req(S), 'name_description': req(S),
        'power_state': f(E, 'Halted', enum=POWER_STATES),
        'user_version': req(I, 1), 'is_a_template': req(B),
        'is_default_template': f(B), 'suspend_VDI': f(R),
        'resident_on': f(R), 'scheduled_to_be_resident_on': f(R),
        'affinity': req(R), 'memory_overhead': f(I), 'memory_target': f(I),
        'memory_static_max': req(I, rw=False),
        'memory_dynamic_max': req(I, rw=False),
        'memory_dynamic_min': req(I, rw=False),
        'memory_static_min': req(I, rw=False),
        'VCPUs_params': req(M), 'VCPUs_max': req(I, rw=False),
        'VCPUs_at_startup': req(I, rw=False),
        'actions_after_softreboot': f(S, 'soft_reboot', rw=True),
        'actions_after_shutdown': req(E, 'destroy',
                                      enum=('destroy', 'restart')),
        'actions_after_reboot': req(E, 'restart',
                                    enum=('destroy', 'restart')),
        'actions_after_crash': req(E, 'restart', enum=(
            'destroy', 'coredump_and_destroy', 'restart',
            'coredump_and_restart', 'preserve', 'rename_restart')),
        'consoles': f(L), 'VIFs': derived(L), 'VBDs': derived(L),
        'VUSBs': f(L), 'crash_dumps': f(L), 'VTPMs': f(L),
        'PV_bootloader': req(S), 'PV_kernel': req(S), 'PV_ramdisk': req(S),
        'PV_args': req(S), 'PV_bootloader_args': req(S),
        'PV_legacy_args': req(S), 'HVM_boot_policy': req(S),
        'HVM_boot_params': req(M), 'HVM_shadow_multiplier': f(FL, 1.0),
        'platform': req(M), 'PCI_bus': req(S), 'other_config': req(M),
        'domid': f(I, -1), 'domarch': f(S), 'last_boot_CPU_flags': f(M),
        'is_control_domain': f(B), 'metrics': f(R), 'guest_metrics': f(R),
        'last_booted_record': f(S), 'recommendations': req(S),
        'xenstore_data': f(M, rw=True), 'ha_always_run': f(B),
        'ha_restart_priority': f(S, rw=True), 'is_a_snapshot': f(B),
        'snapshot_of': f(R), 'snapshots': f(L), 'snapshot_time': f(D),
        'tags': f(L, rw=True), 'blocked_operations': f(M, rw=True),
        'allowed_operations': f(L), 'current_operations': f(M),
        'bios_strings': f(M), 'appliance': f(R), 'start_delay': f(I),
        'shutdown_delay': f(I), 'order': f(I), 'suspend_SR': f(R, rw=True),
        'version': f(I), 'generation_id': f(S, '0:0'),
        'hardware_platform_version': f(I, rw=True),
        'has_vendor_device': f(B, rw=True), 'requires_reboot': f(B),
        'reference_label': f(S),
        'domain_type': f(E, 'unspecified', rw=True, enum=(
            'hvm', 'pv', 'pv_in_pvh', 'pvh', 'unspecified')),
        'NVRAM': f(M, rw=True), 'pending_guidances': f(L),
    },
    'VM_guest_metrics': {
        'os_version': f(M), 'PV_drivers_version': f(M),
        'PV_drivers_up_to_date': f(B), 'PV_drivers_detected': f(B),
        'memory': f(M), 'disks': f(M), 'networks': f(M), 'other': f(M),
        'last_updated': f(D), 'other_config': f(M, rw=True), 'live': f(B),
        'can_use_hotplug_vbd': f(S, 'unspecified'),
        'can_use_hotplug_vif': f(S, 'unspecified'),
    },
    'VM_metrics': {
        'memory_actual': f(I), 'VCPUs_number': f(I),
        'VCPUs_utilisation': f(M), 'state': f(L), 'start_time': f(D),
        'install_time': f(D), 'last_updated': f(D), 'other_config': f(M),
        'hvm': f(B), 'nested_virt': f(B), 'nomigrate': f(B),
        'current_domain_type': f(S, 'unspecified'),
    },
    'task': {
        'name_label': f(S), 'name_description': f(S),
        'allowed_operations': f(L), 'current_operations': f(M),
        'created': f(D), 'finished': f(D), 'status': f(S, 'pending'),
        'resident_on': f(R), 'progress': f(FL), 'type': f(S),
        'result': f(S), 'error_info': f(L), 'other_config': f(M, rw=True),
        'subtask_of': f(R), 'subtasks': f(L), 'backtrace': f(S, '()'),
    },
}

# VM.create ignores these (xen-api's Xapi_vm.create drops them): they must
# be set afterwards with VM.set_blocked_operations or add_to_... .
VM_CREATE_IGNORED = ('blocked_operations',)


def new_ref():
    return 'OpaqueRef:%s' % uuidutils.generate_uuid()


def new_uuid():
    return uuidutils.generate_uuid()


def to_wire(value):
    """Python value -> what XAPI puts on the wire (Int64 as strings)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        return {str(k): to_wire(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_wire(v) for v in value]
    if value is None:
        return ''
    return value


def parse_value(cls, name, field, value):
    """Wire value -> stored Python value, with XAPI's type errors."""
    ty = field.ty
    try:
        if ty == I:
            if isinstance(value, bool):
                raise ValueError(value)
            return int(value)
        if ty == FL:
            return float(value)
        if ty == B:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ('true', 'false'):
                return value.lower() == 'true'
            raise ValueError(value)
        if ty == M:
            if not isinstance(value, dict):
                raise ValueError(value)
            return {str(k): str(to_wire(v)) for k, v in value.items()}
        if ty == L:
            if not isinstance(value, (list, tuple)):
                raise ValueError(value)
            return [str(v) for v in value]
        if ty == E:
            value = str(value)
            for choice in field.enum or (value,):
                if choice.lower() == value.lower():
                    return choice
            raise XapiError('INVALID_VALUE', '%s.%s' % (cls, name), value)
        if ty in (S, R, D):
            if not isinstance(value, str):
                raise ValueError(value)
            return value
    except (TypeError, ValueError):
        raise XapiError('FIELD_TYPE_ERROR', name)
    return value


class Database(object):
    """Records by class and reference; no locking (the API holds the lock)."""

    def __init__(self):
        self.tables = {cls: {} for cls in SPECS}

    def create(self, cls, fields, ref=None, obj_uuid=None):
        rec = {}
        for name, field in SPECS[cls].items():
            if field.derived:
                continue
            rec[name] = copy.deepcopy(field.default)
        rec.update(fields)
        rec['uuid'] = obj_uuid or new_uuid()
        ref = ref or new_ref()
        self.tables[cls][ref] = rec
        return ref

    def get(self, cls, ref):
        try:
            return self.tables[cls][ref]
        except (KeyError, TypeError):
            raise errors.handle_invalid(cls, ref)

    def exists(self, cls, ref):
        return ref in self.tables[cls]

    def destroy(self, cls, ref):
        self.get(cls, ref)
        del self.tables[cls][ref]

    def all(self, cls):
        return list(self.tables[cls].items())

    def where(self, cls, **match):
        return [(ref, rec) for ref, rec in self.tables[cls].items()
                if all(rec.get(k) == v for k, v in match.items())]

    def by_uuid(self, cls, obj_uuid):
        for ref, rec in self.tables[cls].items():
            if rec['uuid'] == obj_uuid:
                return ref
        raise XapiError('UUID_INVALID', cls, obj_uuid)
