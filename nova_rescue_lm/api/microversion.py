"""Microversion 2.105: the only place that patches nova's data.

Nova keeps its maximum microversion in a module global
(``nova.api.openstack.api_version_request._MAX_API_VERSION``, read on every
request) and copies it into the version documents at import time
(``nova.api.openstack.compute.versions.VERSIONS``). Raising the maximum means
changing both. Before doing so the installed nova is checked to be the release
this package was written for, whose maximum is 2.104 and in which no
controller behaves differently at 2.105; any other nova is refused.
"""

from nova.api.openstack import api_version_request
from nova.api.openstack.compute import versions

from nova_rescue_lm import release

#: nova 34's own maximum microversion.
STOCK_MAX_VERSION = '2.104'

#: The microversion at which os-migrateLive accepts servers in RESCUE state.
RESCUED_LIVE_MIGRATION = '2.105'


def apply():
    """Advertise and accept microversion 2.105 (idempotent)."""
    release.check_nova_release()
    current = api_version_request._MAX_API_VERSION
    if current == RESCUED_LIVE_MIGRATION:
        return
    if current != STOCK_MAX_VERSION:
        release.refuse('its maximum API microversion is %s, expected %s'
                       % (current, STOCK_MAX_VERSION))
    api_version_request._MAX_API_VERSION = RESCUED_LIVE_MIGRATION
    versions.VERSIONS['v2.1']['version'] = RESCUED_LIVE_MIGRATION
