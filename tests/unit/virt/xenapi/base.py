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

"""Driver tests against the XAPI simulator: real XML-RPC, no XAPI mocks.

The driver talks to ``tests.xapisim`` through ``os_xenapi``'s client as it
would to a pool master; tests look at what XAPI holds afterwards (VMs,
disks, their bytes), through the simulator's own view.
"""

import io

import fixtures
from os_xenapi.client import XenAPI

from nova.compute import vm_states
from nova import context as nova_context
from nova.network import model as network_model
from nova import objects
from nova import test
from nova.tests import fixtures as nova_fixtures
from nova.tests.unit import fake_instance
from nova.virt import fake
from oslo_utils import uuidutils

from nova_rescue_lm.virt.xenapi import driver
from tests.xapisim import Simulator

#: Images added to nova's glance fixture: raw server image, raw rescue
#: image (both with recognisable bytes), a qcow2 image the driver refuses.
SERVER_IMAGE = '1b1a2f3c-0000-4000-8000-000000000001'
RESCUE_IMAGE = '1b1a2f3c-0000-4000-8000-000000000002'
QCOW2_IMAGE = '1b1a2f3c-0000-4000-8000-000000000003'
SERVER_BYTES = b'SERVER-ROOT-DISK' * 64
RESCUE_BYTES = b'RESCUE-DISK' * 32


def start_simulator(test_case, pool_name='pool-a', hosts=('xs-a1', 'xs-a2'),
                    **kwargs):
    kwargs.setdefault('strict_create', True)
    sim = Simulator(pool_name=pool_name, hosts=hosts, username='root',
                    password='secret', **kwargs).start()
    test_case.addCleanup(sim.stop)
    return sim


def xapi_call(sim, method, *args):
    """One XAPI call over XML-RPC, as an operator's tool would make it."""
    session = XenAPI.Session(sim.url)
    session.login_with_password('root', 'secret', '1.3', 'tests')
    try:
        target = session.xenapi
        for part in method.split('.'):
            target = getattr(target, part)
        return target(*args)
    finally:
        session.xenapi.session.logout()


class XenAPIDriverTestCase(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.glance = self.useFixture(nova_fixtures.GlanceFixture(self))
        self.context = nova_context.RequestContext(
            'fake-user', 'fake-project', auth_token='token')
        self.add_image(SERVER_IMAGE, SERVER_BYTES)
        self.add_image(RESCUE_IMAGE, RESCUE_BYTES)
        self.add_image(QCOW2_IMAGE, b'QFI\xfb', disk_format='qcow2')
        self.sim = start_simulator(self)
        # As the docs ask of a XenAPI compute (nova's default, True, takes
        # the capability away: test_hostops).
        self.flags(live_migration_wait_for_vif_plug=False, group='compute')
        # The source's proof of the destination reads placement and the
        # database (tests/unit/virt/test_destination.py, functional tests).
        self.proof = self.useFixture(fixtures.MockPatch(
            'nova_rescue_lm.virt.destination.refuse_unproven')).mock

    def add_image(self, image_id, data, disk_format='raw', **properties):
        self.glance.create(None, {
            'id': image_id, 'name': 'image-%s' % image_id[-4:],
            'status': 'active', 'visibility': 'public',
            'container_format': 'bare', 'disk_format': disk_format,
            'size': len(data), 'min_ram': 0, 'min_disk': 0,
            'properties': dict(properties)}, data=io.BytesIO(data))
        return image_id

    def make_driver(self, sim=None, xapi_host='xs-a1', **options):
        sim = sim or self.sim
        self.flags(connection_url=sim.url, connection_username='root',
                   connection_password='secret', xapi_host=xapi_host,
                   group='xenserver')
        if options:
            self.flags(group='xenserver', **options)
        drv = driver.XenAPIDriver(fake.FakeVirtAPI())
        drv.init_host('compute-%s' % xapi_host)
        self.addCleanup(drv.cleanup_host, 'compute-%s' % xapi_host)
        return drv

    def make_instance(self, image_ref=SERVER_IMAGE, root_gb=1, swap=0,
                      ephemeral_gb=0, vm_state=vm_states.ACTIVE, vifs=()):
        flavor = objects.Flavor(
            id=1, name='m1.xen', memory_mb=512, vcpus=1, root_gb=root_gb,
            ephemeral_gb=ephemeral_gb, swap=swap, flavorid='1',
            rxtx_factor=1.0, vcpu_weight=1, disabled=False, is_public=True,
            extra_specs={}, projects=[])
        inst = fake_instance.fake_instance_obj(
            self.context, uuid=uuidutils.generate_uuid(), flavor=flavor,
            image_ref=image_ref, vm_state=vm_state, task_state=None,
            config_drive='', launched_at=None,
            expected_attrs=['system_metadata'])
        inst.system_metadata = {}
        inst.info_cache = objects.InstanceInfoCache(
            network_info=network_model.NetworkInfo(list(vifs)))
        inst.obj_reset_changes(recursive=True)
        return inst

    def image_meta(self, image_id):
        return objects.ImageMeta.from_image_ref(
            self.context, driver.vmops.imageops.glance.API(), image_id)

    def spawn(self, drv, inst, network_info=None):
        drv.spawn(self.context, inst, self.image_meta(inst.image_ref), [],
                  None, {}, network_info or inst.get_network_info(), None)
        return inst

    # what XAPI holds

    def vms_of(self, inst, sim=None):
        return [vm for vm in (sim or self.sim).vms()
                if vm['other_config'].get('nova_uuid') == inst.uuid]

    def the_vm(self, inst, sim=None):
        vms = self.vms_of(inst, sim)
        self.assertEqual(1, len(vms), vms)
        return vms[0]

    def disks_of(self, inst, sim=None):
        """{vdi uuid: other_config} of the instance's tagged disks."""
        return {vdi['uuid']: vdi['other_config']
                for vdi in (sim or self.sim).vdis()
                if vdi['other_config'].get('nova_instance_uuid') ==
                inst.uuid}

    def layout(self, vm):
        """[(userdevice, vdi uuid, bootable)] of a VM's disks."""
        return [(int(vbd['userdevice']), vbd['vdi_uuid'], vbd['bootable'])
                for vbd in vm['vbds']]

    def disk_bytes(self, vdi_uuid, length, sim=None):
        return (sim or self.sim).vdi_bytes(vdi_uuid)[:length]
