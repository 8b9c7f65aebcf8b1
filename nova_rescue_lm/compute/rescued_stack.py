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

"""nova's checks of an operation, re-applied to servers in RESCUE state.

The operations the package opens to rescued servers (live migration at
2.105, evacuation at 2.106) are built alike: nova's own decorators, in
nova's order, around nova's undecorated method, with the vm_state check
widened to RESCUED and the package's capability check just inside it.
:mod:`~nova_rescue_lm.compute.live_migrate_checks` and
:mod:`~nova_rescue_lm.compute.evacuate_checks` name each operation's
decorators; this module builds the stack and compares it with nova's.
"""

import functools
import inspect

from nova.compute import vm_states

from nova_rescue_lm import nova_shape

#: The name, in a stack, of the layer :func:`build` adds.
CAPABILITY_LAYER = 'build.<locals>.inner'


def apply(decorators, func):
    """``func`` wrapped in ``decorators``, innermost first."""
    for decorator in decorators:
        func = decorator(func)
    return func


def build(method, decorators, capability_check, host_argument):
    """nova's ``method`` behind ``decorators``, with ``capability_check``.

    ``capability_check(api, context, instance, host)`` runs after every
    check of ``decorators`` and before nova's body changes anything;
    ``host`` is the body's argument named ``host_argument``.
    """
    body = inspect.unwrap(method)
    # (callables only in the closure: nova_shape.stack compares the rest)
    host_of = functools.partial(_argument, inspect.signature(body),
                                host_argument)

    @functools.wraps(body)
    def inner(self, context, instance, *args, **kwargs):
        capability_check(self, context, instance,
                         host_of(self, context, instance, *args, **kwargs))
        return body(self, context, instance, *args, **kwargs)
    return apply(decorators, inner)


def _argument(signature, name, *args, **kwargs):
    return signature.bind(*args, **kwargs).arguments.get(name)


def differences(name, built, stock):
    """What differs between ``built`` and nova's ``stock`` stack, but for
    the state check widened to RESCUED and the capability layer.
    """
    *outer, (state_name, state_args) = nova_shape.stack(stock)
    expected = tuple(outer) + (
        (state_name, dict(state_args, vm_state=[vm_states.RESCUED])),
        (CAPABILITY_LAYER, {}))
    found = nova_shape.compare_stack('the rescued ' + name, built, expected)
    if inspect.unwrap(built) is not inspect.unwrap(stock):
        found.append('the rescued %s does not wrap nova\'s body' % name)
    return found
