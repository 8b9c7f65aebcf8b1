"""nova's libvirt driver with rescue state kept in the database.

Rescue records what it used in ``instance.system_metadata`` and keeps no
``unrescue.xml``; unrescue is a hard reboot that rebuilds the normal domain
from the database, so it works on whichever host the server now runs, which
is what makes a rescued server safe to live-migrate.
"""

from nova.accelerator import cyborg
from nova.compute import vm_states
from nova import objects
from nova.virt import driver as virt_driver
from nova.virt.libvirt import driver as libvirt_driver
from nova.virt.libvirt import utils as libvirt_utils
from oslo_log import log as logging
from oslo_utils import excutils
from oslo_utils import fileutils

from nova_rescue_lm import capability
from nova_rescue_lm import conf
from nova_rescue_lm.virt.libvirt import artifacts
from nova_rescue_lm.virt.libvirt import migration_checks
from nova_rescue_lm.virt.libvirt import rescue_record

CONF = conf.CONF
LOG = logging.getLogger(__name__)


class LibvirtDriver(libvirt_driver.LibvirtDriver):

    def __init__(self, virtapi, read_only=False):
        super().__init__(virtapi, read_only=read_only)
        self.capabilities = dict(
            self.capabilities,
            **{capability.CAPABILITY: CONF.rescue_lm.live_migrate_rescued})

    def capabilities_as_traits(self):
        traits = super().capabilities_as_traits()
        # Reported either way, so that disabling the capability removes the
        # trait from this node's resource provider.
        traits[capability.TRAIT] = bool(
            self.capabilities.get(capability.CAPABILITY))
        return traits

    def rescue(self, context, instance, network_info, image_meta,
               rescue_password, block_device_info, share_info):
        rescue_record.record(instance, image_meta)
        # nova's rescue first saves the running domain as unrescue.xml in the
        # instance directory; it must exist, and the file must not outlive
        # the call.
        fileutils.ensure_tree(libvirt_utils.get_instance_path(instance))
        try:
            super().rescue(context, instance, network_info, image_meta,
                           rescue_password, block_device_info, share_info)
        except Exception:
            with excutils.save_and_reraise_exception():
                rescue_record.clear(instance)
        finally:
            artifacts.remove_unrescue_xml(instance)

    def unrescue(self, context, instance):
        """Hard-reboot into the normal domain, then drop the rescue."""
        admin = context.elevated()
        self._hard_reboot(
            context, instance,
            network_info=instance.get_network_info(),
            share_info=objects.ShareMappingList.get_by_instance_uuid(
                admin, instance.uuid),
            block_device_info=self._attached_block_device_info(
                admin, instance),
            accel_info=self._accelerator_requests(admin, instance))
        artifacts.remove_all(self, instance)
        rescue_record.clear(instance)

    def check_can_live_migrate_source(self, context, instance,
                                      dest_check_data, block_device_info=None):
        data = super().check_can_live_migrate_source(
            context, instance, dest_check_data,
            block_device_info=block_device_info)
        if instance.vm_state == vm_states.RESCUED:
            migration_checks.refuse_unsafe(instance, data)
        return data

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
