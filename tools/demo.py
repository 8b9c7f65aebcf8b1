#!/usr/bin/env python3
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

"""All-in-one demonstration of nova-rescue-lm (``tox -e demo``).

Runs nova's own API, conductor, scheduler and placement plus two libvirt
computes (``compute-a`` and ``compute-b``, ``rescue_lm.libvirt.LibvirtDriver``
on nova's fake libvirt connection) in this one process, using nova's
functional-test harness through ``tests/functional/base.py``; the API is
loaded from ``etc/nova-rescue-lm/api-paste.ini``, i.e. through the package's
paste factories. It then walks a rescued server through a live migration and
prints every step with its result and how long it took.

The exit code is 0 only if every step gave the expected result.
"""

import argparse
import contextlib
import logging
import os
import sys
import tempfile
import time
import traceback
import unittest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SOURCE = 'compute-a'
DEST = 'compute-b'
SERVER_NAME = 'demo-1'
OLD_MICROVERSION = '2.104'
NEW_MICROVERSION = '2.105'

DESCRIPTION = """\
All-in-one demonstration of nova-rescue-lm: live migration of servers in
RESCUE state at compute API microversion 2.105.

Everything runs in this one process on nova's own functional-test harness
(nova.tests.functional.libvirt.base.ServersTestBase): nova's real API
(loaded through the package's paste factories in
etc/nova-rescue-lm/api-paste.ini), conductor, scheduler, placement and two
libvirt computes, compute-a and compute-b, running
rescue_lm.libvirt.LibvirtDriver on nova's fake libvirt connection. No
OpenStack deployment, libvirt or network access is needed.

Steps:
  1. version document: the package's maximum microversion (2.106; 2.105
     live-migrates rescued servers, 2.106 evacuates them); both computes carry
     the CUSTOM_COMPUTE_LIVE_MIGRATE_RESCUED trait in placement
  2. boot server demo-1 on compute-a
  3. rescue it (RESCUE on compute-a)
  4. os-migrateLive at 2.104 -> 409, nothing moves
  5. os-migrateLive at 2.105 to compute-b -> 202; the server ends in
     RESCUE on compute-b, its domain there boots from disk.rescue
  6. unrescue -> ACTIVE on compute-b, booting from its own root disk

nova's logging and any output of nova's code go to a log file in a fresh
temporary directory whose path is printed at the end. The exit status is 0
only if every step gave the expected result, 1 otherwise.
"""


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog='demo.py', description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        '--debug', action='store_true',
        help="write nova's DEBUG messages to the log file too "
             "(default: INFO and above)")
    parser.add_argument(
        '--timeout', type=int, default=120, metavar='SECONDS',
        help="fail if starting nova's services and running the steps "
             "takes longer than this (default: %(default)s)")
    return parser.parse_args(argv)


class Console:
    """The demo's own lines, on the real stdout whatever nova does."""

    def __init__(self):
        self.stream = sys.__stdout__

    def line(self, text=''):
        self.stream.write(text + '\n')
        self.stream.flush()


class Outcome:
    """What a step saw: a one-line result, detail lines, unmet expectations.
    """

    def __init__(self):
        self.result = ''
        self.details = []
        self.problems = []

    def expect(self, condition, problem):
        if not condition:
            self.problems.append(problem)
        return condition


def build_demo_case(console, log, log_stream, log_level):
    """Import nova's harness (only now: --help must not need it)."""
    # ``python tools/demo.py`` puts tools/ first on sys.path; the repository
    # root provides ``tests`` and shadows any installed nova_rescue_lm.
    if REPO_ROOT not in sys.path:
        sys.path.insert(0, REPO_ROOT)
    # nova's concurrency mode before anything of nova is imported (see
    # tests/__init__.py).
    import tests  # noqa: F401

    import fixtures
    from nova.tests import fixtures as nova_fixtures
    from nova.tests.fixtures import libvirt as fakelibvirt

    from nova_rescue_lm import microversions
    from tests.functional import base

    class DemoLogging(nova_fixtures.StandardLogging):
        """nova's StandardLogging, plus a copy of everything to the log file.

        StandardLogging replaces the root logger's handlers with an in-memory
        one when the test starts and restores them when it ends, so the file
        handler is attached here, inside it, for the test's whole life.
        """

        def setUp(self):
            super().setUp()
            handler = logging.StreamHandler(log_stream)
            handler.setFormatter(logging.Formatter(
                '%(asctime)s %(levelname)s [%(name)s] %(message)s'))
            handler.setLevel(log_level)
            self.useFixture(fixtures.LogHandler(handler, nuke_handlers=False))

    # nova.test.TestCase.setUp looks the fixture up on this module.
    nova_fixtures.StandardLogging = DemoLogging

    class RescueLiveMigrationDemo(base.RescueLiveMigrationTestBase):
        """One test, the demonstration; fixtures as in the functional tests.
        """

        #: Set by test_demo: whether every step gave the expected result,
        #: and (steps as expected, steps in all).
        steps_ok = None
        steps_passed = None

        def setUp(self):
            started = time.monotonic()
            try:
                super().setUp()
                self.start_compute(SOURCE)
                self.start_compute(DEST)
            except BaseException:
                self._print(started, 'start nova services',
                            'ERROR  <-- FAILED (see the log)')
                raise
            self._print(
                started,
                'start nova: API (nova_rescue_lm paste factories), '
                'conductor, scheduler, placement, %s, %s' % (SOURCE, DEST),
                'up')

        # output

        def _print(self, started, title, result, details=()):
            console.line('[%5.2fs] %s ... %s'
                         % (time.monotonic() - started, title, result))
            for detail in details:
                console.line('          %s' % detail)

        def _step(self, number, title, func):
            """Run one step; print it; return whether it went as expected."""
            started = time.monotonic()
            outcome = Outcome()
            log.info('demo step %s: %s', number, title)
            try:
                func(outcome)
            except Exception as exc:
                log.exception('demo step %s failed', number)
                if isinstance(exc, fixtures.TimeoutException):
                    first = 'more than --timeout %s seconds' % (
                        os.environ.get('OS_TEST_TIMEOUT'))
                else:
                    first = (str(exc).strip().splitlines() or [''])[0]
                outcome.problems.append(
                    '%s: %s' % (type(exc).__name__, first) if first
                    else type(exc).__name__)
                outcome.result = outcome.result or 'ERROR'
            ok = not outcome.problems
            result = outcome.result
            if not ok:
                result = '%s  <-- FAILED' % result if result else 'FAILED'
            self._print(started, '%s. %s' % (number, title), result,
                        outcome.details +
                        ['!! %s' % problem for problem in outcome.problems])
            return ok

        # observations

        def _has_domain(self, hostname, server):
            conn = self.computes[hostname].driver._host.get_connection()
            try:
                conn.lookupByUUIDString(server['id'])
            except Exception:
                return False
            return True

        def _format_disks(self, disks):
            return ', '.join('%s=%s' % (dev, os.path.basename(path))
                             for dev, path in disks)

        @staticmethod
        def _migrate_flags(flags):
            names = sorted(
                (value, name[len('VIR_MIGRATE_'):])
                for name, value in vars(fakelibvirt).items()
                if name.startswith('VIR_MIGRATE_') and
                isinstance(value, int) and value and
                value & (value - 1) == 0 and flags & value)
            return '|'.join(name for _, name in names) or '0'

        def _server_state(self, server):
            server = self._show_server(server)
            return (server['status'], server['OS-EXT-SRV-ATTR:host'],
                    server['OS-EXT-STS:vm_state'],
                    server['OS-EXT-STS:task_state'])

        # the steps

        def _version_document(self, out):
            doc = self.api.api_get('').body['version']
            root = self.api.api_get('', strip_version=True).body['versions']
            v21 = [v for v in root if v['id'] == 'v2.1']
            root_max = v21[0]['version'] if v21 else None
            traits = {}
            for host in (SOURCE, DEST):
                traits[host] = base.TRAIT in self._get_provider_traits(
                    self.compute_rp_uuids[host])
            with_trait = [h for h in (SOURCE, DEST) if traits[h]]
            out.result = 'max microversion %s; %s on %s' % (
                doc['version'], base.TRAIT,
                ', '.join(with_trait) if with_trait else 'no compute')
            out.details.append(
                'GET /v2.1/: id %s, min_version %s, version %s '
                '(nova 34 alone: %s); GET /: v2.1 at %s'
                % (doc['id'], doc['min_version'], doc['version'],
                   microversions.NOVA_MAX, root_max))
            out.expect(doc['version'] == microversions.MAX,
                       'expected max microversion %s in GET /v2.1/, got %s'
                       % (microversions.MAX, doc['version']))
            out.expect(root_max == microversions.MAX,
                       'expected v2.1 at %s in GET /, got %s'
                       % (microversions.MAX, root_max))
            for host in (SOURCE, DEST):
                out.expect(traits[host], 'resource provider %s lacks %s'
                           % (host, base.TRAIT))

        def _boot(self, out):
            self.server = self._create_server(
                name=SERVER_NAME, host=SOURCE, networks='none')
            status, host, _, _ = self._server_state(self.server)
            out.result = '%s on %s' % (status, host)
            out.details.append('server id %s' % self.server['id'])
            out.expect((status, host) == ('ACTIVE', SOURCE),
                       'expected ACTIVE on %s' % SOURCE)

        def _rescue(self, out):
            self.server = self._rescue_server(self.server)
            status, host, vm_state, _ = self._server_state(self.server)
            out.result = '%s on %s (vm_state %s)' % (status, host, vm_state)
            disks = self._domain_disks(SOURCE, self.server)
            out.details.append('domain disks on %s: %s'
                               % (SOURCE, self._format_disks(disks)))
            out.expect((status, host) == ('RESCUE', SOURCE),
                       'expected RESCUE on %s' % SOURCE)
            out.expect(disks and disks[0][1].endswith('/disk.rescue'),
                       'expected the rescue domain to boot from disk.rescue')

        def _migrate_old_microversion(self, out):
            self.api.microversion = OLD_MICROVERSION
            try:
                resp = self._live_migrate_action(
                    self.server, host=DEST,
                    check_response_status=[
                        200, 202, 204, 400, 403, 404, 409, 500])
            finally:
                self.api.microversion = NEW_MICROVERSION
            message = ''
            if isinstance(resp.body, dict):
                for fault in resp.body.values():
                    if isinstance(fault, dict) and 'message' in fault:
                        message = fault['message']
            status, host, vm_state, task_state = self._server_state(
                self.server)
            migrations = self._migrations_of(self.server)
            out.result = ('%s: %s' % (resp.status, message) if message
                          else '%s' % resp.status)
            out.details.append(
                'afterwards: %s on %s, task_state %s, %d migration record(s),'
                ' domain still on %s: %s'
                % (status, host, task_state, len(migrations), SOURCE,
                   'yes' if self._has_domain(SOURCE, self.server) else 'no'))
            out.expect(resp.status == 409,
                       'expected 409, got %s' % resp.status)
            out.expect((status, host, task_state) == ('RESCUE', SOURCE, None),
                       'expected the server to stay RESCUE on %s' % SOURCE)
            out.expect(not migrations and not self.migrations,
                       'expected no migration to have started')
            out.expect(not self._has_domain(DEST, self.server),
                       'a domain appeared on %s' % DEST)

        def _migrate_new_microversion(self, out):
            started = time.monotonic()
            resp = self._live_migrate_action(
                self.server, host=DEST,
                check_response_status=[
                    200, 202, 204, 400, 403, 404, 409, 500])
            accepted = time.monotonic() - started
            out.result = '%s' % resp.status
            if not out.expect(resp.status == 202, 'expected 202, got %s: %s'
                              % (resp.status, resp.body)):
                return
            migration = self._wait_for_migration_status(
                self.server, ['completed'])
            self.server = self._wait_for_state_change(self.server, 'RESCUE')
            status, host, vm_state, task_state = self._server_state(
                self.server)
            disks = self._domain_disks(DEST, self.server)
            calls = [m for m in self.migrations if m['destination'] == DEST]
            out.result = '%s in %.2fs; migration %s; %s on %s' % (
                resp.status, accepted, migration['status'], status, host)
            out.details.append(
                'migration %s: %s %s -> %s, %s'
                % (migration['id'], migration['migration_type'],
                   migration['source_compute'], migration['dest_compute'],
                   migration['status']))
            out.details.append('vm_state %s, task_state %s'
                               % (vm_state, task_state))
            out.details.append('domain disks on %s: %s'
                               % (DEST, self._format_disks(disks)))
            if calls:
                call = calls[-1]
                block = bool(
                    call['flags'] & fakelibvirt.VIR_MIGRATE_NON_SHARED_INC)
                out.details.append(
                    'libvirt migrateToURI3 to %s: flags %s; block migration: '
                    '%s; migrate_disks: %s' % (
                        DEST, self._migrate_flags(call['flags']),
                        'yes' if block else
                        'no (both computes share one instances directory '
                        'in this process)',
                        ', '.join(call['migrate_disks']) or 'none'))
            out.expect((status, host, vm_state) ==
                       ('RESCUE', DEST, 'rescued'),
                       'expected RESCUE (vm_state rescued) on %s' % DEST)
            out.expect(disks and disks[0][1].endswith('/disk.rescue'),
                       'expected disk.rescue first on %s' % DEST)
            out.expect(calls, 'libvirt was never asked to migrate to %s'
                       % DEST)

        def _unrescue(self, out):
            self.server = self._unrescue_server(self.server)
            status, host, vm_state, _ = self._server_state(self.server)
            disks = self._domain_disks(host, self.server)
            out.result = '%s on %s (vm_state %s)' % (status, host, vm_state)
            out.details.append('domain disks on %s: %s'
                               % (host, self._format_disks(disks)))
            out.expect((status, host) == ('ACTIVE', DEST),
                       'expected ACTIVE on %s' % DEST)
            out.expect(disks and disks[0][1].endswith('/disk'),
                       'expected the domain to boot from its root disk')
            out.expect(not [d for d in disks if '.rescue' in d[1]],
                       'a rescue disk is still attached')

        def test_demo(self):
            steps = [
                ('version document, traits', self._version_document),
                ('boot server %s on %s' % (SERVER_NAME, SOURCE), self._boot),
                ('rescue %s' % SERVER_NAME, self._rescue),
                ('os-migrateLive at %s to %s' % (OLD_MICROVERSION, DEST),
                 self._migrate_old_microversion),
                ('os-migrateLive at %s to %s' % (NEW_MICROVERSION, DEST),
                 self._migrate_new_microversion),
                ('unrescue %s' % SERVER_NAME, self._unrescue),
            ]
            passed = 0
            for number, (title, func) in enumerate(steps, 1):
                if not self._step(number, title, func):
                    for later, (title, _) in enumerate(steps[number:],
                                                       number + 1):
                        console.line('          %s. %s ... skipped'
                                     % (later, title))
                    break
                passed += 1
            type(self).steps_ok = passed == len(steps)
            type(self).steps_passed = (passed, len(steps))

    return RescueLiveMigrationDemo


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    console = Console()
    started = time.monotonic()

    # The demo decides where output goes: nothing captured in memory by
    # oslotest; nova's stdout/stderr (warnings included) and its logging
    # go to the log file below instead of the console.
    os.environ['OS_STDOUT_CAPTURE'] = '0'
    os.environ['OS_STDERR_CAPTURE'] = '0'
    os.environ['OS_LOG_CAPTURE'] = '0'
    os.environ.pop('OS_DEBUG', None)
    os.environ['OS_TEST_TIMEOUT'] = str(args.timeout)

    log_dir = tempfile.mkdtemp(prefix='nova-rescue-lm-demo-')
    log_path = os.path.join(log_dir, 'demo.log')
    log = logging.getLogger('nova_rescue_lm.demo')

    console.line('nova-rescue-lm demo: live-migrate a rescued server '
                 '(nova services in one process, fake libvirt)')
    result = unittest.TestResult()
    case = None
    with open(log_path, 'a', buffering=1) as log_stream, \
            contextlib.redirect_stdout(log_stream), \
            contextlib.redirect_stderr(log_stream):
        try:
            demo_class = build_demo_case(
                console, log, log_stream,
                logging.DEBUG if args.debug else logging.INFO)
            console.line('[%5.2fs] load nova %s and nova-rescue-lm (%s) '
                         '... ok' % (time.monotonic() - started,
                                     _nova_version(), _package_dir()))
            case = demo_class('test_demo')
            case.run(result)
        except Exception:
            traceback.print_exc(file=log_stream)
            console.line('could not load the demonstration: %s'
                         % traceback.format_exc().strip().splitlines()[-1])
        for test, text in result.errors + result.failures:
            log_stream.write('\n%s\n' % text)

    problems = []
    if case is None:
        problems.append('the demonstration could not be loaded')
    else:
        for _, text in result.errors + result.failures:
            last = text.strip().splitlines()[-1] if text.strip() else ''
            problems.append('test harness: %s' % last)
        if result.skipped:
            problems.append('skipped: %s' % result.skipped[0][1])
        if not type(case).steps_ok:
            passed = type(case).steps_passed
            if passed:
                problems.append('%d of %d steps as expected' % passed)
            elif not problems:
                problems.append('the steps did not run')

    elapsed = time.monotonic() - started
    if problems:
        for problem in problems:
            console.line('!! %s' % problem)
        console.line('[%5.2fs] 7. summary ... DEMO FAILED' % elapsed)
    else:
        console.line('[%5.2fs] 7. summary ... all 6 steps gave the expected '
                     'result: DEMO PASSED' % elapsed)
    console.line('nova log: %s' % log_path)
    return 1 if problems else 0


def _package_dir():
    module = sys.modules.get('nova_rescue_lm')
    return os.path.dirname(getattr(module, '__file__', None) or '?')


def _nova_version():
    try:
        from importlib import metadata
        return metadata.version('nova')
    except Exception:
        return '(unknown version)'


if __name__ == '__main__':
    sys.exit(main())
