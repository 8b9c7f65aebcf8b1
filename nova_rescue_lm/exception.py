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

"""Errors nova-rescue-lm adds to nova's.

The capability errors derive from ``nova.exception.NotSupported`` so that
nova's ``expected_errors`` wrapper turns them into 400, as the spec asks.
"""

from nova import exception
import webob.exc

from nova_rescue_lm.i18n import _


class SourceNodeNotCapable(exception.NotSupported):
    msg_fmt = _("The source compute node%(node)s does not support live "
                "migration of rescued servers (%(why)s). Upgrade that "
                "compute to nova-rescue-lm, or unrescue the server before "
                "migrating it.")


class DestinationNodeNotCapable(exception.NotSupported):
    msg_fmt = _("The destination compute node%(node)s does not support live "
                "migration of rescued servers (%(why)s). Choose an upgraded "
                "compute, or give no host and let the scheduler choose one.")


class EvacuationDestinationNotCapable(exception.NotSupported):
    msg_fmt = _("The destination compute node%(node)s cannot take rescued "
                "servers (%(why)s). Choose an upgraded compute, or give no "
                "host and let the scheduler choose one.")


class CapabilityUnknown(webob.exc.HTTPConflict):
    """409 when placement cannot be asked for a node's traits.

    Raised only on the REST path. It is an HTTP error because nova's
    ``expected_errors`` wrapper passes those (and ``NotSupported``) through
    unchanged and turns anything else into a 500.
    """

    msg_fmt = _("Could not read the traits of compute node%(node)s from the "
                "placement service, so live migration of this rescued server "
                "cannot be checked. Try again later.")

    def __init__(self, node):
        super().__init__(explanation=self.msg_fmt % {'node': node})


class EvacuationCapabilityUnknown(CapabilityUnknown):
    """:class:`CapabilityUnknown` for an evacuation (2.106)."""

    msg_fmt = _("Could not read the traits of compute node%(node)s from the "
                "placement service, so evacuation of this rescued server "
                "cannot be checked. Try again later.")
