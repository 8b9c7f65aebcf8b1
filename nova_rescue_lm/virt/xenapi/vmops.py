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

"""VM lifecycle: build, power, rescue, and rebuild from the database.

An instance has exactly one XAPI VM at any time. Rescue destroys the
instance's VM record (its disks stay, tagged) and builds a rescue VM with
the rescue disk first and the instance's disks after it. Unrescue and hard
reboot destroy whatever VM the instance has and build the one the database
asks for around the tagged disks, so they work the same on any host, in any
pool, whatever happened to the VM record before.
"""

from nova.compute import power_state
from nova.compute import vm_states
from nova import exception
from nova import objects
from nova.virt import configdrive
from nova.virt import driver as virt_driver
from nova.virt import hardware
from oslo_log import log as logging
from oslo_utils import excutils
from oslo_utils import units

from nova_rescue_lm.i18n import _
from nova_rescue_lm.virt import rescue_record
from nova_rescue_lm.virt.xenapi import imageops
from nova_rescue_lm.virt.xenapi import recordutils
from nova_rescue_lm.virt.xenapi import rescue_record as xenapi_rescue
from nova_rescue_lm.virt.xenapi import session as xenapi_session

LOG = logging.getLogger(__name__)

POWER_STATES = {
    'Running': power_state.RUNNING,
    'Paused': power_state.PAUSED,
    'Halted': power_state.SHUTDOWN,
    'Suspended': power_state.SUSPENDED,
}

_HVM_PLATFORM = {'acpi': 'true', 'apic': 'true', 'pae': 'true',
                 'viridian': 'true', 'nx': 'true', 'timeoffset': '0'}


class VMElsewhere(exception.NovaException):
    msg_fmt = _("VM %(vm)s of instance %(uuid)s runs on XAPI host "
                "%(host)s, not on %(here)s, the host of this compute: nova "
                "and XAPI disagree about where the server is. It is left "
                "running; find where the server really is before acting "
                "on it.")


class VMOps:

    def __init__(self, session, host):
        self._session = session
        self._host = host
        self._images = imageops.ImageOps(session)

    # lookups

    def find_vm(self, instance_uuid):
        """(ref, record) of the instance's VM, or (None, None)."""
        vms = recordutils.instance_vms(self._session, instance_uuid)
        if len(vms) > 1:
            LOG.error('Instance %(uuid)s has %(count)d VMs: %(refs)s',
                      {'uuid': instance_uuid, 'count': len(vms),
                       'refs': [ref for ref, _rec in vms]})
            # Prefer the running one: it is what the guest runs in.
            vms.sort(key=lambda vm: vm[1]['power_state'] != 'Running')
        return vms[0] if vms else (None, None)

    def get_info(self, instance):
        ref, rec = self.find_vm(instance.uuid)
        if ref is None:
            raise exception.InstanceNotFound(instance_id=instance.uuid)
        return hardware.InstanceInfo(
            state=POWER_STATES.get(rec['power_state'], power_state.NOSTATE))

    def _vms_here(self):
        """Nova VMs that live on (or, halted, are kept for) this host."""
        for rec in recordutils.nova_vms(self._session).values():
            resident = rec['resident_on']
            if resident == self._host.ref or (
                    recordutils.is_null(resident) and
                    rec['affinity'] == self._host.ref):
                yield rec

    def instance_uuids(self):
        return [rec['other_config'][recordutils.VM_UUID]
                for rec in self._vms_here()]

    def instance_names(self):
        return [rec['name_label'] for rec in self._vms_here()]

    # spawn and destroy

    def spawn(self, context, instance, image_meta, network_info,
              block_device_info, power_on=True):
        self._refuse_unsupported(instance, block_device_info)
        if self.find_vm(instance.uuid)[0] is not None:
            raise exception.InstanceExists(name=instance.name)
        created = []
        vm_ref = None
        try:
            layout = self._create_disks(context, instance, image_meta,
                                        block_device_info, created)
            vm_ref = self._build_vm(instance, image_meta,
                                    recordutils.ROLE_INSTANCE, layout,
                                    network_info)
            if power_on:
                self._start(vm_ref)
        except Exception:
            with excutils.save_and_reraise_exception():
                if vm_ref is not None:
                    self._remove_vm(vm_ref)
                for vdi in created:
                    self._destroy_vdi(vdi)
        return vm_ref

    @staticmethod
    def _refuse_unsupported(instance, block_device_info):
        if virt_driver.block_device_info_get_mapping(block_device_info):
            raise exception.InstanceDeployFailure(reason=_(
                'the XenAPI driver of nova-rescue-lm does not attach '
                'volumes'))
        if configdrive.required_by(instance):
            raise exception.InstanceDeployFailure(reason=_(
                'the XenAPI driver of nova-rescue-lm does not build config '
                'drives; use the metadata service'))

    def _create_disks(self, context, instance, image_meta,
                      block_device_info, created):
        """{userdevice: vdi} of a new instance's disks."""
        sr = self._host.sr_ref()
        root = self._images.import_image(
            context, image_meta, sr, '%s root' % instance.name,
            recordutils.disk_tags(instance.uuid, recordutils.ROOT,
                              recordutils.ROOT_DEVICE),
            min_size=instance.flavor.root_gb * units.Gi)
        created.append(root)
        layout = {recordutils.ROOT_DEVICE: root}
        for device, (kind, size) in self._blank_disks(
                instance, block_device_info).items():
            vdi = self._images.create_vdi(
                sr, '%s %s' % (instance.name, kind), size,
                recordutils.disk_tags(instance.uuid, kind, device))
            created.append(vdi)
            layout[device] = vdi
        return layout

    @staticmethod
    def _blank_disks(instance, block_device_info):
        """{userdevice: (type, bytes)} of swap and ephemeral disks."""
        disks = {}
        swap = virt_driver.block_device_info_get_swap(block_device_info)
        swap_mb = (swap.get('swap_size') if virt_driver.swap_is_usable(swap)
                   else instance.flavor.swap)
        if swap_mb:
            disks[recordutils.SWAP_DEVICE] = (recordutils.SWAP,
                                              swap_mb * units.Mi)
        ephemerals = virt_driver.block_device_info_get_ephemerals(
            block_device_info)
        sizes = ([eph['size'] for eph in ephemerals] if ephemerals else
                 [instance.flavor.ephemeral_gb]
                 if instance.flavor.ephemeral_gb else [])
        for index, size_gb in enumerate(sizes):
            disks[recordutils.FIRST_EPHEMERAL_DEVICE + index] = (
                recordutils.EPHEMERAL, size_gb * units.Gi)
        return disks

    def destroy(self, instance, destroy_disks=True):
        for vm_ref, rec in recordutils.instance_vms(self._session,
                                                instance.uuid):
            resident = rec['resident_on']
            if (not recordutils.is_null(resident) and
                    resident != self._host.ref):
                # In a pool every compute sees every VM; never stop a VM
                # that runs on another host (a migration got there first).
                LOG.warning('Not destroying VM %s of the instance: it runs '
                            'on another host of the pool', vm_ref,
                            instance=instance)
                return
            self._remove_vm(vm_ref, rec)
        if destroy_disks:
            for vdi in recordutils.instance_disks(self._session,
                                                  instance.uuid):
                self._destroy_vdi(vdi)

    # power

    def power_off(self, instance, timeout=0):
        vm_ref, rec = self.find_vm(instance.uuid)
        if vm_ref is None or rec['power_state'] == 'Halted':
            return
        if timeout and rec['power_state'] == 'Running':
            try:
                self._session.call('VM.clean_shutdown', vm_ref,
                                   timeout=timeout)
                return
            except Exception as exc:  # noqa: BLE001 - fall back to hard
                LOG.info('Clean shutdown failed (%s); shutting down hard',
                         exc, instance=instance)
        self._hard_shutdown(vm_ref)

    def power_on(self, context, instance, network_info):
        vm_ref, rec = self.find_vm(instance.uuid)
        if vm_ref is None:
            # Nothing to start: build it from the database, as a hard
            # reboot does.
            self.rebuild(context, instance, network_info)
            return
        if rec['power_state'] == 'Halted':
            self._start(vm_ref)
        elif rec['power_state'] == 'Paused':
            self._session.call('VM.unpause', vm_ref)
        elif rec['power_state'] == 'Suspended':
            self._session.call('VM.resume_on', vm_ref, self._host.ref,
                               False, False)

    def soft_reboot(self, context, instance, network_info):
        vm_ref, rec = self.find_vm(instance.uuid)
        if vm_ref is not None and rec['power_state'] == 'Running':
            try:
                self._session.call('VM.clean_reboot', vm_ref)
                return
            except xenapi_session.Failure as exc:
                LOG.info('Clean reboot failed (%s); rebooting hard', exc,
                         instance=instance)
        self.rebuild(context, instance, network_info)

    # rescue

    def rescue(self, context, instance, network_info, image_meta):
        if 'id' not in image_meta or not image_meta.id:
            raise exception.InstanceNotRescuable(
                instance_id=instance.uuid, reason=_('no rescue image'))
        vm_ref, rec = self.find_vm(instance.uuid)
        if (vm_ref is not None and
                recordutils.role_of(rec) == recordutils.ROLE_RESCUE):
            raise exception.InstanceNotRescuable(
                instance_id=instance.uuid, reason=_('already rescued'))
        if vm_ref is not None:
            self.retag_disks(instance, vm_ref, rec)
        disks = recordutils.instance_disks(self._session, instance.uuid)
        for vdi, vdi_rec in disks.items():
            if recordutils.disk_type(vdi_rec) == recordutils.RESCUE:
                self._destroy_vdi(vdi)  # left by an earlier failed rescue
        # The rescue disk comes first: a bad rescue image then fails the
        # rescue while the server still runs, untouched.
        rescue_vdi = self._import_rescue_disk(context, instance, image_meta)
        xenapi_rescue.record(instance, image_meta.id)
        try:
            if vm_ref is not None:
                self._remove_vm(vm_ref, rec)
            self._build_rescue_vm(instance, image_meta, rescue_vdi,
                                  network_info)
        except Exception:
            with excutils.save_and_reraise_exception():
                LOG.error('Rescue failed; rebuilding the server\'s own VM',
                          instance=instance)
                rescue_record.clear(instance)
                try:
                    self.rebuild(context, instance, network_info,
                                 rescue=False, start=rec is None or
                                 rec['power_state'] != 'Halted')
                except Exception:  # noqa: BLE001 - report the first error
                    LOG.exception('Could not rebuild the server\'s VM after '
                                  'a failed rescue', instance=instance)

    def _import_rescue_disk(self, context, instance, image_meta):
        return self._images.import_image(
            context, image_meta, self._host.sr_ref(),
            '%s rescue' % instance.name,
            recordutils.disk_tags(instance.uuid, recordutils.RESCUE))

    def _build_rescue_vm(self, instance, image_meta, rescue_vdi,
                         network_info):
        layout = {0: rescue_vdi}
        for device, vdi in self._instance_layout(instance).items():
            layout[recordutils.rescue_device(device)] = vdi
        vm_ref = self._build_vm(instance, image_meta, recordutils.ROLE_RESCUE,
                                layout, network_info,
                                name='%s-rescue' % instance.name)
        self._start(vm_ref)
        return vm_ref

    def unrescue(self, context, instance, network_info):
        self.rebuild(context, instance, network_info, rescue=False)

    def retag_disks(self, instance, vm_ref, rec):
        """Give the disks of the instance's VM their tags back.

        A storage migration keeps only ``config-drive`` of a disk's
        other_config (xen-api xapi_globs.ml vdi_other_config_sync_keys), so
        a disk that moved to other storage arrives untagged; the VM keeps
        its own other_config. The tags follow from the VM's role and the
        device each disk has in it. Done after every migration and again
        before unrescue, rescue and hard reboot read the tags, in case the
        step after the migration never ran.
        """
        call = self._session.call
        rescue = recordutils.role_of(rec) == recordutils.ROLE_RESCUE
        for vbd in call('VM.get_VBDs', vm_ref):
            vbd_rec = call('VBD.get_record', vbd)
            vdi = vbd_rec['VDI']
            if vbd_rec['empty'] or recordutils.is_null(vdi):
                continue
            other = call('VDI.get_other_config', vdi)
            if other.get(recordutils.VDI_UUID) == instance.uuid:
                continue
            device = int(vbd_rec['userdevice'])
            kind = None
            if rescue:
                if device == 0:
                    kind, device = recordutils.RESCUE, None
                else:
                    device -= 1
            if kind is None:
                kind = (recordutils.ROOT
                        if device == recordutils.ROOT_DEVICE else
                        recordutils.SWAP
                        if device == recordutils.SWAP_DEVICE else
                        recordutils.EPHEMERAL)
            LOG.warning('Disk %(vdi)s of VM %(vm)s has no tags (a storage '
                        'migration keeps only config-drive of a disk\'s '
                        'other_config); tagging it as %(kind)s',
                        {'vdi': vdi, 'vm': vm_ref, 'kind': kind},
                        instance=instance)
            for key, value in recordutils.disk_tags(instance.uuid, kind,
                                                    device).items():
                # add_to_other_config refuses a key that exists
                # (MAP_DUPLICATE_KEY).
                call('VDI.remove_from_other_config', vdi, key)
                call('VDI.add_to_other_config', vdi, key, value)

    # rebuild from the database

    def rebuild(self, context, instance, network_info, rescue=None,
                start=True):
        """Destroy the instance's VM, build the one the database describes.

        ``rescue`` defaults to whether the instance is RESCUED. Rebuilding
        the instance's own VM drops the rescue disk and the rescue record.
        """
        if rescue is None:
            rescue = instance.vm_state == vm_states.RESCUED
        if rescue and not xenapi_rescue.image_ref(instance):
            raise exception.InstanceNotRescuable(
                instance_id=instance.uuid,
                reason=_('no rescue image is recorded for it'))
        vms = recordutils.instance_vms(self._session, instance.uuid)
        for vm_ref, rec in vms:
            self._refuse_elsewhere(instance, vm_ref, rec)
        for vm_ref, rec in vms:
            self.retag_disks(instance, vm_ref, rec)
        layout = self._instance_layout(instance)  # checks the root disk
        for vm_ref, rec in vms:
            self._remove_vm(vm_ref, rec)
        if rescue:
            self._rebuild_rescue_vm(context, instance, network_info)
            return
        for vdi, vdi_rec in recordutils.instance_disks(
                self._session, instance.uuid).items():
            if recordutils.disk_type(vdi_rec) == recordutils.RESCUE:
                self._destroy_vdi(vdi)
        layout.update(self._missing_blank_disks(context, instance, layout))
        vm_ref = self._build_vm(instance, instance.image_meta,
                                recordutils.ROLE_INSTANCE, layout,
                                network_info)
        rescue_record.clear(instance)
        if start:
            self._start(vm_ref)

    def _refuse_elsewhere(self, instance, vm_ref, rec):
        """In a pool every compute sees every VM: never stop one that runs
        on another host (a migration nova does not know finished there).
        """
        resident = rec['resident_on']
        if rec['power_state'] in ('Running', 'Paused') and not (
                recordutils.is_null(resident) or resident == self._host.ref):
            try:
                where = self._session.call('host.get_name_label', resident)
            except xenapi_session.Failure:
                where = resident
            raise VMElsewhere(uuid=instance.uuid, vm=vm_ref, host=where,
                              here=self._host.name)

    def _rebuild_rescue_vm(self, context, instance, network_info):
        image_meta = self._images.image_meta(
            context, xenapi_rescue.image_ref(instance))
        rescue_vdi = [vdi for vdi, rec in recordutils.instance_disks(
            self._session, instance.uuid).items()
            if recordutils.disk_type(rec) == recordutils.RESCUE]
        if rescue_vdi:
            rescue_vdi = rescue_vdi[0]
        else:
            rescue_vdi = self._import_rescue_disk(context, instance,
                                                  image_meta)
        self._build_rescue_vm(instance, image_meta, rescue_vdi, network_info)

    def _instance_layout(self, instance):
        """{userdevice: vdi} of the instance's own disks, from their tags."""
        layout = {}
        for vdi, rec in recordutils.instance_disks(self._session,
                                               instance.uuid).items():
            kind = recordutils.disk_type(rec)
            device = recordutils.disk_device(rec)
            if kind == recordutils.RESCUE or device is None:
                continue
            if device in layout:
                raise exception.InstanceRebootFailure(reason=_(
                    'two disks of instance %(uuid)s claim device %(dev)s') %
                    {'uuid': instance.uuid, 'dev': device})
            layout[device] = vdi
        if recordutils.ROOT_DEVICE not in layout:
            raise exception.InstanceRebootFailure(reason=_(
                'the root disk of instance %s is not in this pool') %
                instance.uuid)
        return layout

    def _missing_blank_disks(self, context, instance, layout):
        """Swap and ephemeral disks the database expects but XAPI lacks."""
        expected = self._blank_disks(instance, None)
        if set(expected) <= set(layout) and set(layout) - {
                recordutils.ROOT_DEVICE} <= set(expected):
            return {}  # as the flavor says: no need to read the BDMs
        bdms = objects.BlockDeviceMappingList.get_by_instance_uuid(
            context, instance.uuid)
        info = virt_driver.get_block_device_info(instance, bdms)
        created = {}
        for device, (kind, size) in self._blank_disks(instance,
                                                      info).items():
            if device in layout:
                continue
            LOG.warning('The %(kind)s disk at device %(dev)s is missing; '
                        'creating an empty one', {'kind': kind,
                                                  'dev': device},
                        instance=instance)
            created[device] = self._images.create_vdi(
                self._host.sr_ref(), '%s %s' % (instance.name, kind), size,
                recordutils.disk_tags(instance.uuid, kind, device))
        return created

    # XAPI records

    def _build_vm(self, instance, image_meta, role, layout, network_info,
                  name=None):
        vm_ref = self._session.call('VM.create', self._vm_record(
            instance, image_meta, role, name or instance.name))
        try:
            boot = min(layout)
            for device in sorted(layout):
                self._create_vbd(vm_ref, layout[device], device,
                                 bootable=device == boot)
            for index, vif in enumerate(network_info or []):
                self._create_vif(vm_ref, vif, index)
        except Exception:
            with excutils.save_and_reraise_exception():
                self._remove_vm(vm_ref)
        return vm_ref

    def _vm_record(self, instance, image_meta, role, name):
        flavor = instance.flavor
        memory = str(flavor.memory_mb * units.Mi)
        vcpus = str(flavor.vcpus)
        pv = image_meta.properties.get('hw_vm_mode') == 'xen'
        return {
            'name_label': name,
            'name_description': ('rescue of %s' if role ==
                                 recordutils.ROLE_RESCUE else '%s') %
            instance.uuid,
            'user_version': '0',
            'is_a_template': False,
            'affinity': self._host.ref,
            'memory_static_max': memory,
            'memory_dynamic_max': memory,
            'memory_dynamic_min': memory,
            'memory_static_min': '0',
            'VCPUs_params': {},
            'VCPUs_max': vcpus,
            'VCPUs_at_startup': vcpus,
            'actions_after_shutdown': 'destroy',
            'actions_after_reboot': 'restart',
            'actions_after_crash': 'destroy',
            'PV_bootloader': 'pygrub' if pv else '',
            'PV_kernel': '',
            'PV_ramdisk': '',
            'PV_args': '',
            'PV_bootloader_args': '',
            'PV_legacy_args': '',
            'HVM_boot_policy': '' if pv else 'BIOS order',
            'HVM_boot_params': {} if pv else {'order': 'dc'},
            'platform': {} if pv else dict(_HVM_PLATFORM),
            'PCI_bus': '',
            'other_config': recordutils.vm_tags(instance.uuid, role),
            'recommendations': '',
            'xenstore_data': {},
            'tags': [],
        }

    def _create_vbd(self, vm_ref, vdi_ref, device, bootable):
        return self._session.call('VBD.create', {
            'VM': vm_ref,
            'VDI': vdi_ref,
            'userdevice': str(device),
            'bootable': bootable,
            'mode': 'RW',
            'type': 'Disk',
            'empty': False,
            'unpluggable': True,
            'other_config': {},
            'qos_algorithm_type': '',
            'qos_algorithm_params': {},
        })

    def _create_vif(self, vm_ref, vif, device):
        network = vif.get('network') or {}
        mtu = (network.get('meta') or {}).get('mtu') or 1500
        return self._session.call('VIF.create', {
            'device': str(device),
            'network': self._host.network_ref(vif),
            'VM': vm_ref,
            'MAC': vif['address'],
            'MTU': str(mtu),
            'other_config': {'nova_vif_id': vif['id']},
            'qos_algorithm_type': '',
            'qos_algorithm_params': {},
        })

    def _start(self, vm_ref):
        self._session.call('VM.start_on', vm_ref, self._host.ref, False,
                           False)

    def _hard_shutdown(self, vm_ref):
        try:
            self._session.call('VM.hard_shutdown', vm_ref)
        except xenapi_session.Failure as exc:
            if xenapi_session.failure_code(exc) != 'VM_BAD_POWER_STATE':
                raise

    def _remove_vm(self, vm_ref, rec=None):
        """Stop and destroy a VM record; its disks stay."""
        if rec is None or rec['power_state'] != 'Halted':
            self._hard_shutdown(vm_ref)
        self._session.call('VM.destroy', vm_ref)

    def _destroy_vdi(self, vdi_ref):
        try:
            self._session.call('VDI.destroy', vdi_ref)
        except xenapi_session.Failure as exc:
            if xenapi_session.failure_code(exc) != 'HANDLE_INVALID':
                raise
