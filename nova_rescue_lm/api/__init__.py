"""Paste factories for nova-api (see README.rst, "Enabling it").

``nova_rescue_lm.api:APIRouterV21.factory``, ``Versions.factory`` and
``VersionsV2.factory`` replace nova's in api-paste.ini.
"""

from nova_rescue_lm.api.router import APIRouterV21  # noqa: F401
from nova_rescue_lm.api.versions import Versions  # noqa: F401
from nova_rescue_lm.api.versions import VersionsV2  # noqa: F401
