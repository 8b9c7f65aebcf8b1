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

"""The machine type of a server that nova's own driver rescued.

When the rescue image names no ``hw_machine_type``, nova's rescue records
the machine type it built the rescue domain with as the server's own
(``image_hw_machine_type`` in system metadata): a q35 server rescued with a
plain image is recorded as, say, ``pc``. nova's own unrescue does not notice,
because it redefines the domain saved in ``unrescue.xml``; the package's
unrescue rebuilds the server from the database, so for a server rescued
before the package was installed it first restores the machine type from
that file. It is the one value ever read from ``unrescue.xml``: the machine
type of the domain the server ran before the rescue, which belongs to the
server, not to the host. The package's own rescue keeps the record intact.
"""

import os

from lxml import etree
from nova.virt.libvirt import utils as libvirt_utils
from oslo_log import log as logging

from nova_rescue_lm.virt.libvirt import artifacts

LOG = logging.getLogger(__name__)

KEY = 'image_hw_machine_type'


def family(machine_type):
    """'q35' for q35 and pc-q35-8.2, 'pc' for pc, pc-i440fx-8.2 and
    pc-0.12; otherwise the name up to its first dash.
    """
    name = (machine_type or '').lower()
    if name == 'q35' or name.startswith('pc-q35'):
        return 'q35'
    if name == 'pc' or name.startswith('pc-'):
        return 'pc'
    return name.split('-')[0]


def saved_by_nova(instance):
    """The machine type in the instance's unrescue.xml, or None."""
    path = os.path.join(libvirt_utils.get_instance_path(instance),
                        artifacts.UNRESCUE_XML)
    try:
        tree = etree.parse(path)
    except (OSError, etree.XMLSyntaxError):
        return None
    os_type = tree.find('./os/type')
    return None if os_type is None else os_type.get('machine')


def restore(instance):
    """Undo nova's rescue having overwritten the server's machine type.

    Only for servers rescued by nova's own driver (no rescue record); the
    caller saves the instance.
    """
    saved = saved_by_nova(instance)
    recorded = instance.system_metadata.get(KEY)
    if not saved or family(saved) == family(recorded):
        return False
    LOG.info('Restoring the machine type %(saved)s of the server, which '
             'nova\'s rescue recorded as %(recorded)s.',
             {'saved': saved, 'recorded': recorded}, instance=instance)
    instance.system_metadata[KEY] = saved
    return True
