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

"""How the driver tags XAPI records, and finds an instance's by those tags.

VMs and disks are found by ``other_config`` entries, never by name: a name
says nothing after a rescue, a migration to another pool or a rename. An
instance has exactly one VM at any time, in one of two roles (its own VM, or
its rescue VM). Each of its disks carries the instance uuid, what the disk
is (root, swap, ephemeral, rescue) and the device it has in the instance's
own VM, so that VM can be rebuilt around the disks from the database alone.
"""

#: VM.other_config: the nova instance uuid (the key nova's in-tree XenAPI
#: driver used too).
VM_UUID = 'nova_uuid'
#: VM.other_config: ROLE_INSTANCE or ROLE_RESCUE.
VM_ROLE = 'nova_rescue_lm_role'
ROLE_INSTANCE = 'instance'
ROLE_RESCUE = 'rescue'

#: VDI.other_config keys.
VDI_UUID = 'nova_instance_uuid'
VDI_TYPE = 'nova_disk_type'
VDI_DEVICE = 'nova_userdevice'

ROOT = 'root'
SWAP = 'swap'
EPHEMERAL = 'ephemeral'
RESCUE = 'rescue'

#: userdevice of each disk in the instance's own VM.
ROOT_DEVICE = 0
SWAP_DEVICE = 1
FIRST_EPHEMERAL_DEVICE = 2

NULL_REF = 'OpaqueRef:NULL'


def is_null(ref):
    return not ref or ref == NULL_REF


def rescue_device(userdevice):
    """Where a disk of the instance sits in its rescue VM (rescue disk: 0)."""
    return int(userdevice) + 1


def vm_tags(instance_uuid, role):
    return {VM_UUID: instance_uuid, VM_ROLE: role}


def disk_tags(instance_uuid, disk_type, userdevice=None):
    tags = {VDI_UUID: instance_uuid, VDI_TYPE: disk_type}
    if userdevice is not None:
        tags[VDI_DEVICE] = str(userdevice)
    return tags


def role_of(vm_rec):
    return vm_rec['other_config'].get(VM_ROLE, ROLE_INSTANCE)


def is_nova_vm(vm_rec):
    return (not vm_rec.get('is_a_template') and
            not vm_rec.get('is_control_domain') and
            not vm_rec.get('is_a_snapshot') and
            VM_UUID in vm_rec.get('other_config', {}))


def instance_vms(session, instance_uuid):
    """[(ref, record)] of the VMs tagged with ``instance_uuid``."""
    return [(ref, rec) for ref, rec in
            session.call('VM.get_all_records').items()
            if is_nova_vm(rec) and
            rec['other_config'][VM_UUID] == instance_uuid]


def nova_vms(session):
    """{ref: record} of every VM this driver (or nova) made."""
    return {ref: rec for ref, rec in
            session.call('VM.get_all_records').items() if is_nova_vm(rec)}


def instance_disks(session, instance_uuid):
    """{ref: record} of the VDIs tagged with ``instance_uuid``."""
    return {ref: rec for ref, rec in
            session.call('VDI.get_all_records').items()
            if rec.get('other_config', {}).get(VDI_UUID) == instance_uuid}


def disk_type(vdi_rec):
    return vdi_rec['other_config'].get(VDI_TYPE)


def disk_device(vdi_rec):
    device = vdi_rec['other_config'].get(VDI_DEVICE)
    return int(device) if device is not None and device.isdigit() else None
