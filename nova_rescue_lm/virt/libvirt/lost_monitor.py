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

"""A rescued server's live migration whose monitoring nova lost.

nova's monitor asks libvirt for the migration job's statistics every half
second. When that call fails, nova stops monitoring without rolling the
migration back: it tries to abort the job and re-raises, and the compute
manager puts the server in ERROR. This happens when the migration network is
cut: libvirt's migrate call holds the domain's state-change lock until its
keepalive gives the peer up, and the statistics call times out on the lock
first (30 s each by default). libvirt then fails the migration on its own and
resumes the guest here, which nova never learns.

For a rescued server the driver waits for libvirt's migrate call to end, and
rolls the migration back with nova's own rollback, as nova's monitor would
have, only when libvirt says the migration failed here: the migrate call
raised, no migration job is left on the domain, and the domain *runs* on
this host (libvirt leaves a source paused when it cannot tell the outcome).
In any other case nova's answer (ERROR) stands.
"""

import threading

from nova.compute import power_state
from nova import exception
from nova.virt.libvirt import driver as libvirt_driver
from oslo_log import log as logging

from nova_rescue_lm.virt.libvirt import interrupted

LOG = logging.getLogger(__name__)

#: How long libvirt's migrate call gets to end once nova's monitor stopped:
#: libvirt's keepalive gives a silent peer up after 30 s by default, and an
#: abort waits up to 30 s for the same lock.
OPERATION_SECONDS = 180

#: How long libvirt gets to drop the job once its migrate call ended.
JOB_SECONDS = 60


class Operation:
    """The thread of one migration's migrate call: when it ended, and how."""

    def __init__(self):
        self._ended = threading.Event()
        #: what the migrate call raised, or None
        self.error = None

    def run(self, method, *args, **kwargs):
        try:
            return method(*args, **kwargs)
        except Exception as e:
            self.error = e
            raise
        finally:
            self._ended.set()

    def wait(self, seconds):
        return self._ended.wait(seconds)


def _job_end(guest):
    """How libvirt's job on the domain ended: 'completed' (also nova's
    answer for a domain that is gone), 'ended' (no migration job left), or
    None while a migration job runs or libvirt cannot say.
    """
    libvirt = libvirt_driver.libvirt
    try:
        job = guest.get_job_info().type
    except libvirt.libvirtError as e:
        LOG.debug('Cannot read the domain\'s job yet: %s', e)
        return None
    if job == libvirt.VIR_DOMAIN_JOB_COMPLETED:
        return 'completed'
    if job in (libvirt.VIR_DOMAIN_JOB_BOUNDED,
               libvirt.VIR_DOMAIN_JOB_UNBOUNDED):
        return None
    return 'ended'


def failed_here(host, instance, operation):
    """Whether libvirt ended this migration as failed with the rescue
    guest running here; waits for libvirt's migrate call to end first.

    ``host`` is the driver's libvirt host, ``operation`` the migration's
    :class:`Operation`.
    """
    if operation is None:
        return False
    if not operation.wait(OPERATION_SECONDS):
        LOG.error('libvirt\'s migrate call has not ended %d s after nova '
                  'stopped monitoring the live migration; leaving the '
                  'server to nova.', OPERATION_SECONDS, instance=instance)
        return False
    if operation.error is None:
        # the migrate call succeeded: the guest is on the destination
        return False
    try:
        guest = host.get_guest(instance)
    except exception.InstanceNotFound:
        return False
    end = interrupted.wait_for(lambda: _job_end(guest), JOB_SECONDS)
    if end == 'completed':
        return False
    if end is None:
        LOG.error('libvirt still reports a job on the domain (or cannot '
                  'say) after the migrate call ended; leaving the server to '
                  'nova.', instance=instance)
        return False
    try:
        state = guest.get_power_state(host)
    except Exception as e:
        LOG.error('Cannot read the domain\'s state after the migrate call '
                  'failed (%s); leaving the server to nova.', e,
                  instance=instance)
        return False
    if state != power_state.RUNNING:
        LOG.error('The migrate call failed and the domain here is %s, not '
                  'running; where the guest runs cannot be told, leaving '
                  'the server to nova.',
                  power_state.STATE_MAP.get(state, state),
                  instance=instance)
        return False
    return True
