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

"""nova's evacuate checks, re-applied for servers in RESCUE state.

``nova.compute.api.API.evacuate`` carries six decorators; the innermost
allows only ACTIVE, STOPPED and ERROR servers. A rescued server must pass
every other one (shares, extended resource requests, port accelerators,
vTPM, accelerators) unchanged, so, as for live migration
(:mod:`nova_rescue_lm.compute.rescued_stack`), the same decorators are
applied in nova's order around nova's undecorated method, with the state
check widened to RESCUED and the capability check just inside it.
:func:`differences` holds this stack against the installed nova's.
"""

from nova.compute import api as compute_api
from nova.compute import instance_actions
from nova.compute import vm_states

from nova_rescue_lm.compute import rescued_stack


def nova_decorators(state_check):
    """nova 34's decorators of ``evacuate``, innermost first.

    ``state_check`` stands where nova has its vm_state check.
    """
    return [
        state_check,
        compute_api.block_accelerators(
            until_service=compute_api.SUPPORT_ACCELERATOR_SERVICE_FOR_REBUILD),
        compute_api.reject_vtpm_instances(instance_actions.EVACUATE),
        compute_api.block_port_accelerators(),
        compute_api.block_extended_resource_request,
        compute_api.block_shares_not_supported(),
    ]


def rescued_state_check():
    # nova's evacuate leaves the task state to its instance.save()
    return compute_api.check_instance_state(vm_state=[vm_states.RESCUED],
                                            task_state=None)


def rescued_evacuate(capability_check):
    """nova's ``evacuate`` accepting RESCUED, with ``capability_check``.

    ``capability_check(api, context, instance, host)`` runs after every
    nova check and before the server's task state changes.
    """
    return rescued_stack.build(
        compute_api.API.evacuate, nova_decorators(rescued_state_check()),
        capability_check, 'host')


def differences(stock=None):
    """What differs between the stack built here and nova's (``[]``)."""
    return rescued_stack.differences(
        'evacuate', rescued_evacuate(lambda *args: None),
        stock or compute_api.API.evacuate)
