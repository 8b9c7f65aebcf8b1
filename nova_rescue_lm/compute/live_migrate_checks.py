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

"""nova's live-migration checks, re-applied for servers in RESCUE state.

``nova.compute.api.API.live_migrate`` carries nine decorators; the innermost
allows only ACTIVE and PAUSED servers. A rescued server must pass every other
check (shares, extended resource requests, port accelerators, vDPA,
accelerators, legacy vTPM, memory encryption, lock) unchanged, so the same
nova decorators are applied here, in nova's order, around nova's undecorated
method, with the state check widened to RESCUED and the capability check
placed just inside it.

Because this repeats nova's decorator list, :func:`differences` compares
the stack built here (:mod:`nova_rescue_lm.compute.rescued_stack`) with the
installed ``live_migrate`` layer by layer, with every decorator's
arguments; :mod:`nova_rescue_lm.nova_shape` switches the feature off when
anything differs.
"""

from nova.compute import api as compute_api
from nova.compute import instance_actions
from nova.compute import vm_states

from nova_rescue_lm.compute import rescued_stack


def nova_decorators(state_check):
    """nova 34's decorators of ``live_migrate``, innermost first.

    ``state_check`` stands where nova has its vm_state check.
    """
    return [
        state_check,
        compute_api.check_instance_lock,
        compute_api.reject_mem_enc_instances(instance_actions.LIVE_MIGRATION),
        compute_api.reject_legacy_vtpm_live_migration,
        compute_api.block_accelerators(),
        compute_api.reject_vdpa_instances(
            instance_actions.LIVE_MIGRATION,
            until=compute_api.MIN_COMPUTE_VDPA_HOTPLUG_LIVE_MIGRATION),
        compute_api.block_port_accelerators(),
        compute_api.block_extended_resource_request,
        compute_api.block_shares_not_supported(),
    ]


def rescued_state_check():
    return compute_api.check_instance_state(vm_state=[vm_states.RESCUED])


def rescued_live_migrate(capability_check):
    """nova's ``live_migrate`` accepting RESCUED, with ``capability_check``.

    ``capability_check(api, context, instance, host_name)`` runs after every
    nova check and before the server's task state changes.
    """
    return rescued_stack.build(
        compute_api.API.live_migrate,
        nova_decorators(rescued_state_check()), capability_check,
        'host_name')


def differences(stock=None):
    """What differs between the stack built here and nova's (``[]``)."""
    return rescued_stack.differences(
        'live_migrate', rescued_live_migrate(lambda *args: None),
        stock or compute_api.API.live_migrate)
