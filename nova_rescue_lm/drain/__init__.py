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

"""Draining a compute host: the library behind ``nova-rescue-lm-drain``.

:func:`drain` plans, prints the plan, runs the migrations and prints the
table; its parts are modules of their own, each tested alone:

* :mod:`~nova_rescue_lm.drain.compute_api`: the compute API calls, the
  microversions they use and the error for bad input;
* :mod:`~nova_rescue_lm.drain.results`: one server's record and results;
* :mod:`~nova_rescue_lm.drain.planning` and
  :mod:`~nova_rescue_lm.drain.preflight`: which servers move, and why the
  others cannot (GET requests only);
* :mod:`~nova_rescue_lm.drain.running`: starting and following migrations
  (and evacuations, for a host whose nova-compute is down);
* :mod:`~nova_rescue_lm.drain.reporting`: progress lines, table, exit code.

The command line (arguments, credentials, signals, exit code 2) is
:mod:`nova_rescue_lm.cmd.drain`; ``openstack rescued server migrate``
(:mod:`nova_rescue_lm.client.osc_commands`) uses the same client and
running helpers. This package imports neither ``nova_rescue_lm.cmd`` nor
``nova_rescue_lm.client``, nor nova: it runs on an operator's workstation.
"""

import sys
import time

from nova_rescue_lm.drain import planning
from nova_rescue_lm.drain import reporting
from nova_rescue_lm.drain import running


def drain(client, host, target=None, max_parallel=2, dry_run=False,
          timeout=None, block_migration='auto', out=None, stop=None,
          poll_interval=2.0, sleep=time.sleep, placement=None,
          evacuate=False):
    """The command without its argument parsing and authentication.

    ``client`` is a :class:`~nova_rescue_lm.drain.compute_api.ComputeClient`,
    ``placement`` a keystoneauth adapter on placement (or None). With
    ``evacuate`` the servers of a host whose nova-compute is down are
    evacuated instead of live-migrated. Returns (exit code, entries);
    raises DrainError for bad input (also: ``evacuate`` while the host's
    compute service is up).
    """
    say = reporting.Printer(out or sys.stdout)
    entries = planning.plan(client, host, target, say, placement, evacuate)
    say('%d server(s) on %s' % (len(entries), host))
    reporting.print_plan(entries, say)
    if not dry_run:
        running.execute(client, entries, max_parallel, timeout,
                        block_migration, say, stop, poll_interval, sleep)
    say.out.write(reporting.render_table(entries) + '\n')
    code = reporting.exit_code(entries)
    if entries:
        say.out.write('%s%s\n' % ('Dry run, nothing was sent: '
                                  if dry_run else '',
                                  reporting.summary(entries)))
    if code != reporting.EXIT_OK:
        say.out.write('Servers are left on %s.\n' % host)
    return code, entries
