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

"""The options for oslo-config-generator (namespace ``nova_rescue_lm``).

The ``oslo.config.opts`` entry point of setup.cfg names :func:`list_opts`.
Every module of this package is listed here, in the order of the sample
file; ``tests/unit/test_conf.py`` checks that none is left out.
"""

from nova_rescue_lm.conf import rescue_lm
from nova_rescue_lm.conf import xenserver

#: The modules of this package that define options.
MODULES = (rescue_lm, xenserver)


def list_opts():
    """[(group, options)] of every group, as oslo-config-generator wants."""
    return [item for module in MODULES
            for item in module.list_opts().items()]
