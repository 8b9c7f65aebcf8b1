"""nova's live-migration checks, re-applied for servers in RESCUE state.

``nova.compute.api.API.live_migrate`` carries nine decorators; the innermost
allows only ACTIVE and PAUSED servers. A rescued server must pass every other
check (shares, extended resource requests, port accelerators, vDPA,
accelerators, legacy vTPM, memory encryption, lock) unchanged, so the same
nova decorators are applied here, in nova's order, around nova's undecorated
method, with the state check widened to RESCUED and the capability check
placed just inside it.

Because this repeats nova's decorator list, :func:`verify` compares the stack
built here with the installed ``live_migrate`` wrapper by wrapper (the code
object of every layer) and the package refuses to load if they differ.
"""

import functools
import inspect

from nova.compute import api as compute_api
from nova.compute import instance_actions
from nova.compute import vm_states

from nova_rescue_lm import release


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


def apply(decorators, func):
    for decorator in decorators:
        func = decorator(func)
    return func


def _layers(func):
    codes = []
    while hasattr(func, '__wrapped__'):
        codes.append(func.__code__)
        func = func.__wrapped__
    return codes, func


def verify(built, stock=compute_api.API.live_migrate, inner_layers=0):
    """Refuse to run unless ``built`` wraps nova's body like ``stock`` does.

    :param inner_layers: decorators of ours inside nova's stack.
    """
    stock_codes, stock_body = _layers(stock)
    built_codes, built_body = _layers(built)
    if (built_body is not stock_body or
            len(built_codes) != len(stock_codes) + inner_layers or
            built_codes[:len(stock_codes)] != stock_codes):
        release.refuse('compute.API.live_migrate does not carry the checks '
                       'of nova %s' % release.SUPPORTED_NOVA_RELEASE)


def rescued_live_migrate(capability_check):
    """nova's ``live_migrate`` accepting RESCUED, with ``capability_check``.

    ``capability_check(api, context, instance, host_name)`` runs after every
    nova check and before the server's task state changes.
    """
    release.check_nova_release()

    def check_capability(func):
        @functools.wraps(func)
        def inner(self, context, instance, block_migration,
                  disk_over_commit, host_name, *args, **kwargs):
            capability_check(self, context, instance, host_name)
            return func(self, context, instance, block_migration,
                        disk_over_commit, host_name, *args, **kwargs)
        return inner

    body = inspect.unwrap(compute_api.API.live_migrate)
    built = apply(nova_decorators(
        compute_api.check_instance_state(vm_state=[vm_states.RESCUED])),
        check_capability(body))
    verify(built, inner_layers=1)
    return built
