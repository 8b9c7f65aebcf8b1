"""Version documents that advertise microversion 2.105.

Nova's version apps render the module-level ``VERSIONS`` document, which
:mod:`nova_rescue_lm.api.microversion` updates. These factories make sure the
update happened whichever paste app is loaded first, and leave nova's
document as it is when the package is switched off.
"""

from nova.api.openstack.compute import versions

from nova_rescue_lm.api import microversion
from nova_rescue_lm import nova_shape


def _apply():
    if not nova_shape.api_differences():
        microversion.apply()


class Versions(versions.Versions):

    @classmethod
    def factory(cls, global_config, **local_config):
        _apply()
        return super().factory(global_config, **local_config)


class VersionsV2(versions.VersionsV2):

    @classmethod
    def factory(cls, global_config, **local_config):
        _apply()
        return super().factory(global_config, **local_config)
