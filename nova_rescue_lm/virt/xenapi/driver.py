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

"""``rescue_lm.xenapi.XenAPIDriver``: a nova 34 compute driver for XAPI.

Nova removed its own XenAPI driver in 22.0.0; this one is written for the
live migration of rescued servers. It keeps exactly one XAPI VM per
instance, rebuilds rescue and unrescue from the database (no host-local
record), reports the power state of the VM that runs, and so can live-migrate
a rescued server within a pool or to another pool. The driver overrides what
nova-compute calls and delegates to the ops modules next to it.

Verified against a XAPI simulator speaking XML-RPC, not a real XenServer.
"""

from nova.compute import vm_states
from nova import exception
from nova.virt import driver
import os_resource_classes as orc
from oslo_log import log as logging

from nova_rescue_lm import capability
from nova_rescue_lm import conf
from nova_rescue_lm.i18n import _
from nova_rescue_lm.virt import destination
from nova_rescue_lm.virt import rescue_timeout
from nova_rescue_lm.virt.xenapi import hostops
from nova_rescue_lm.virt.xenapi import livemigrationops
from nova_rescue_lm.virt.xenapi import migrate_data as xen_migrate_data
from nova_rescue_lm.virt.xenapi import session as xenapi_session
from nova_rescue_lm.virt.xenapi import vmops

CONF = conf.CONF
LOG = logging.getLogger(__name__)


def _why_not_capable():
    """Why this compute cannot live-migrate rescued servers, or None."""
    refusal = capability.option_refusal(CONF)
    if refusal:
        return refusal
    if CONF.compute.live_migration_wait_for_vif_plug:
        # nova's default. The destination's pre_live_migration then makes
        # the source wait for neutron's network-vif-plugged events before
        # the move, but XAPI plugs a migrating VM's interfaces only once it
        # arrives: every migration to this compute would wait for
        # [DEFAULT] vif_plugging_timeout and, with vif_plugging_is_fatal,
        # fail.
        return _('[compute] live_migration_wait_for_vif_plug is True: XAPI '
                 'plugs the interfaces of a live-migrating VM only when it '
                 'arrives, so a source waiting for them to be plugged '
                 'beforehand times out. Set it to False on computes that '
                 'run rescue_lm.xenapi.XenAPIDriver.')
    return None


class XenAPIDriver(driver.ComputeDriver):

    capabilities = dict(
        driver.ComputeDriver.capabilities,
        supports_image_type_raw=True,
        supports_image_type_vhd=True,
    )

    def __init__(self, virtapi, read_only=False):
        super().__init__(virtapi)
        # Options are read once: several computes may share one process
        # (nova's functional tests) and each keeps its own.
        opts = CONF.xenserver
        if not opts.connection_url:
            raise exception.InvalidInput(reason=_(
                '[xenserver] connection_url is required by %s') %
                'rescue_lm.xenapi.XenAPIDriver')
        self._session = xenapi_session.SessionPool(
            opts.connection_url, opts.connection_username,
            opts.connection_password, size=opts.connection_concurrent,
            login_timeout=opts.login_timeout,
            call_timeout=opts.call_timeout, ca_file=opts.connection_ca_file)
        self._host = hostops.HostOps(
            self._session, xapi_host=opts.xapi_host,
            sr_matching_filter=opts.sr_matching_filter,
            integration_bridge=opts.integration_bridge)
        self._vmops = vmops.VMOps(self._session, self._host)
        self._migration = livemigrationops.LiveMigrationOps(
            self._session, self._host, self._vmops,
            migration_timeout=opts.migration_timeout)
        self._node_uuid = None
        self._not_capable = _why_not_capable()
        self.capabilities = dict(self.capabilities, **{
            capability.CAPABILITY: self._not_capable is None})

    # host

    def init_host(self, host):
        self._host.connect()
        if self._not_capable:
            LOG.warning('This compute does not report the %(trait)s trait '
                        'and cannot send or receive rescued servers: '
                        '%(why)s', {'trait': capability.TRAIT,
                                    'why': self._not_capable})
        rescue_timeout.install(self.virtapi)

    def cleanup_host(self, host):
        self._session.close()

    def _connected(self):
        if self._host.ref is None:
            self._host.connect()
        return self._host

    def get_available_nodes(self, refresh=False):
        return [self._connected().name]

    def get_nodenames_by_uuid(self, refresh=False):
        if self._node_uuid is None:
            # nova's own local node identity (the compute_id file).
            self._node_uuid = list(
                super().get_nodenames_by_uuid(refresh))[0]
        return {self._node_uuid: self._connected().name}

    def get_host_ip_addr(self):
        return self._connected().address

    def get_available_resource(self, nodename):
        resources = self._connected().resources()
        # The node identity this driver reported once (nova's resource
        # tracker would otherwise ask nova.virt.node again on every update).
        resources['uuid'] = next(iter(self.get_nodenames_by_uuid()))
        # Refreshed in ComputeNode.stats on every update, so the upgrade
        # check can tell a live trait from one a former driver left behind.
        resources['stats'] = capability.stats_marker(
            self.capabilities.get(capability.CAPABILITY), self._not_capable)
        return resources

    def update_provider_tree(self, provider_tree, nodename, allocations=None):
        res = self._connected().resources()
        inventory = provider_tree.data(nodename).inventory
        ratios = self._get_allocation_ratios(inventory)
        totals = {
            orc.VCPU: (res['vcpus'], CONF.reserved_host_cpus),
            orc.MEMORY_MB: (res['memory_mb'], CONF.reserved_host_memory_mb),
            orc.DISK_GB: (res['local_gb'],
                          self._get_reserved_host_disk_gb_from_config()),
        }
        provider_tree.update_inventory(nodename, {
            rc: {'total': total, 'reserved': reserved, 'min_unit': 1,
                 'max_unit': total, 'step_size': 1,
                 'allocation_ratio': ratios[rc]}
            for rc, (total, reserved) in totals.items() if total > 0})

    def capabilities_as_traits(self):
        traits = super().capabilities_as_traits()
        # Reported either way, so that disabling the capability removes the
        # trait from this node's resource provider.
        traits[capability.TRAIT] = bool(
            self.capabilities.get(capability.CAPABILITY))
        return traits

    # instances

    def list_instance_uuids(self):
        return self._vmops.instance_uuids()

    def list_instances(self):
        return self._vmops.instance_names()

    def instance_exists(self, instance):
        return self._vmops.find_vm(instance.uuid)[0] is not None

    def get_info(self, instance, use_cache=True):
        return self._vmops.get_info(instance)

    def spawn(self, context, instance, image_meta, injected_files,
              admin_password, allocations, network_info=None,
              block_device_info=None, power_on=True, accel_info=None):
        self._vmops.spawn(context, instance, image_meta, network_info,
                          block_device_info, power_on=power_on)

    def destroy(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, destroy_secrets=True):
        self._vmops.destroy(instance, destroy_disks=destroy_disks)

    def cleanup(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, migrate_data=None, destroy_vifs=True,
                destroy_secrets=True):
        if migrate_data is not None:
            # The source after a live migration: XAPI moved the VM and its
            # disks away (or they are shared); nothing here is left over.
            return
        self._vmops.destroy(instance, destroy_disks=destroy_disks)

    def plug_vifs(self, instance, network_info):
        """VIFs are part of the VM record XAPI plugs when it starts."""

    def unplug_vifs(self, instance, network_info):
        """XAPI unplugs VIFs with the VM."""

    def reboot(self, context, instance, network_info, reboot_type,
               block_device_info=None, bad_volumes_callback=None,
               accel_info=None, share_info=None):
        if reboot_type == 'SOFT':
            self._vmops.soft_reboot(context, instance, network_info)
        else:
            # Hard: rebuilt from the database, like unrescue.
            self._vmops.rebuild(context, instance, network_info)

    def power_off(self, instance, timeout=0, retry_interval=0):
        self._vmops.power_off(instance, timeout=timeout)

    def power_on(self, context, instance, network_info,
                 block_device_info=None, accel_info=None, share_info=None):
        self._vmops.power_on(context, instance, network_info)

    def resume_state_on_host_boot(self, context, instance, network_info,
                                  share_info, block_device_info=None):
        vm_ref, rec = self._vmops.find_vm(instance.uuid)
        if vm_ref is not None and rec['power_state'] == 'Running':
            return
        self._vmops.rebuild(context, instance, network_info)

    def rescue(self, context, instance, network_info, image_meta,
               rescue_password, block_device_info, share_info):
        self._vmops.rescue(context, instance, network_info, image_meta)

    def unrescue(self, context, instance):
        self._vmops.unrescue(context, instance, instance.get_network_info())

    # live migration

    def check_can_live_migrate_destination(self, context, instance,
                                           src_compute_info, dst_compute_info,
                                           block_migration=False,
                                           disk_over_commit=False):
        self._connected()
        return self._migration.plan(instance)

    def cleanup_live_migration_destination_check(self, context,
                                                 dest_check_data):
        self._migration.forget_plan(dest_check_data)

    def check_can_live_migrate_source(self, context, instance,
                                      dest_check_data, block_device_info=None):
        self._connected()
        if not isinstance(dest_check_data,
                          xen_migrate_data.XenAPILiveMigrateData):
            raise exception.MigrationPreCheckError(reason=_(
                'the destination does not run the XenAPI driver of '
                'nova-rescue-lm'))
        if instance.vm_state == vm_states.RESCUED:
            destination.refuse_unproven(
                context, instance, self.virtapi,
                self.capabilities.get(capability.CAPABILITY))
        return self._migration.check_source(instance, dest_check_data)

    def check_source_migrate_data_at_dest(self, ctxt, instance, migrate_data,
                                          migration, limits, allocs):
        # The answer goes to nova-conductor, which knows only nova's classes.
        return xen_migrate_data.to_stock(migrate_data)

    def pre_live_migration(self, context, instance, block_device_info,
                           network_info, disk_info, migrate_data):
        # Answered to the source compute directly: it may carry our data.
        return self._migration.plan(instance, base=migrate_data,
                                    network_info=network_info)

    def live_migration(self, context, instance, dest,
                       post_method, recover_method, block_migration=False,
                       migrate_data=None):
        try:
            if not isinstance(migrate_data,
                              xen_migrate_data.XenAPILiveMigrateData):
                raise exception.MigrationError(reason=_(
                    'no migration plan from the destination'))
            arrived = self._migration.migrate(instance, migrate_data)
        except exception.MigrationError as exc:
            if isinstance(migrate_data,
                          xen_migrate_data.XenAPILiveMigrateData):
                # Where the VM is cannot be told: neither roll back nor
                # complete; nova puts the server in ERROR.
                LOG.error('Live migration to %(dest)s: %(error)s',
                          {'dest': dest, 'error': exc}, instance=instance)
                raise
            LOG.exception('Live migration to %s failed; rolling back', dest,
                          instance=instance)
            recover_method(context, instance, dest, migrate_data)
            return
        except Exception:
            # Raised before XAPI was asked to move anything.
            LOG.exception('Live migration to %s failed; rolling back', dest,
                          instance=instance)
            recover_method(context, instance, dest, migrate_data)
            return
        if not arrived:
            LOG.error('Live migration to %s failed; the VM is still on '
                      'the source, rolling back', dest, instance=instance)
            recover_method(context, instance, dest, migrate_data)
            return
        post_method(context, instance, dest, block_migration, migrate_data)

    def post_live_migration(self, context, instance, block_device_info,
                            migrate_data=None):
        self._migration.forget_plan(migrate_data)

    def post_live_migration_at_source(self, context, instance, network_info):
        """The VM left with its VIFs; nothing stays behind on the host."""

    def post_live_migration_at_destination(self, context, instance,
                                           network_info,
                                           block_migration=False,
                                           block_device_info=None):
        self._migration.arrived(instance)

    def rollback_live_migration_at_destination(self, context, instance,
                                               network_info,
                                               block_device_info,
                                               destroy_disks=True,
                                               migrate_data=None):
        # XAPI undoes a failed migration itself; the VM stays on the
        # source, so nothing here may touch it (in a pool it is visible
        # from this host too).
        LOG.info('Live migration rolled back; the VM stays on the source',
                 instance=instance)
        self._migration.forget_plan(migrate_data)

    def get_volume_connector(self, instance):
        raise NotImplementedError(_('the XenAPI driver of nova-rescue-lm '
                                    'does not attach volumes'))
