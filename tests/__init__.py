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

"""nova-rescue-lm's tests.

Nova's concurrency mode is chosen here, before any test module imports
anything: eventlet monkey patching, or with
``OS_NOVA_DISABLE_EVENTLET_PATCHING=1`` native threads with eventlet
forbidden (``nova.monkey_patch``, as nova's own test packages do). Patching
any later lets a module such as oslo.db's enginefacade keep the real
``threading.local``; green threads then share one database transaction per
request context and a write made in one of them can vanish (seen as a lost
instance network info cache when a discovery imported the unit tests first).
"""

from nova import monkey_patch

monkey_patch.patch()
