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

"""The test process runs in one consistent nova concurrency mode."""

import os
import sys
import threading

from oslo_db.sqlalchemy import enginefacade
import testtools


def _threading_mode():
    return os.environ.get(
        'OS_NOVA_DISABLE_EVENTLET_PATCHING', '').lower() in (
            '1', 'true', 'yes', 'y')


class TestConcurrencyMode(testtools.TestCase):

    @testtools.skipIf(_threading_mode(), 'eventlet mode only')
    def test_database_transactions_are_per_green_thread(self):
        from eventlet import corolocal
        from eventlet import patcher
        self.assertTrue(patcher.is_monkey_patched('thread'))
        # Patched before oslo.db was imported: its transaction context is a
        # green-thread local, not one shared by every green thread.
        self.assertTrue(issubclass(enginefacade._TransactionContextTLocal,
                                   corolocal.local))
        self.assertIs(corolocal.local, threading.local)

    @testtools.skipUnless(_threading_mode(), 'native threading mode only')
    def test_eventlet_is_not_loaded(self):
        self.assertNotIn('eventlet', sys.modules)
        self.assertRaises(ImportError, __import__, 'eventlet.green.os')
