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

"""nova's libvirt driver with rescue state kept in the database.

Rescue records what it used in ``instance.system_metadata`` and keeps no
``unrescue.xml``; unrescue is a hard reboot that rebuilds the normal domain
from the database, so it works on whichever host the server now runs, which
is what makes a rescued server safe to live-migrate.

If the installed nova differs from what the driver relies on
(:mod:`nova_rescue_lm.nova_shape`), the compute still starts: it reports the
capability off, and every override below hands its call to nova's method
unchanged, except unrescue of a server that only this driver can unrescue.
"""

import functools
import os

from nova.accelerator import cyborg
from nova.compute import vm_states
from nova import exception
from nova import objects
from nova.virt import driver as virt_driver
from nova.virt.libvirt import driver as libvirt_driver
from nova.virt.libvirt import utils as libvirt_utils
from oslo_log import log as logging
from oslo_utils import excutils
from oslo_utils import fileutils

from nova_rescue_lm import capability
from nova_rescue_lm import conf
from nova_rescue_lm.i18n import _
from nova_rescue_lm import nova_shape
from nova_rescue_lm.virt import destination
from nova_rescue_lm.virt import evacuation
from nova_rescue_lm.virt import failure
from nova_rescue_lm.virt.libvirt import artifacts
from nova_rescue_lm.virt.libvirt import host_boot
from nova_rescue_lm.virt.libvirt import interrupted
from nova_rescue_lm.virt.libvirt import lost_monitor
from nova_rescue_lm.virt.libvirt import machine_type
from nova_rescue_lm.virt.libvirt import migration_checks
from nova_rescue_lm.virt.libvirt import nic_model
from nova_rescue_lm.virt.libvirt import qcow2_header
from nova_rescue_lm.virt.libvirt import rescue_disks
from nova_rescue_lm.virt.libvirt import rescue_record as libvirt_rescue
from nova_rescue_lm.virt import rescue_record
from nova_rescue_lm.virt import rescue_timeout

CONF = conf.CONF
LOG = logging.getLogger(__name__)


def nova_if_switched_off(method):
    """Call nova's own method, with the arguments nova passed, when the
    installed nova's shape differs from the one this override was written
    for.
    """
    name = method.__name__

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if self.switched_off:
            return getattr(libvirt_driver.LibvirtDriver, name)(
                self, *args, **kwargs)
        return method(self, *args, **kwargs)
    return wrapper


class LibvirtDriver(libvirt_driver.LibvirtDriver):

    def __init__(self, *args, **kwargs):
        #: the installed nova differs from what this driver relies on
        #: (logged by nova_shape); known before nova's __init__ runs
        self.switched_off = bool(nova_shape.libvirt_differences())
        super().__init__(*args, **kwargs)
        #: libvirt's migrate call of each rescued server migrating from here
        self._rescued_migrations = {}
        #: why the capability is off (reported in ComputeNode.stats), or None
        self.not_capable = capability.option_refusal(CONF)
        if not self.not_capable and self.switched_off:
            self.not_capable = _('the installed nova differs from what '
                                 'nova-rescue-lm relies on (see the log of '
                                 'nova-compute\'s start)')
        elif not self.not_capable:
            self.not_capable = migration_checks.host_refusal()
            if self.not_capable:
                LOG.warning('Live migration of rescued servers is disabled '
                            'on this compute: %s', self.not_capable)
        self.capabilities = dict(
            self.capabilities,
            **{capability.CAPABILITY: self.not_capable is None})

    def init_host(self, host):
        super().init_host(host)
        rescue_timeout.install(self.virtapi)

    @nova_if_switched_off
    def process_instances_at_startup(self, context, instances):
        instances = super().process_instances_at_startup(context, instances)
        return interrupted.finish_at_startup(
            interrupted.Host(self._host, self.live_migration_abort,
                             self._domain_state_at, self.virtapi),
            context, instances)

    def capabilities_as_traits(self):
        traits = super().capabilities_as_traits()
        # Reported either way, so that disabling the capability removes the
        # trait from this node's resource provider.
        traits[capability.TRAIT] = bool(
            self.capabilities.get(capability.CAPABILITY))
        return traits

    def get_available_resource(self, nodename):
        resources = super().get_available_resource(nodename)
        # Refreshed in ComputeNode.stats on every update, so the upgrade
        # check can tell a live trait from one a former driver left behind.
        resources.setdefault('stats', {}).update(capability.stats_marker(
            self.capabilities.get(capability.CAPABILITY), self.not_capable,
            evacuation=True))
        return resources

    @nova_if_switched_off
    def rescue(self, context, instance, network_info, image_meta,
               rescue_password, block_device_info, share_info):
        libvirt_rescue.record(instance, image_meta)
        # nova's rescue first saves the running domain as unrescue.xml in the
        # instance directory; it must exist, and the file must not outlive
        # the call.
        fileutils.ensure_tree(libvirt_utils.get_instance_path(instance))
        own_nvram = self._nvram(instance)
        try:
            super().rescue(context, instance, network_info, image_meta,
                           rescue_password, block_device_info, share_info)
        except Exception:
            with excutils.save_and_reraise_exception():
                rescue_record.clear(instance)
        finally:
            artifacts.remove_unrescue_xml(instance)
        libvirt_rescue.record_nvram(instance, own_nvram,
                                    self._nvram(instance))

    def _nvram(self, instance):
        """The NVRAM file of ``instance``'s domain here, or None."""
        try:
            return self._host.get_guest(instance).get_config().os_nvram
        except exception.InstanceNotFound:
            return None
        except libvirt_driver.libvirt.libvirtError as e:
            LOG.warning('Cannot read the domain\'s NVRAM file: %s', e,
                        instance=instance)
            return None

    def unrescue(self, context, instance):
        """Hard-reboot into the normal domain, then drop the rescue."""
        recorded = rescue_record.read(instance)
        if self.switched_off and not recorded:
            # Rescued by nova's driver (unrescue.xml): nova's own unrescue.
            return super().unrescue(context, instance)
        if not recorded and machine_type.restore(instance):
            instance.save()
        admin = context.elevated()
        with artifacts.dropping_nvram(
                instance, libvirt_rescue.rescue_only_nvram(instance)):
            self._hard_reboot(
                context, instance,
                network_info=instance.get_network_info(),
                share_info=objects.ShareMappingList.get_by_instance_uuid(
                    admin, instance.uuid),
                block_device_info=self._attached_block_device_info(
                    admin, instance),
                accel_info=self._accelerator_requests(admin, instance))
        artifacts.remove_all(instance, self._lvm_disks)
        rescue_record.clear(instance)

    @nova_if_switched_off
    def _undefine_domain(self, instance, keep_vtpm=False, keep_nvram=False):
        # nova's hard reboot keeps the NVRAM file; when unrescue undefines a
        # rescue domain whose NVRAM file the server's own domain does not
        # use, libvirt deletes it (nova-compute may not reach the file).
        drop = keep_nvram and artifacts.nvram_to_drop(instance)
        if drop and drop == self._nvram(instance):
            LOG.info('Deleting the rescue domain\'s NVRAM file, which the '
                     'server\'s own domain does not use.', instance=instance)
            keep_nvram = False
        return super()._undefine_domain(instance, keep_vtpm=keep_vtpm,
                                        keep_nvram=keep_nvram)

    @nova_if_switched_off
    def spawn(self, context, instance, image_meta, injected_files,
              admin_password, allocations, network_info=None,
              block_device_info=None, power_on=True, accel_info=None):
        if evacuation.ends_rescue(instance):
            self._end_rescue(context, instance)
        return super().spawn(
            context, instance, image_meta, injected_files, admin_password,
            allocations, network_info=network_info,
            block_device_info=block_device_info, power_on=power_on,
            accel_info=accel_info)

    def _end_rescue(self, context, instance):
        """Nothing of the rescue follows an evacuated server here.

        Asked before the spawn makes the instance directory, as nova asks
        when it chooses between the existing disk and the image.
        """
        root_kept = self.instance_on_disk(instance) or not instance.image_ref
        if not rescue_record.read(instance):
            machine_type.restore(instance)  # saved with the spawn's result
        artifacts.remove_all(instance, self._lvm_disks)
        rescue_record.clear(instance)
        evacuation.record(context, instance, CONF.host, root_kept)

    @nova_if_switched_off
    def resume_state_on_host_boot(self, context, instance, network_info,
                                  share_info, block_device_info=None):
        """A rescued server comes back in its rescue domain (host_boot)."""
        guest = None
        if instance.vm_state == vm_states.RESCUED:
            guest = host_boot.defined_rescue_domain(self._host, instance)
            if guest is None and self._left_with_a_cut_migration(
                    context, instance):
                return
            if guest is None:
                LOG.warning('The rescue domain of this rescued server is not '
                            'defined on this host; nova rebuilds the '
                            'server\'s own domain, which boots its root '
                            'disk. Unrescue it, then rescue it again.',
                            instance=instance)
        if guest is None:
            return super().resume_state_on_host_boot(
                context, instance, network_info, share_info,
                block_device_info=block_device_info)
        if host_boot.is_up(self._host, guest):
            return
        LOG.info('Starting the rescue domain of this rescued server again.',
                 instance=instance)
        if not rescue_disks.is_legacy_domain(guest.get_config()):
            # A stable-device rescue domain has the server's volumes; after
            # a host restart their connections (iSCSI, FC) are gone, and
            # starting a saved domain does not make them.
            for volume in virt_driver.block_device_info_get_mapping(
                    block_device_info):
                self._connect_volume(context, volume['connection_info'],
                                     instance)
        self._create_guest_with_network(
            context, guest.get_xml_desc(dump_inactive=True), instance,
            network_info, block_device_info)

    def _left_with_a_cut_migration(self, context, instance):
        """True (and says so) if the rescued server may run elsewhere."""
        found = host_boot.cut_migration_destination(
            context, instance, self._domain_state_at)
        if not found:
            return False
        dest, state = found
        LOG.error('The rescue domain of this rescued server is no longer '
                  'defined on this host: its live migration to %(dest)s was '
                  'cut when nova-compute stopped, and libvirt may have '
                  'finished it (the domain there: %(state)s). The database '
                  'still names this host. Nothing is started here, so that '
                  'no second copy runs on the same or stale disks; see '
                  '"A live migration cut by nova-compute\'s death" in the '
                  'nova-rescue-lm troubleshooting guide.',
                  {'dest': dest, 'state': state}, instance=instance)
        return True

    def _domain_state_at(self, host, instance):
        """The state of ``instance``'s domain in ``host``'s libvirt."""
        libvirt = libvirt_driver.libvirt
        conn = libvirt.openReadOnly(self._live_migration_uri(host))
        try:
            try:
                dom = conn.lookupByUUIDString(instance.uuid)
            except libvirt.libvirtError:
                return host_boot.NOT_DEFINED
            state = dom.info()[0]
            return {libvirt.VIR_DOMAIN_RUNNING: 'running',
                    libvirt.VIR_DOMAIN_PAUSED: 'paused',
                    libvirt.VIR_DOMAIN_SHUTOFF: 'shut off'}.get(
                        state, 'state %s' % state)
        finally:
            conn.close()

    @nova_if_switched_off
    def _get_guest_xml(self, context, instance, network_info, disk_info,
                       image_meta, rescue=None, **kwargs):
        if not rescue:
            return super()._get_guest_xml(
                context, instance, network_info, disk_info, image_meta,
                rescue=rescue, **kwargs)
        # When the image gives no hw_machine_type, nova records the machine
        # type it builds the domain with as the server's; for a rescue
        # domain that is the rescue image's (say 'pc' for a q35 server), and
        # unrescue, rebuilt from instance.image_meta, would then boot the
        # server on it (a secure-boot server would not start at all). Keep
        # the server's record as it was.
        sysmeta = instance.system_metadata
        key = 'image_hw_machine_type'
        recorded = sysmeta.get(key)
        try:
            return super()._get_guest_xml(
                context, instance, network_info, disk_info, image_meta,
                rescue=rescue, **kwargs)
        finally:
            if recorded is None:
                sysmeta.pop(key, None)
            else:
                sysmeta[key] = recorded

    @nova_if_switched_off
    def check_can_live_migrate_source(self, context, instance,
                                      dest_check_data, block_device_info=None):
        if instance.vm_state == vm_states.RESCUED:
            destination.refuse_unproven(
                context, instance, self.virtapi,
                self.capabilities.get(capability.CAPABILITY))
        data = super().check_can_live_migrate_source(
            context, instance, dest_check_data,
            block_device_info=block_device_info)
        if instance.vm_state == vm_states.RESCUED:
            migration_checks.refuse_unsafe(instance, data)
        return data

    # Block migration of a rescue domain (see rescue_disks). Source side:

    @nova_if_switched_off
    def _get_instance_disk_info(self, instance, block_device_info):
        """Every disk file of a rescued server, not only the domain's."""
        config = None
        if rescue_disks.is_rescued(instance):
            try:
                guest = self._host.get_guest(instance)
                xml = guest.get_xml_desc()
                config = guest.get_config()
            except (exception.InstanceNotFound,
                    libvirt_driver.libvirt.libvirtError):
                config = None  # nova's own code reports the error
        if config is None:
            return super()._get_instance_disk_info(instance,
                                                   block_device_info)
        if rescue_disks.is_legacy_domain(config):
            block_device_info = rescue_disks.volume_free_bdi(
                block_device_info)
        disk_info = rescue_disks.mark_read_only(
            super()._get_instance_disk_info(instance, block_device_info),
            xml)
        if rescue_disks.is_legacy_domain(config):
            for path in rescue_disks.missing_disk_files(instance, config):
                disk_info += rescue_disks.mark_copy(
                    self._describe_unattached(instance, path))
        return rescue_disks.describe_generated_bases(disk_info)

    def _describe_unattached(self, instance, path):
        """Disk info of a file the rescue domain does not attach.

        A plain qcow2 is described from its header (no ``qemu-img`` run);
        anything else by nova's reader, through a domain config holding
        only that file.
        """
        driver_format = self._disk_file_format(instance, path)
        described = (qcow2_header.describe(path)
                     if driver_format == 'qcow2' else None)
        if described:
            return [described]
        return self._get_instance_disk_info_from_config(
            rescue_disks.synthetic_config([(path, driver_format)]), None)

    def _disk_file_format(self, instance, path):
        name = os.path.basename(path)
        image_type = (self._get_disk_config_image_type()
                      if name.startswith('disk.config') else None)
        return self.image_backend.by_name(
            instance, name, image_type).driver_format

    @nova_if_switched_off
    def _live_migration_copy_disk_paths(self, context, instance, guest):
        chosen = super()._live_migration_copy_disk_paths(
            context, instance, guest)
        if not rescue_disks.is_rescued(instance):
            return chosen
        return rescue_disks.disks_to_mirror(
            guest, guest.get_xml_desc(),
            rescue_disks.is_legacy_domain(guest.get_config()), chosen)

    @nova_if_switched_off
    @interrupted.journaled
    def _live_migration(self, context, instance, dest, post_method,
                        recover_method, block_migration, migrate_data):
        # nova 34 re-raises the migrate call's error (an aborted job, a
        # destination that went away) after its monitor has already rolled
        # the migration back; the compute manager then puts the server in
        # ERROR although it still runs, rescued, on this host. For a rescued
        # server a completed rollback is the end of the story, and so is a
        # migration that libvirt failed after nova's monitor gave up
        # (lost_monitor).
        if instance.vm_state != vm_states.RESCUED:
            return super()._live_migration(
                context, instance, dest, post_method, recover_method,
                block_migration, migrate_data)
        #: nova's endings called: 'post', 'rollback', 'rolled back'
        ended = []

        def post(*args, **kwargs):
            ended.append('post')
            return post_method(*args, **kwargs)

        def recover(*args, **kwargs):
            ended.append('rollback')
            recover_method(*args, **kwargs)
            ended.append('rolled back')

        operation = self._rescued_migrations[instance.uuid] = (
            lost_monitor.Operation())
        try:
            super()._live_migration(
                context, instance, dest, post, recover, block_migration,
                migrate_data)
        except Exception as exc:
            if not ended and lost_monitor.failed_here(
                    self._host, instance, operation):
                LOG.warning('nova stopped monitoring the live migration to '
                            '%(dest)s (%(exc)s), and libvirt failed it: the '
                            'rescue guest runs here; rolling back as nova '
                            'does.', {'dest': dest, 'exc': exc},
                            instance=instance)
                recover(context, instance, dest, migrate_data)
                exc = operation.error
            elif ended != ['rollback', 'rolled back']:
                raise
            LOG.warning('Live migration to %(dest)s failed and was rolled '
                        'back; the server stays rescued on this host: '
                        '%(exc)s', {'dest': dest, 'exc': exc},
                        instance=instance)
            failure.record(context, instance, instance.host, exc)
        finally:
            self._rescued_migrations.pop(instance.uuid, None)

    @nova_if_switched_off
    def _live_migration_operation(self, context, instance, dest,
                                  block_migration, migrate_data, guest,
                                  device_names):
        # nova rebuilds each <interface> from the server image's properties;
        # a legacy rescue domain was built from the rescue image's, so the
        # running domain's NIC model and driver must be kept (nic_model).
        if (instance.vm_state == vm_states.RESCUED and
                instance.system_metadata.get(rescue_record.MODE) !=
                rescue_record.STABLE_DEVICE and
                'vifs' in migrate_data and migrate_data.vifs):
            guest = nic_model.RescueGuest.from_guest(guest)
        operation = self._rescued_migrations.get(instance.uuid)
        call = super()._live_migration_operation
        if operation is not None:
            return operation.run(call, context, instance, dest,
                                 block_migration, migrate_data, guest,
                                 device_names)
        return call(context, instance, dest, block_migration, migrate_data,
                    guest, device_names)

    # Destination side:

    @nova_if_switched_off
    def _create_images_and_backing(self, context, instance, instance_dir,
                                   disk_info, fallback_from_host=None):
        ours = (fallback_from_host and
                rescue_disks.is_migrating_rescued(instance))
        if not ours:
            return super()._create_images_and_backing(
                context, instance, instance_dir, disk_info,
                fallback_from_host=fallback_from_host)
        disk_info = disk_info or []
        pulled = [info for info in disk_info if rescue_disks.takes(info)]
        with rescue_disks.copying_from(fallback_from_host):
            pull = rescue_disks.SourcePull(
                instance, instance_dir, disk_info, fallback_from_host)
            pull.start()
            try:
                rescue_disks.fill_foreign_bases(
                    context, instance, instance_dir, disk_info,
                    fallback_from_host, image_backend=self.image_backend,
                    fetch_cached=self._try_fetch_image_cache)
                super()._create_images_and_backing(
                    context, instance, instance_dir,
                    [info for info in disk_info if info not in pulled],
                    fallback_from_host=fallback_from_host)
            except Exception:
                with excutils.save_and_reraise_exception():
                    pull.abandon()
            pull.place(self.image_backend)
            # What was copied is complete; nova makes the overlays libvirt
            # mirrors onto, over the bases now in place.
            super()._create_images_and_backing(
                context, instance, instance_dir,
                [info for info in pulled
                 if not info.get(rescue_disks.COPY)],
                fallback_from_host=fallback_from_host)

    @nova_if_switched_off
    def _fetch_instance_kernel_ramdisk(self, context, instance,
                                       fallback_from_host=None):
        super()._fetch_instance_kernel_ramdisk(
            context, instance, fallback_from_host=fallback_from_host)
        if rescue_disks.is_migrating_rescued(instance):
            # Also reached without a block migration (RBD, instance
            # directory not shared); the files are then only on the source.
            rescue_disks.fetch_rescue_kernel_ramdisk(
                context, instance, fallback_from_host or instance.host,
                fetch_image=self._try_fetch_image)

    @staticmethod
    def _attached_block_device_info(context, instance):
        """Block device info as nova-compute gives it to a reboot."""
        bdms = objects.BlockDeviceMappingList.get_by_instance_uuid(
            context, instance.uuid)
        info = virt_driver.get_block_device_info(instance, bdms)
        info['block_device_mapping'] = [
            bdm for bdm in virt_driver.block_device_info_get_mapping(info)
            if bdm.get('connection_info')]
        return info

    @staticmethod
    def _accelerator_requests(context, instance):
        if not instance.flavor.extra_specs.get('accel:device_profile'):
            return []
        return cyborg.get_client(context).get_arqs_for_instance(
            instance.uuid)
