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

"""Let the scheduler pick only capable destinations, persisting nothing.

Live migration and evacuation of a rescued server both go through here. The
conductor's live-migration task rebuilds ``request_level_params`` and
never saves the request spec, except through ``heal_reqspec_is_bfv`` when
``is_bfv`` is missing; its evacuation schedules from the request spec it is
given and saves it nowhere either. So the flavor carried by the in-flight
request spec is replaced by a copy that requires the capability trait,
after ``is_bfv`` has been healed here; the request spec in the database
stays as it was.

The copy asks for both signals of :mod:`nova_rescue_lm.capability`: the trait
(placement's pre-filter) and the stats marker (nova's
ComputeCapabilitiesFilter, enabled by default). Where an operator disabled
that filter, a node with a stale trait can still be picked; the source
compute's pre-check then refuses it and the conductor tries the next host.
"""

from nova.compute import utils as compute_utils
from nova.compute import vm_states
from nova.conductor import api as conductor_api

from nova_rescue_lm import capability
from nova_rescue_lm.virt import rescue_record


def require_capable_destination(context, instance, request_spec,
                                evacuation=False):
    """Return ``request_spec`` whose flavor requires the capability trait
    (and, for an ``evacuation``, the stats key of drivers that take one).
    """
    # Heal first: this is the one save() on the live-migration path, and it
    # must not write the trait below into the database.
    compute_utils.heal_reqspec_is_bfv(context, request_spec, instance)
    required = {'trait:' + capability.TRAIT: 'required',
                capability.STAT_EXTRA_SPEC: 'True'}
    if evacuation:
        required[capability.STAT_EVACUATION_EXTRA_SPEC] = 'True'
    flavor = request_spec.flavor.obj_clone()
    flavor.extra_specs = dict(flavor.extra_specs, **required)
    request_spec.flavor = flavor
    return request_spec


class ComputeTaskAPI(conductor_api.ComputeTaskAPI):
    """Conductor client that steers rescued servers to capable hosts."""

    def live_migrate_instance(self, context, instance, host_name,
                              block_migration, disk_over_commit,
                              request_spec=None, async_=False):
        if instance.vm_state == vm_states.RESCUED and request_spec:
            request_spec = require_capable_destination(
                context, instance, request_spec)
        return super().live_migrate_instance(
            context, instance, host_name, block_migration, disk_over_commit,
            request_spec=request_spec, async_=async_)

    def rebuild_instance(self, context, instance, orig_image_ref, image_ref,
                         injected_files, new_pass, orig_sys_metadata,
                         bdms, recreate=False, on_shared_storage=False,
                         preserve_ephemeral=False, host=None,
                         request_spec=None, reimage_boot_volume=False,
                         target_state=None):
        # recreate: an evacuation (the only rebuild of a rescued server, or
        # of one put in ERROR while rescued, whose record says so)
        if (recreate and request_spec and
                rescue_record.in_rescue(instance)):
            request_spec = require_capable_destination(
                context, instance, request_spec, evacuation=True)
        return super().rebuild_instance(
            context, instance, orig_image_ref, image_ref, injected_files,
            new_pass, orig_sys_metadata, bdms, recreate=recreate,
            on_shared_storage=on_shared_storage,
            preserve_ephemeral=preserve_ephemeral, host=host,
            request_spec=request_spec,
            reimage_boot_volume=reimage_boot_volume,
            target_state=target_state)
