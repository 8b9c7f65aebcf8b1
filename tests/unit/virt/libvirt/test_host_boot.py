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

"""Which stopped domain a rescued server comes back in."""

from unittest import mock

from nova.compute import power_state
from nova import exception
from nova import test
from nova.virt.libvirt import config as vconfig

from nova_rescue_lm.virt.libvirt import host_boot


def _disk(path=None, name=None):
    disk = vconfig.LibvirtConfigGuestDisk()
    disk.source_path = path
    disk.source_name = name
    return disk


class DefinedRescueDomainTest(test.NoDBTestCase):

    def _host(self, *disks, missing=False):
        host = mock.Mock()
        if missing:
            host.get_guest.side_effect = exception.InstanceNotFound(
                instance_id='x')
        else:
            host.get_guest.return_value.get_all_disks.return_value = list(
                disks)
        return host

    def test_file_backed_rescue_domain(self):
        host = self._host(_disk('/i/x/disk.rescue'), _disk('/i/x/disk'))
        self.assertIs(host.get_guest.return_value,
                      host_boot.defined_rescue_domain(host, mock.sentinel.i))

    def test_rbd_backed_rescue_domain(self):
        host = self._host(_disk(name='vms/x_disk.rescue'),
                          _disk(name='vms/x_disk'))
        self.assertIsNotNone(host_boot.defined_rescue_domain(host, None))

    def test_the_server_s_own_domain_is_not_one(self):
        host = self._host(_disk('/i/x/disk'), _disk(name='vms/x_disk'),
                          _disk())
        self.assertIsNone(host_boot.defined_rescue_domain(host, None))

    def test_no_domain(self):
        self.assertIsNone(host_boot.defined_rescue_domain(
            self._host(missing=True), None))

    def test_up_states(self):
        host = mock.sentinel.host
        guest = mock.Mock()
        for state, up in ((power_state.RUNNING, True),
                          (power_state.PAUSED, True),
                          (power_state.SHUTDOWN, False),
                          (power_state.CRASHED, False)):
            guest.get_power_state.return_value = state
            self.assertEqual(up, host_boot.is_up(host, guest), state)
