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

"""``[DEFAULT] rescue_timeout`` with rescued servers that live-migrate.

nova-compute's periodic task unrescues the host's expired rescues one after
the other, with no try block around each. A rescued server whose live
migration is running cannot be unrescued (task state ``migrating``), and
the error used to end the run for every other server of the host. Its
``launched_at`` is kept by the migration, so the destination's periodic task
unrescues it once it has landed; until then it is skipped here.

The periodic task calls only ``unrescue`` of nova-compute's own compute API
object, so the driver gives nova-compute a subclass of nova's compute API
that differs in that method alone.
"""

from nova.compute import api as compute_api
from nova import exception
from oslo_log import log as logging

LOG = logging.getLogger(__name__)


class API(compute_api.API):
    """nova's compute API, whose unrescue never ends the periodic run."""

    def unrescue(self, context, instance):
        try:
            return super().unrescue(context, instance)
        except (exception.InstanceInvalidState,
                exception.UnexpectedTaskStateError) as e:
            LOG.info('Rescue timeout: not unrescued now (%s); it is '
                     'unrescued where it runs once nothing else is in '
                     'progress.', e, instance=instance)


def install(virtapi):
    """Give nova-compute's manager this compute API; True if done."""
    manager = getattr(virtapi, '_compute', None)
    current = getattr(manager, 'compute_api', None)
    if type(current) is not compute_api.API:
        LOG.warning('nova-compute\'s compute API is not nova\'s (%s): a '
                    'rescued server that is migrating may end the periodic '
                    'rescue timeout run for the other servers of this host.',
                    type(current).__name__)
        return False
    manager.compute_api = API()
    return True
