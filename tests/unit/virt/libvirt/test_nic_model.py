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

"""The guest's NIC model and driver survive the destination XML rewrite."""

from unittest import mock

from lxml import etree
from nova import test
from nova.tests import fixtures as nova_fixtures
from nova.virt.libvirt import guest as libvirt_guest

from nova_rescue_lm.virt.libvirt import nic_model

MAC_A = 'fa:16:3e:5c:1d:01'
MAC_B = 'fa:16:3e:8e:42:b7'
MAC_C = 'fa:16:3e:00:9a:33'

# The running domain as libvirt dumps it (VIR_DOMAIN_XML_MIGRATABLE).
SOURCE_DOMAIN = """<domain type='kvm' id='7'>
  <name>instance-0000002a</name>
  <uuid>0c7a2a8e-7e55-4b37-9c1e-31c2f1c9a6d4</uuid>
  <metadata>
    <nova:instance xmlns:nova="http://openstack.org/xmlns/libvirt/nova/1.1">
      <nova:name>web-1</nova:name>
    </nova:instance>
  </metadata>
  <memory unit='KiB'>1048576</memory>
  <vcpu placement='static'>2</vcpu>
  <os>
    <type arch='x86_64' machine='pc-q35-8.2'>hvm</type>
    <boot dev='hd'/>
  </os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='none'/>
      <source file='/var/lib/nova/instances/0c7a/disk.rescue'/>
      <target dev='vda' bus='virtio'/>
      <alias name='virtio-disk0'/>
    </disk>
%s
    <serial type='pty'>
      <target type='isa-serial' port='0'/>
    </serial>
  </devices>
</domain>
"""

# What nova's get_updated_guest_xml() hands to Guest.migrate(): interfaces
# rebuilt from the server image's properties, serialized by lxml.
DEST_DOMAIN = """<domain type="kvm" id="7">
  <name>instance-0000002a</name>
  <uuid>0c7a2a8e-7e55-4b37-9c1e-31c2f1c9a6d4</uuid>
  <memory unit="KiB">1048576</memory>
  <vcpu placement="static">2</vcpu>
  <os>
    <type arch="x86_64" machine="pc-q35-8.2">hvm</type>
    <boot dev="hd"/>
  </os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type="file" device="disk">
      <driver name="qemu" type="qcow2" cache="none"/>
      <source file="/var/lib/nova/instances/0c7a/disk.rescue"/>
      <target dev="vda" bus="virtio"/>
    </disk>
%s
    <serial type="pty">
      <target type="isa-serial" port="0"/>
    </serial>
  </devices>
</domain>"""


def source_nic(mac, model, driver='', slot='0x03', bridge='qbr4a1c2e3f-aa'):
    return """    <interface type='bridge'>
      <mac address='%(mac)s'/>
      <source bridge='%(bridge)s'/>
      <target dev='tap%(slot)s'/>
      %(model)s
      %(driver)s
      <mtu size='1450'/>
      <alias name='net0'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='%(slot)s'
               function='0x0'/>
    </interface>""" % {
        'mac': mac, 'slot': slot, 'bridge': bridge, 'driver': driver,
        'model': "<model type='%s'/>" % model if model else ''}


def dest_nic(mac, model, driver='', slot='0x03', bridge='qbr4a1c2e3f-aa'):
    return (
        '    <interface type="bridge"><mac address="%(mac)s"/>%(model)s'
        '%(driver)s<source bridge="%(bridge)s"/><mtu size="1450"/>'
        '<target dev="tap%(slot)s"/><address type="pci" domain="0x0000" '
        'bus="0x00" slot="%(slot)s" function="0x0"/></interface>' % {
            'mac': mac, 'slot': slot, 'bridge': bridge, 'driver': driver,
            'model': '<model type="%s"/>' % model if model else ''})


def nic(xml, mac):
    """(model type, driver attributes) of the interface with MAC mac."""
    root = etree.fromstring(xml)
    for interface in root.findall('./devices/interface'):
        if interface.find('mac').get('address').lower() == mac.lower():
            models = interface.findall('model')
            drivers = interface.findall('driver')
            assert len(models) <= 1 and len(drivers) <= 1, xml
            return (models[0].get('type') if models else None,
                    dict(drivers[0].attrib) if drivers else None)
    raise AssertionError('no interface %s in %s' % (mac, xml))


def macs(xml):
    root = etree.fromstring(xml)
    return [i.find('mac').get('address')
            for i in root.findall('./devices/interface')]


def without_nic_devices(xml):
    """Canonical xml with interfaces' <model>/<driver> dropped."""
    root = etree.fromstring(xml)
    for interface in root.findall('./devices/interface'):
        for element in interface.findall('model') + interface.findall(
                'driver'):
            interface.remove(element)
    return etree.tostring(root, method='c14n')


class RestoreNICModelsTest(test.NoDBTestCase):

    def _restore(self, source_nics, dest_nics):
        dest = DEST_DOMAIN % '\n'.join(dest_nics)
        result = nic_model.restore_nic_models(
            SOURCE_DOMAIN % '\n'.join(source_nics), dest)
        # Nothing but <model> and <driver> of interfaces may change.
        self.assertEqual(without_nic_devices(dest),
                         without_nic_devices(result))
        return result

    def test_model_restored(self):
        result = self._restore([source_nic(MAC_A, 'e1000')],
                               [dest_nic(MAC_A, 'virtio')])
        self.assertEqual(('e1000', None), nic(result, MAC_A))

    def test_driver_queues_restored(self):
        # Rescue image had hw_vif_multiqueue_enabled, server image not.
        result = self._restore(
            [source_nic(MAC_A, 'virtio',
                        "<driver name='vhost' queues='2'/>")],
            [dest_nic(MAC_A, 'virtio')])
        self.assertEqual(('virtio', {'name': 'vhost', 'queues': '2'}),
                         nic(result, MAC_A))

    def test_driver_queues_replaced(self):
        result = self._restore(
            [source_nic(MAC_A, 'virtio',
                        "<driver name='vhost' queues='2'/>")],
            [dest_nic(MAC_A, 'virtio', '<driver name="vhost" queues="4"/>')])
        self.assertEqual(('virtio', {'name': 'vhost', 'queues': '2'}),
                         nic(result, MAC_A))

    def test_driver_removed_when_source_has_none(self):
        result = self._restore(
            [source_nic(MAC_A, 'e1000')],
            [dest_nic(MAC_A, 'virtio', '<driver name="vhost" queues="4"/>')])
        self.assertEqual(('e1000', None), nic(result, MAC_A))

    def test_model_removed_when_source_has_none(self):
        result = self._restore([source_nic(MAC_A, None)],
                               [dest_nic(MAC_A, 'virtio')])
        self.assertEqual((None, None), nic(result, MAC_A))

    def test_driver_subelements_copied(self):
        driver = ("<driver name='vhost' queues='2'>"
                  "<host csum='off'/><guest tso4='off'/></driver>")
        result = self._restore([source_nic(MAC_A, 'virtio', driver)],
                               [dest_nic(MAC_A, 'virtio')])
        interface = etree.fromstring(result).find('./devices/interface')
        self.assertEqual('off', interface.find('driver/host').get('csum'))
        self.assertEqual('off', interface.find('driver/guest').get('tso4'))

    def test_matched_by_mac_when_order_differs(self):
        result = self._restore(
            [source_nic(MAC_A, 'e1000', slot='0x03'),
             source_nic(MAC_B, 'rtl8139', slot='0x04')],
            [dest_nic(MAC_B, 'virtio', slot='0x04'),
             dest_nic(MAC_A, 'virtio', slot='0x03')])
        self.assertEqual([MAC_B, MAC_A], macs(result))
        self.assertEqual(('rtl8139', None), nic(result, MAC_B))
        self.assertEqual(('e1000', None), nic(result, MAC_A))

    def test_matched_by_mac_case_insensitively(self):
        result = self._restore([source_nic(MAC_A, 'e1000')],
                               [dest_nic(MAC_A.upper(), 'virtio')])
        self.assertEqual(('e1000', None), nic(result, MAC_A))

    def test_interface_only_in_destination_left_alone(self):
        result = self._restore(
            [source_nic(MAC_A, 'e1000')],
            [dest_nic(MAC_A, 'virtio'),
             dest_nic(MAC_C, 'virtio', '<driver name="vhost" queues="4"/>',
                      slot='0x05')])
        self.assertEqual(('e1000', None), nic(result, MAC_A))
        self.assertEqual(('virtio', {'name': 'vhost', 'queues': '4'}),
                         nic(result, MAC_C))

    def test_other_elements_of_the_interface_kept(self):
        # The destination's <source> (new port binding) is not touched.
        result = self._restore(
            [source_nic(MAC_A, 'e1000', bridge='qbr-source')],
            [dest_nic(MAC_A, 'virtio', bridge='qbr-dest')])
        interface = etree.fromstring(result).find('./devices/interface')
        self.assertEqual('qbr-dest', interface.find('source').get('bridge'))
        self.assertIsNone(interface.find('alias'))

    def test_no_interfaces_unchanged(self):
        dest = ("<?xml version='1.0' encoding='UTF-8'?>\n" +
                DEST_DOMAIN % '')
        self.assertIs(dest, nic_model.restore_nic_models(
            SOURCE_DOMAIN % '', dest))
        self.assertIs(dest, nic_model.restore_nic_models(
            SOURCE_DOMAIN % source_nic(MAC_A, 'e1000'), dest))

    def test_same_nics_unchanged(self):
        dest = DEST_DOMAIN % dest_nic(
            MAC_A, 'virtio', '<driver name="vhost" queues="2"/>')
        self.assertIs(dest, nic_model.restore_nic_models(
            SOURCE_DOMAIN % source_nic(
                MAC_A, 'virtio', "<driver name='vhost' queues='2'/>"),
            dest))

    def test_xml_declaration_accepted(self):
        result = nic_model.restore_nic_models(
            "<?xml version='1.0' encoding='UTF-8'?>\n" +
            SOURCE_DOMAIN % source_nic(MAC_A, 'e1000'),
            "<?xml version='1.0' encoding='UTF-8'?>\n" +
            DEST_DOMAIN % dest_nic(MAC_A, 'virtio'))
        self.assertEqual(('e1000', None), nic(result, MAC_A))


class RescueGuestTest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        # guest.libvirt is fakelibvirt: flag values for XMLDesc/migrate.
        self.useFixture(nova_fixtures.LibvirtFixture())
        self.domain = mock.Mock(spec=['XMLDesc', 'migrateToURI3'])
        self.domain.XMLDesc.return_value = SOURCE_DOMAIN % source_nic(
            MAC_A, 'e1000')
        self.guest = nic_model.RescueGuest.from_guest(
            libvirt_guest.Guest(self.domain))

    def test_is_a_guest_of_the_same_domain(self):
        self.assertIsInstance(self.guest, libvirt_guest.Guest)
        self.assertIs(self.domain, self.guest._domain)

    def test_migrate_passes_rewritten_destination_xml(self):
        dest = DEST_DOMAIN % dest_nic(MAC_A, 'virtio',
                                      '<driver name="vhost" queues="4"/>')
        self.guest.migrate('qemu+tcp://dest/system',
                           migrate_uri='tcp://dest',
                           migrate_disks=['vda'], destination_xml=dest,
                           flags=libvirt_guest.libvirt.VIR_MIGRATE_LIVE,
                           bandwidth=0, parallel=1)

        self.domain.XMLDesc.assert_called_once_with(
            flags=libvirt_guest.libvirt.VIR_DOMAIN_XML_MIGRATABLE)
        self.domain.migrateToURI3.assert_called_once_with(
            'qemu+tcp://dest/system', params=mock.ANY,
            flags=libvirt_guest.libvirt.VIR_MIGRATE_LIVE)
        params = self.domain.migrateToURI3.call_args.kwargs['params']
        self.assertEqual(('e1000', None),
                         nic(params['destination_xml'], MAC_A))
        self.assertEqual(params['destination_xml'], params['persistent_xml'])
        self.assertEqual(['vda'], params['migrate_disks'])
        self.assertEqual('tcp://dest', params['migrate_uri'])

    def test_migrate_without_destination_xml(self):
        self.guest.migrate('qemu+tcp://dest/system',
                           flags=libvirt_guest.libvirt.VIR_MIGRATE_LIVE)

        self.domain.XMLDesc.assert_not_called()
        params = self.domain.migrateToURI3.call_args.kwargs['params']
        self.assertNotIn('destination_xml', params)
