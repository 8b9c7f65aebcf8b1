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

"""A rescued server rebuilt on another host by an evacuation (2.106).

The rescue ends there: nova rebuilds the server's own domain, and the
driver removes what the rescue left where the new host can see it (a shared
instance directory, RBD) and clears the rescue record. Whether the root disk
is the one being repaired or a new copy of the image is the difference that
matters to the operator, so it is recorded as an event of the evacuate
action (``openstack server event show``), by its name.
"""

from nova.compute import task_states
from nova import objects
from oslo_log import log as logging

from nova_rescue_lm.virt import rescue_record

LOG = logging.getLogger(__name__)

#: Events of the evacuate action, in success: the rescue ended, and the
#: root disk is the very disk (shared storage, volume) or was rebuilt from
#: the server's image (changes made to it, during the rescue too, are lost).
EVENT_ROOT_KEPT = 'compute_rescue_ended_root_disk_kept'
EVENT_ROOT_REBUILT = 'compute_rescue_ended_root_disk_rebuilt_from_image'


def ends_rescue(instance):
    """True when a rebuild of ``instance`` is about to boot it here while
    it is still rescued (evacuated in RESCUE, or put in ERROR while
    rescued and then rebuilt).
    """
    return (instance.task_state == task_states.REBUILD_SPAWNING and
            rescue_record.in_rescue(instance))


def record(context, instance, host, root_kept):
    """Say what became of the root disk; never raises."""
    event = EVENT_ROOT_KEPT if root_kept else EVENT_ROOT_REBUILT
    if root_kept:
        LOG.info('The rescue of this server ends with its evacuation; it '
                 'boots its own root disk.', instance=instance)
    else:
        LOG.warning('The rescue of this server ends with its evacuation; '
                    'its instance storage is not shared, so its root disk '
                    'is rebuilt from its image %s and what was written to '
                    'the old one is lost.', instance.image_ref,
                    instance=instance)
    try:
        objects.InstanceActionEvent.event_start(
            context, instance.uuid, event, want_result=False, host=host)
        objects.InstanceActionEvent.event_finish(
            context, instance.uuid, event, want_result=False)
    except Exception:
        LOG.exception('Could not record the end of the rescue.',
                      instance=instance)
