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

"""Where a live migration's time goes, read from the bed's compute logs.

Each phase runs from one nova log message to the next, found by the
request id that nova-api gave the ``os-migrateLive`` request (it follows
the migration through the conductor and both computes). The messages are
nova's own DEBUG and INFO lines, the same for an ACTIVE and a RESCUED
server, so the difference per phase says where a rescued server spends
more (or less) than an active one.
"""

import datetime
import re

#: (phase, the message that ends it), in order; the first phase starts
#: when nova-api's 202 reaches the client.
MARKS = (
    ('conductor', 'Creating tmpfile'),
    ('destination check', 'destination check data is'),
    ('source check', 'source check data is'),
    ('source disk report', 'pre_live_migration data is'),
    ('destination preparation', 'pre_live_migration result data is'),
    ('start of the libvirt job', 'Starting monitoring of live migration'),
    ('libvirt job', 'Migration operation has completed'),
    ('post-migration', 'finished successfully'),
)

_STAMP = re.compile(r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) ')
_REQUEST = re.compile(r' (req-[0-9a-f]{8}-[0-9a-f-]{27}) ')


def _first_marks(paths, request_ids):
    """``{request id: {message: first time (epoch s)}}``."""
    wanted = set(request_ids)
    found = {rid: {} for rid in wanted}
    for path in paths:
        with open(path, errors='replace') as f:
            for line in f:
                rid = _REQUEST.search(line[:300])
                if not rid or rid.group(1) not in wanted:
                    continue
                marks = found[rid.group(1)]
                for _phase, message in MARKS:
                    if message in line and message not in marks:
                        # 'pre_live_migration data is' also ends
                        # 'driver pre_live_migration data is'
                        if line[line.index(message) - 7:].startswith(
                                'driver '):
                            continue
                        stamp = _STAMP.match(line)
                        if stamp:
                            marks[message] = datetime.datetime.strptime(
                                stamp.group(1),
                                '%Y-%m-%d %H:%M:%S.%f').timestamp()
    return found


def phases(paths, samples):
    """``{phase: seconds}`` for each sample that has all the marks.

    :param paths: the compute logs of both hosts
    :param samples: dicts with ``request_id`` and ``answered`` (the epoch
        time the 202 reached the client)
    """
    found = _first_marks(paths, [s['request_id'] for s in samples])
    out = []
    for sample in samples:
        marks = found[sample['request_id']]
        if any(message not in marks for _phase, message in MARKS):
            continue
        durations, start = {}, sample['answered']
        for phase, message in MARKS:
            durations[phase] = marks[message] - start
            start = marks[message]
        out.append(durations)
    return out
