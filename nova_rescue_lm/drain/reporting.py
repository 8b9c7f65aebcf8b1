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

"""What the operator reads: progress lines, the final table, the exit code.

Text only, from :class:`~nova_rescue_lm.drain.results.Entry` records; no
request is sent from here, so the output can be tested on records alone.
"""

import time

from nova_rescue_lm.drain import results

EXIT_OK = 0
EXIT_LEFT_BEHIND = 1

TABLE_HEADER = ('Server ID', 'Name', 'State', 'From', 'To', 'Result',
                'Reason')


class Printer:
    """One progress line per event."""

    def __init__(self, out):
        self.out = out

    def __call__(self, text, entry=None):
        # the operator's wall clock
        stamp = time.strftime('%H:%M:%S')
        if entry is not None:
            text = '%s (%s): %s' % (entry.name, entry.id, text)
        self.out.write('%s %s\n' % (stamp, text))
        self.out.flush()


def print_plan(entries, say):
    for entry in entries:
        if entry.movable:
            say('%s: %s at microversion %s to %s' % (
                entry.state,
                'evacuate' if entry.evacuate else 'live-migrate',
                entry.microversion,
                entry.target or 'a host the scheduler picks'), entry)
        else:
            say('cannot move: %s' % entry.reason, entry)


def exit_code(entries):
    """0 only if every server left the host (or, dry-run, would)."""
    wanted = results.LEFT_HOST + (results.WOULD_MOVE,)
    if all(entry.result in wanted for entry in entries):
        return EXIT_OK
    return EXIT_LEFT_BEHIND


def _to_column(entry):
    if entry.result in results.LEFT_HOST:
        return entry.dest or '-'
    if entry.result == results.WOULD_MOVE:
        return entry.target or '(scheduler)'
    return '-'


def render_table(entries):
    """The final table, as text (no trailing newline)."""
    rows = [TABLE_HEADER] + [
        (e.id, e.name, e.state, e.source, _to_column(e), e.result,
         e.reason or '') for e in entries]
    widths = [max(len(str(row[i])) for row in rows)
              for i in range(len(TABLE_HEADER))]
    rule = '+' + '+'.join('-' * (w + 2) for w in widths) + '+'

    def line(row):
        return '| ' + ' | '.join(str(cell).ljust(w)
                                 for cell, w in zip(row, widths)) + ' |'
    out = [rule, line(rows[0]), rule]
    out.extend(line(row) for row in rows[1:])
    out.append(rule)
    return '\n'.join(out)


def summary(entries):
    counts = {}
    for entry in entries:
        counts[entry.result] = counts.get(entry.result, 0) + 1
    return ', '.join('%d %s' % (n, result)
                     for result, n in sorted(counts.items()))
