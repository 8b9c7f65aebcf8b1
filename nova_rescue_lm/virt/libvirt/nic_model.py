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

"""Keep the guest's NIC model while a legacy-rescued server live-migrates.

Before live migration nova rebuilds every ``<interface>`` in the destination
XML from ``instance.image_meta``, which is the server's image. A legacy rescue
domain was built from the *rescue* image's properties, so a rescue image with
another ``hw_vif_model`` or ``hw_vif_multiqueue_enabled`` would change
``<model>`` or ``<driver>`` mid-migration. libvirt's ABI check then refuses the
migration, or else the guest's NIC changes under it. The running domain is
authoritative, so these elements are copied back from it.
"""

import copy

from lxml import etree
from nova.virt.libvirt import guest as libvirt_guest

# Interface child elements that define the device the guest sees.
NIC_DEVICE_TAGS = ('model', 'driver')


def _parse(xml):
    # Encode first: lxml refuses a str that carries an encoding declaration.
    return etree.fromstring(xml.encode('utf-8'))


def _interfaces_by_mac(root):
    interfaces = {}
    for interface in root.findall('./devices/interface'):
        mac = interface.find('mac')
        address = mac.get('address') if mac is not None else None
        if address:
            # libvirt stores MACs in lower case; Neutron may not.
            interfaces[address.lower()] = interface
    return interfaces


def _replace_children(dest_interface, source_interface, tag):
    """Make ``tag`` children of dest_interface copies of the source's.

    Returns whether dest_interface changed.
    """
    old = dest_interface.findall(tag)
    new = [copy.deepcopy(e) for e in source_interface.findall(tag)]
    if ([etree.tostring(e, with_tail=False) for e in old] ==
            [etree.tostring(e, with_tail=False) for e in new]):
        return False
    # Put the source's elements where the destination had its own, else
    # at the end; element order inside <interface> carries no meaning.
    index = dest_interface.index(old[0]) if old else len(dest_interface)
    for element in old:
        dest_interface.remove(element)
    for offset, element in enumerate(new):
        element.tail = None
        dest_interface.insert(index + offset, element)
    return True


def restore_nic_models(source_xml, destination_xml):
    """Return destination_xml with each interface's model/driver from source.

    Interfaces are matched by ``<mac address>`` (case-insensitively). For
    each match the destination's ``<model>`` and ``<driver>`` become copies
    of the source's, or are removed when the source has none. Interfaces
    without a match, and everything else, are left alone; when nothing
    changes, destination_xml is returned as given.
    """
    source = _interfaces_by_mac(_parse(source_xml))
    if not source:
        return destination_xml
    dest_root = _parse(destination_xml)
    changed = False
    for mac, dest_interface in _interfaces_by_mac(dest_root).items():
        source_interface = source.get(mac)
        if source_interface is None:
            continue
        for tag in NIC_DEVICE_TAGS:
            changed |= _replace_children(dest_interface, source_interface,
                                         tag)
    if not changed:
        return destination_xml
    return etree.tostring(dest_root, encoding='unicode')


class RescueGuest(libvirt_guest.Guest):
    """A Guest whose migrate() keeps the running domain's NIC models.

    Wrap the guest handed to ``_live_migration_operation`` for a legacy
    rescue, so the rewrite happens on the destination XML nova computed,
    just before libvirt receives it, without touching the VIF driver
    (shared by concurrent operations) or the instance's image metadata.
    """

    @classmethod
    def from_guest(cls, guest):
        return cls(guest._domain)

    def migrate(self, destination, migrate_uri=None, migrate_disks=None,
                destination_xml=None, **kwargs):
        if destination_xml:
            destination_xml = restore_nic_models(
                self.get_xml_desc(dump_migratable=True), destination_xml)
        return super().migrate(
            destination, migrate_uri=migrate_uri,
            migrate_disks=migrate_disks, destination_xml=destination_xml,
            **kwargs)
