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

"""The ``[xenserver]`` options: how the XenAPI driver reaches XAPI.

Read only by nova-compute with ``compute_driver =
rescue_lm.xenapi.XenAPIDriver``; the libvirt driver ignores them.
"""

from oslo_config import cfg

xenserver_group = cfg.OptGroup(
    'xenserver',
    title='XenAPI driver',
    help="""
Options of ``compute_driver = rescue_lm.xenapi.XenAPIDriver``, the XenAPI
driver of nova-rescue-lm. It talks to XAPI (XenServer / XCP-ng) over its
XML-RPC API and its HTTP disk import; it runs no code inside dom0.

This driver is verified against a XAPI simulator only, not against a real
XenServer or XCP-ng host.
""")

xenserver_opts = [
    cfg.URIOpt(
        'connection_url',
        schemes=['http', 'https'],
        help="""
URL of the XAPI endpoint this nova-compute talks to: the pool master, or
any pool member (the driver follows XAPI's ``HOST_IS_SLAVE`` answer to the
master). A port may be given, for example ``https://xs1.example.org:443``.
Required when the XenAPI driver is used.
"""),
    cfg.StrOpt(
        'connection_username',
        default='root',
        help='Username XAPI logs the driver in with.'),
    cfg.StrOpt(
        'connection_password',
        secret=True,
        help='Password of ``connection_username``.'),
    cfg.StrOpt(
        'connection_ca_file',
        help="""
CA bundle that verifies the certificate of an ``https`` ``connection_url``.
When unset, the system's trusted CAs are used.
"""),
    cfg.IntOpt(
        'connection_concurrent',
        default=5,
        min=1,
        help="""
Maximum number of XAPI sessions this nova-compute keeps open, and so the
maximum number of XAPI calls it makes at the same time. Callers beyond that
wait (at most ``call_timeout`` seconds) for a session to come free.
"""),
    cfg.IntOpt(
        'login_timeout',
        default=10,
        min=1,
        help='Seconds to wait for XAPI to accept a connection and a login.'),
    cfg.IntOpt(
        'call_timeout',
        default=300,
        min=1,
        help="""
Seconds to wait for the answer to one XAPI call (or for one chunk of a disk
upload) before giving up on it. A session whose call timed out is dropped,
never reused.

Related options:

* ``migration_timeout`` bounds the live-migration task; after it, this
  timeout bounds the wait for XAPI's answer to the cancel.
"""),
    cfg.IntOpt(
        'migration_timeout',
        default=3600,
        min=1,
        help="""
Seconds to wait for XAPI's live-migration task. When it expires the driver
asks XAPI to cancel it, waits up to call_timeout more, then goes by where
XAPI holds the VM: arrived, the migration completes; still on the source,
nova rolls back; otherwise the server is put in ERROR.
"""),
    cfg.StrOpt(
        'xapi_host',
        help="""
The XAPI host whose VMs this nova-compute manages, given by its name label
or uuid; it is also the node name nova records. Every host of a pool runs
its own nova-compute with its own ``xapi_host``. When unset, the host
``connection_url`` names: the pool master, or the pool member whose
management address (or host name) is in that URL.
"""),
    cfg.StrOpt(
        'sr_matching_filter',
        default='default-sr:true',
        help="""
Which storage repository (SR) new disks are created in and migrated to:
``default-sr:true`` for the pool's default SR, or
``other-config:KEY=VALUE`` for the SR whose ``other_config`` has that entry.
"""),
    cfg.StrOpt(
        'integration_bridge',
        default='br-int',
        help="""
Bridge (or network name label) of the XAPI network that a server's
interfaces are attached to when neutron names no bridge for the port.
"""),
]


def register_opts(conf):
    conf.register_group(xenserver_group)
    conf.register_opts(xenserver_opts, group=xenserver_group)


def list_opts():
    return {xenserver_group: xenserver_opts}
