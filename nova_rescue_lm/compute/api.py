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

"""Compute API that moves rescued servers when the caller opts in.

The REST layer opts in through :func:`rescued_live_migration` (microversion
2.105 or later) and :func:`rescued_evacuation` (2.106 or later); without
it, and for every other server and operation, nova's behaviour is unchanged.
"""

import contextlib
import contextvars
import functools

from nova.compute import api as compute_api
from nova.compute import vm_states

from nova_rescue_lm.compute import capability
from nova_rescue_lm.compute import destination_nodes
from nova_rescue_lm.compute import evacuate_checks
from nova_rescue_lm.compute import live_migrate_checks
from nova_rescue_lm.compute import scheduling

_opted_in = contextvars.ContextVar('rescue_lm_opted_in', default=False)
_evacuation_opted_in = contextvars.ContextVar('rescue_lm_evacuation',
                                              default=False)


@functools.lru_cache(maxsize=None)
def _live_migrate_rescued():
    # Built on first use: only a router that passed nova_shape's checks
    # opts a request in.
    return live_migrate_checks.rescued_live_migrate(capability.check_nodes)


@functools.lru_cache(maxsize=None)
def _evacuate_rescued():
    return evacuate_checks.rescued_evacuate(capability.check_destination)


@contextlib.contextmanager
def _opting_in(var, allowed):
    token = var.set(allowed)
    try:
        yield
    finally:
        var.reset(token)


def rescued_live_migration(allowed):
    """Within this block, ``live_migrate`` accepts rescued servers if
    ``allowed``.
    """
    return _opting_in(_opted_in, allowed)


def rescued_evacuation(allowed):
    """Within this block, ``evacuate`` accepts rescued servers if
    ``allowed``.
    """
    return _opting_in(_evacuation_opted_in, allowed)


class API(compute_api.API):

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.compute_task_api = scheduling.ComputeTaskAPI()

    def live_migrate(self, context, instance, block_migration,
                     disk_over_commit, host_name, force=None, async_=False):
        if instance.vm_state == vm_states.RESCUED and _opted_in.get():
            with destination_nodes.handing_over():
                return _live_migrate_rescued()(
                    self, context, instance, block_migration,
                    disk_over_commit, host_name, force=force, async_=async_)
        return super().live_migrate(
            context, instance, block_migration, disk_over_commit, host_name,
            force=force, async_=async_)

    def evacuate(self, context, instance, host, on_shared_storage,
                 admin_password=None, force=None, target_state=None):
        if (instance.vm_state == vm_states.RESCUED and
                _evacuation_opted_in.get()):
            with destination_nodes.handing_over():
                return _evacuate_rescued()(
                    self, context, instance, host, on_shared_storage,
                    admin_password=admin_password, force=force,
                    target_state=target_state)
        return super().evacuate(
            context, instance, host, on_shared_storage,
            admin_password=admin_password, force=force,
            target_state=target_state)
