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

"""The ``[rescue_lm]`` options: whether this compute lets rescued servers go.

Read by nova-compute on hosts whose ``compute_driver`` is one of the
package's drivers (libvirt or XenAPI).
"""

from oslo_config import cfg

rescue_lm_group = cfg.OptGroup(
    'rescue_lm',
    title='Live migration of rescued servers',
    help="""
Options of the nova-rescue-lm package, read by nova-compute on hosts that run
``compute_driver = rescue_lm.libvirt.LibvirtDriver`` (or the XenAPI driver).
""")

rescue_lm_opts = [
    cfg.BoolOpt(
        'live_migrate_rescued',
        default=True,
        help="""
Allow servers in RESCUE state on this compute node to be live-migrated.

When enabled the driver reports the ``CUSTOM_COMPUTE_LIVE_MIGRATE_RESCUED``
trait on this node's resource provider; when disabled it removes the trait,
and the API then answers 400 to a live migration of a rescued server from or
to this node (the scheduler will not pick it either). Rescue and unrescue keep
working either way, always rebuilt from the database.

Related options:

* ``[DEFAULT] compute_driver`` must name a nova-rescue-lm driver for this
  option to have any effect.
"""),
]


def register_opts(conf):
    conf.register_group(rescue_lm_group)
    conf.register_opts(rescue_lm_opts, group=rescue_lm_group)


def list_opts():
    return {rescue_lm_group: rescue_lm_opts}
