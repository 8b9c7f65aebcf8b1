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

"""The options of nova-rescue-lm, one module per group.

As ``nova.conf``: each module defines one group and its options with
``register_opts(conf)`` and ``list_opts()``; importing this package
registers them all on oslo.config's global ``CONF`` (the object nova's own
options are on), so ``from nova_rescue_lm import conf; conf.CONF`` gives
both. ``opts.list_opts()`` is what oslo-config-generator loads (namespace
``nova_rescue_lm``).
"""

from oslo_config import cfg

from nova_rescue_lm.conf import rescue_lm
from nova_rescue_lm.conf import xenserver

CONF = cfg.CONF

rescue_lm.register_opts(CONF)
xenserver.register_opts(CONF)
