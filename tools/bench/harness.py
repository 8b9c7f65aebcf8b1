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

"""nova's functional harness, booted outside a test runner for benchmarks.

The benchmarks run nova's own API, conductor, scheduler, placement and
libvirt computes (nova's fake libvirt connection) in this one process, as
``tests/functional/base.py`` sets them up for the functional tests. Two
things differ from a test run, both so that timings are those of a
production-like process:

* logging: nova's ``StandardLogging`` formats every DEBUG message into a
  null handler (to prove the messages well formed); here the root logger is
  at INFO, as nova-api runs with ``debug = False``, and writes to a file;
* RPC casts stay casts (``CAST_AS_CALL = False``), so an API call returns
  when nova-api answers, not when the conductor and computes are done.

The installed ``nova_rescue_lm`` (the regular install tox makes) is what is
measured: the repository root is appended to ``sys.path`` only so that
``tests`` can be imported.
"""

import contextlib
import logging
import os
import sys
import tempfile
import time
import traceback
import unittest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


class HarnessError(Exception):
    pass


def _prepare_environment(timeout):
    # oslotest: no in-memory capture of stdout/stderr/logging, and a test
    # timeout long enough for a benchmark.
    os.environ['OS_STDOUT_CAPTURE'] = '0'
    os.environ['OS_STDERR_CAPTURE'] = '0'
    os.environ['OS_LOG_CAPTURE'] = '0'
    os.environ.pop('OS_DEBUG', None)
    os.environ['OS_TEST_TIMEOUT'] = str(int(timeout))
    if REPO_ROOT not in sys.path:
        sys.path.append(REPO_ROOT)
    # nova's concurrency mode before anything of nova is imported (see
    # tests/__init__.py).
    import tests  # noqa: F401


def _quiet_logging_fixture(log_stream):
    import fixtures
    from nova.tests import fixtures as nova_fixtures

    class BenchLogging(fixtures.Fixture):
        """INFO and above to the log file; DEBUG is never formatted."""

        def _setUp(self):
            root = logging.getLogger()
            handler = logging.StreamHandler(log_stream)
            handler.setFormatter(logging.Formatter(
                '%(asctime)s %(levelname)s [%(name)s] %(message)s'))
            self.useFixture(fixtures.LogHandler(
                handler, level=logging.INFO, nuke_handlers=True))
            old = root.level
            root.setLevel(logging.INFO)
            self.addCleanup(root.setLevel, old)

    # nova.test.TestCase.setUp looks the fixture up on this module.
    nova_fixtures.StandardLogging = BenchLogging


@contextlib.contextmanager
def _cwd(path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def run(body, computes, log_path, timeout=3600, stock_computes=()):
    """Start the harness with ``computes``, call ``body(case)``, return its
    result.

    ``computes`` run the package's driver (``rescue_lm.libvirt``),
    ``stock_computes`` nova's own libvirt driver. nova's stdout, stderr and
    logging go to ``log_path``. Raises HarnessError with the traceback's
    last line if the harness or ``body`` fails.
    """
    _prepare_environment(timeout)
    outcome = {}
    # nova's database fixture runs alembic, whose nova configuration
    # prepends '.' to sys.path: from an empty working directory that cannot
    # shadow the installed package with a checkout.
    workdir = tempfile.mkdtemp(prefix='nova-rescue-lm-bench-cwd-')
    with open(log_path, 'a', buffering=1) as log_stream, \
            _cwd(workdir), \
            contextlib.redirect_stdout(log_stream), \
            contextlib.redirect_stderr(log_stream):
        _quiet_logging_fixture(log_stream)
        from tests.functional import base

        class Bench(base.RescueLiveMigrationTestBase):
            CAST_AS_CALL = False

            def setUp(self):
                super().setUp()
                # benchmarks boot more servers than nova's default quota
                self.flags(instances=-1, cores=-1, ram=-1, group='quota')
                for host in computes:
                    self.start_compute(host)
                for host in stock_computes:
                    self.start_compute(host, driver=base.STOCK_DRIVER)

            def test_bench(self):
                outcome['value'] = body(self)

        result = unittest.TestResult()
        started = time.monotonic()
        Bench('test_bench').run(result)
        outcome['seconds'] = time.monotonic() - started
        problems = result.errors + result.failures
        for _test, text in problems:
            log_stream.write('\n%s\n' % text)
    if problems:
        last = problems[0][1].strip().splitlines()[-1]
        raise HarnessError('%s (see %s)' % (last, log_path))
    if 'value' not in outcome:
        raise HarnessError('the benchmark did not run (see %s)' % log_path)
    return outcome['value']


def package_location():
    module = sys.modules.get('nova_rescue_lm')
    return os.path.dirname(getattr(module, '__file__', '') or '?')


def format_exception():
    return traceback.format_exc().strip().splitlines()[-1]
