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

"""The drain's reporting: progress lines, the table, the exit code."""

import io
import re

import testtools

from nova_rescue_lm.drain import reporting
from nova_rescue_lm.drain import results


def entry(result, **kw):
    return results.Entry(id='id-' + result, name='n', state='ACTIVE',
                         source='src', result=result, **kw)


class TableAndExitCodeTest(testtools.TestCase):

    def test_exit_code(self):
        self.assertEqual(reporting.EXIT_OK, reporting.exit_code([]))
        self.assertEqual(reporting.EXIT_OK, reporting.exit_code(
            [entry(results.MOVED), entry(results.GONE)]))
        self.assertEqual(reporting.EXIT_OK, reporting.exit_code(
            [entry(results.WOULD_MOVE)]))
        for left in (results.FAILED, results.CANNOT_MOVE, results.TIMED_OUT,
                     results.NOT_STARTED, results.UNKNOWN,
                     results.MIGRATING):
            self.assertEqual(reporting.EXIT_LEFT_BEHIND, reporting.exit_code(
                [entry(results.MOVED), entry(left)]), left)

    def test_render_table(self):
        entries = [
            entry(results.MOVED, dest='dest'),
            entry(results.CANNOT_MOVE, reason='SHUTOFF: no'),
            entry(results.WOULD_MOVE, target='t1'),
            entry(results.WOULD_MOVE)]
        lines = reporting.render_table(entries).splitlines()
        self.assertEqual(8, len(lines))
        self.assertEqual(lines[0], lines[2])
        self.assertEqual(lines[0], lines[-1])
        self.assertEqual(
            ['Server ID', 'Name', 'State', 'From', 'To', 'Result', 'Reason'],
            [c.strip() for c in lines[1].strip('|').split('|')])
        cells = [[c.strip() for c in line.strip('|').split('|')]
                 for line in lines[3:7]]
        self.assertEqual(['id-moved', 'n', 'ACTIVE', 'src', 'dest', 'moved',
                          ''], cells[0])
        self.assertEqual(['-', 'cannot move', 'SHUTOFF: no'], cells[1][4:])
        self.assertEqual('t1', cells[2][4])
        self.assertEqual('(scheduler)', cells[3][4])
        self.assertEqual({len(line) for line in lines}, {len(lines[0])})

    def test_summary(self):
        self.assertEqual('1 cannot move, 2 moved', reporting.summary(
            [entry(results.MOVED), entry(results.MOVED),
             entry(results.CANNOT_MOVE)]))


class ProgressTest(testtools.TestCase):

    def test_printer_stamps_and_names_the_server(self):
        out = io.StringIO()
        say = reporting.Printer(out)
        say('2 server(s) on src')
        say('moved to dest (ACTIVE)', entry(results.MOVED))
        lines = out.getvalue().splitlines()
        self.assertRegex(lines[0], r'^\d\d:\d\d:\d\d 2 server\(s\) on src$')
        self.assertRegex(lines[1], r'^\d\d:\d\d:\d\d n \(id-moved\): moved '
                                   r'to dest \(ACTIVE\)$')

    def test_print_plan(self):
        said = []
        reporting.print_plan(
            [entry(results.WOULD_MOVE, microversion='2.105'),
             entry(results.WOULD_MOVE, microversion='2.68', target='t'),
             entry(results.CANNOT_MOVE, reason='SHUTOFF: no'),
             entry(results.WOULD_MOVE, microversion='2.106', evacuate=True),
             entry(results.WOULD_MOVE, microversion='2.95', target='t',
                   evacuate=True)],
            lambda text, e=None: said.append(text))
        self.assertEqual(
            ['ACTIVE: live-migrate at microversion 2.105 to a host the '
             'scheduler picks',
             'ACTIVE: live-migrate at microversion 2.68 to t',
             'cannot move: SHUTOFF: no',
             'ACTIVE: evacuate at microversion 2.106 to a host the '
             'scheduler picks',
             'ACTIVE: evacuate at microversion 2.95 to t'], said)
        self.assertIsNone(re.search('%', ' '.join(said)))
