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

"""The installed nova's release, for messages only.

Whether the package can run is decided by the shape of what it relies on
(:mod:`nova_rescue_lm.nova_shape`), never by this version string: every nova
34.x, including builds from stable-branch sources, is expected to work.
"""

from importlib import metadata


def installed_nova_release():
    try:
        return metadata.version('nova')
    except metadata.PackageNotFoundError:
        return None
