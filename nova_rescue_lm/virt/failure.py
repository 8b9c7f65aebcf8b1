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

"""What an operator sees of a rescued server's failed live migration.

nova 34 re-raises the migrate call's error after its own rollback, which
would put a server that still runs on the source in ERROR; for a rescued
server the driver ends a rolled-back migration cleanly instead, and the
server stays RESCUE on the source. So that the failure is not silent, its
reason is recorded where operators look: an instance action event in error
(``openstack server event show``) and an instance fault.
"""

from nova.compute import utils as compute_utils
from nova import exception
from nova import objects
from oslo_log import log as logging

from nova_rescue_lm.i18n import _

LOG = logging.getLogger(__name__)

#: Instance action event of the live migration's request, in error.
EVENT = 'compute_rescued_live_migration_rolled_back'


def record(context, instance, host, exc):
    """Record ``exc`` (being handled) against ``instance``; never raises.

    nova shows users the message of its own exceptions only (another
    exception is shown by its class name), so the reason is carried by a
    ``MigrationError``, the hypervisor's words first: nova keeps 255
    characters of it in the event.
    """
    tb = exc.__traceback__
    exc = exception.MigrationError(reason=_(
        '%(exc)s; rolled back, the rescued server stays on %(host)s') % {
            'exc': exc, 'host': host})
    exc_info = (type(exc), exc, tb)
    try:
        objects.InstanceActionEvent.event_start(
            context, instance.uuid, EVENT, want_result=False, host=host)
        objects.InstanceActionEvent.event_finish_with_failure(
            context, instance.uuid, EVENT, exc_val=exc, exc_tb=tb,
            want_result=False)
    except exception.InstanceActionNotFound:
        LOG.warning('No instance action to record the failed live '
                    'migration in.', instance=instance)
    except Exception:
        LOG.exception('Could not record the failed live migration.',
                      instance=instance)
    try:
        compute_utils.add_instance_fault_from_exc(context, instance, exc,
                                                  exc_info)
    except Exception:
        LOG.exception('Could not record the fault of the failed live '
                      'migration.', instance=instance)
