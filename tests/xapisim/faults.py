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

"""Fault injection: make chosen XML-RPC methods fail or slow down.

Tests use it to reach the error paths of a driver without reaching into the
driver: the failure comes back over the wire exactly as XAPI would send it.
"""

import threading
import time

from tests.xapisim import errors


class _Fault(object):

    def __init__(self, method, code, params, times, after, delay):
        self.method = method
        self.code = code
        self.params = list(params or ())
        self.times = times
        self.after = after
        self.delay = delay
        self.seen = 0
        self.fired = 0

    def exhausted(self):
        return self.times is not None and self.fired >= self.times


class Faults(object):
    """The faults of one simulator.

    ``inject(method, code=..., params=[...], times=1, after=0)`` makes the
    next ``times`` calls of ``method`` (``None``: every call) fail with
    ``[code, *params]``, after letting ``after`` calls through untouched.
    ``delay=seconds`` sleeps before the call runs (and before the failure
    when ``code`` is given too). A method is named as on the wire,
    e.g. ``'VM.pool_migrate'``; ``'Async.VM.start'`` matches ``'VM.start'``.
    The HTTP import matches the name ``'import_raw_vdi'`` (the failure is
    then an HTTP 500).
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._faults = []
        self.calls = {}

    def inject(self, method, code=None, params=None, times=1, after=0,
               delay=None):
        if code is None and delay is None:
            raise ValueError('a fault needs a code or a delay')
        fault = _Fault(method, code, params, times, after, delay)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self):
        with self._lock:
            self._faults = []

    def count(self, method):
        """How many times ``method`` has been called (faulted or not)."""
        with self._lock:
            return self.calls.get(method, 0)

    def check(self, method):
        """Called before each method runs; sleeps and/or raises XapiError."""
        if method.startswith('Async.'):
            method = method[len('Async.'):]
        delay = 0.0
        error = None
        with self._lock:
            self.calls[method] = self.calls.get(method, 0) + 1
            for fault in self._faults:
                if fault.method != method or fault.exhausted():
                    continue
                fault.seen += 1
                if fault.seen <= fault.after:
                    continue
                fault.fired += 1
                if fault.delay:
                    delay += fault.delay
                if fault.code and error is None:
                    error = errors.XapiError(fault.code, *fault.params)
            self._faults = [f for f in self._faults if not f.exhausted()]
        if delay:
            time.sleep(delay)
        if error is not None:
            raise error
