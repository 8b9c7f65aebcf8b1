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

"""When the driver takes over a migration whose monitoring nova lost."""

import threading
from unittest import mock

import fixtures
from nova.compute import power_state
from nova import exception
from nova import test
from nova.tests.fixtures import libvirt as fakelibvirt

from nova_rescue_lm.virt.libvirt import lost_monitor

LOCK = fakelibvirt.make_libvirtError(
    fakelibvirt.libvirtError, 'cannot acquire state change lock',
    error_code=fakelibvirt.VIR_ERR_OPERATION_TIMEOUT)


class FailedHereTest(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fakelibvirt.LibvirtFixture())
        self.useFixture(fixtures.MonkeyPatch(
            'nova_rescue_lm.virt.libvirt.interrupted._POLL', 0))
        self.guest = mock.Mock()
        self.guest.get_job_info.return_value = mock.Mock(
            type=fakelibvirt.VIR_DOMAIN_JOB_NONE)
        self.guest.get_power_state.return_value = power_state.RUNNING
        self.host = mock.Mock()
        self.host.get_guest.return_value = self.guest
        self.operation = self._ended(RuntimeError('client socket is closed'))

    def _ended(self, error=None):
        operation = lost_monitor.Operation()

        def call():
            if error:
                raise error
        try:
            operation.run(call)
        except RuntimeError:
            pass
        return operation

    def _failed_here(self):
        return lost_monitor.failed_here(self.host, mock.sentinel.instance,
                                        self.operation)

    def test_failed_call_no_job_running_here(self):
        self.assertTrue(self._failed_here())
        self.guest.get_power_state.assert_called_once_with(self.host)

    def test_waits_for_the_lock_to_be_free(self):
        self.guest.get_job_info.side_effect = [
            LOCK, LOCK, mock.Mock(type=fakelibvirt.VIR_DOMAIN_JOB_UNBOUNDED),
            mock.Mock(type=fakelibvirt.VIR_DOMAIN_JOB_FAILED)]
        self.assertTrue(self._failed_here())
        self.assertEqual(4, self.guest.get_job_info.call_count)

    def test_no_operation_of_this_migration(self):
        self.operation = None
        self.assertFalse(self._failed_here())

    def test_migrate_call_succeeded(self):
        self.operation = self._ended()
        self.assertFalse(self._failed_here())
        self.host.get_guest.assert_not_called()

    def test_migrate_call_still_running(self):
        self.useFixture(fixtures.MonkeyPatch(
            'nova_rescue_lm.virt.libvirt.lost_monitor.OPERATION_SECONDS',
            0.01))
        self.operation = lost_monitor.Operation()
        self.assertFalse(self._failed_here())
        self.host.get_guest.assert_not_called()

    def test_domain_gone(self):
        self.host.get_guest.side_effect = exception.InstanceNotFound(
            instance_id='x')
        self.assertFalse(self._failed_here())

    def test_job_completed(self):
        self.guest.get_job_info.return_value.type = (
            fakelibvirt.VIR_DOMAIN_JOB_COMPLETED)
        self.assertFalse(self._failed_here())
        self.guest.get_power_state.assert_not_called()

    def test_job_never_ends(self):
        self.useFixture(fixtures.MonkeyPatch(
            'nova_rescue_lm.virt.libvirt.lost_monitor.JOB_SECONDS', 0.01))
        self.guest.get_job_info.side_effect = LOCK
        self.assertFalse(self._failed_here())
        self.guest.get_power_state.assert_not_called()

    def test_paused_or_shut_off_here(self):
        for state in (power_state.PAUSED, power_state.SHUTDOWN):
            self.guest.get_power_state.return_value = state
            self.assertFalse(self._failed_here())

    def test_state_unreadable(self):
        self.guest.get_power_state.side_effect = exception.InternalError(
            'gone')
        self.assertFalse(self._failed_here())


class OperationTest(test.NoDBTestCase):

    def test_records_the_error_and_the_end(self):
        operation = lost_monitor.Operation()
        self.assertFalse(operation.wait(0))
        started, release = threading.Event(), threading.Event()

        def call(value):
            started.set()
            release.wait(5)
            raise ValueError(value)
        thread = threading.Thread(
            target=lambda: self.assertRaises(ValueError, operation.run,
                                             call, 'socket closed'))
        thread.start()
        self.assertTrue(started.wait(5))
        self.assertFalse(operation.wait(0.01))
        release.set()
        self.assertTrue(operation.wait(5))
        thread.join(5)
        self.assertEqual('socket closed', str(operation.error))

    def test_returns_the_result(self):
        operation = lost_monitor.Operation()
        self.assertEqual(3, operation.run(lambda a, b: a + b, 1, 2))
        self.assertTrue(operation.wait(0))
        self.assertIsNone(operation.error)
