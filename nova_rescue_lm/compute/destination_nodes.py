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

"""One database query of an explicit destination's compute nodes.

nova's ``live_migrate`` reads the nodes of the requested host
(``ComputeNodeList.get_all_by_host``) to validate it before the server's
task state changes. The capability check of a rescued server needs the same
nodes, earlier: it runs before nova's method so that its 400 leaves
nothing changed. :func:`lookup` makes that query and hands its answer to
nova's own call, once, in the same request; every other call, in this
request or any other, queries the database as nova does. Nothing outlives
the request (:func:`handing_over`), so no capability signal is cached.

In nova-api only (:func:`install`, from the package's router), the
classmethod is wrapped; the wrapper calls nova's whenever nothing was
handed over, so a nova whose ``live_migrate`` stops asking merely loses the
saving.
"""

import contextlib
import contextvars
import functools

from nova import objects

_NAME = 'get_all_by_host'

#: (context, host name, ComputeNodeList) for nova's next lookup, or None.
_handed = contextvars.ContextVar('rescue_lm_destination_nodes', default=None)


@contextlib.contextmanager
def handing_over():
    """Within this block, :func:`lookup`'s answer may be reused once."""
    token = _handed.set(None)
    try:
        yield
    finally:
        _handed.reset(token)


def lookup(context, host_name):
    """The compute nodes of ``host_name``; nova's next identical lookup in
    this request reuses them.
    """
    nodes = objects.ComputeNodeList.get_all_by_host(context, host_name)
    _handed.set((context, host_name, nodes))
    return nodes


def _take(context, host_name):
    handed = _handed.get()
    if handed is None or handed[0] is not context or handed[1] != host_name:
        return None
    _handed.set(None)
    return handed[2]


def installed():
    current = objects.ComputeNodeList.__dict__.get(_NAME)
    return getattr(getattr(current, '__func__', None), 'rescue_lm_reuses',
                   False)


def install():
    """Let nova's lookup take what :func:`lookup` handed over (idempotent).

    Anything but a classmethod there (a test's mock) is left alone: nova
    then simply queries again.
    """
    novas = objects.ComputeNodeList.__dict__.get(_NAME)
    if installed() or not isinstance(novas, classmethod):
        return

    @functools.wraps(novas.__func__)
    def get_all_by_host(cls, context, host, *args, **kwargs):
        if not args and not kwargs:
            nodes = _take(context, host)
            if nodes is not None:
                return nodes
        return novas.__get__(None, cls)(context, host, *args, **kwargs)

    get_all_by_host.rescue_lm_reuses = True
    setattr(objects.ComputeNodeList, _NAME, classmethod(get_all_by_host))
