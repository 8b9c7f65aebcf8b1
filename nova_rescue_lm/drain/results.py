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

"""The results a server of the drained host can end in, and its record.

:class:`Entry` is what planning creates, running updates and reporting
reads; a module of its own so that each of those three depends on it and
none on another.
"""

import dataclasses

# results
WOULD_MOVE = 'would move'
MOVED = 'moved'
FAILED = 'failed'
CANNOT_MOVE = 'cannot move'
TIMED_OUT = 'timed out'
NOT_STARTED = 'not started'
UNKNOWN = 'unknown'
GONE = 'deleted'
MIGRATING = 'migrating'
#: Results after which the server is no longer on the host.
LEFT_HOST = (MOVED, GONE)


@dataclasses.dataclass
class Entry:
    """One server of the host and what happened to it."""

    id: str
    name: str
    state: str
    source: str
    microversion: str = None
    target: str = None
    result: str = ''
    reason: str = ''
    dest: str = ''
    request_id: str = None
    started: float = None
    #: Evacuated (its host's nova-compute is down) rather than
    #: live-migrated.
    evacuate: bool = False

    @property
    def movable(self):
        return self.microversion is not None
