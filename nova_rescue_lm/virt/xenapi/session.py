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

"""A bounded pool of XAPI sessions on native threads.

Built only on ``os_xenapi.client.XenAPI`` (the XML-RPC client): its
``XenAPISession`` imports eventlet, which nova-compute poisons in native
threading mode, and calls dom0 plugins. Every call here has a socket timeout
(the stock client has none, so a hung XAPI would hang nova-compute), a
session is used by one thread at a time, and a session XAPI has forgotten is
logged in again by the client itself (it retries on ``SESSION_INVALID``).
"""

import contextlib
import http.client
import queue
import ssl
import threading
import time
from urllib import parse
import xmlrpc.client

from nova import exception
from oslo_log import log as logging

try:
    from os_xenapi.client import XenAPI
except ImportError as e:  # pragma: no cover (depends on the install)
    raise ImportError(
        'rescue_lm.xenapi.XenAPIDriver needs os-xenapi: install '
        '"nova-rescue-lm[xenapi]" into nova\'s environment (%s)' % e) from e

from nova_rescue_lm.i18n import _

LOG = logging.getLogger(__name__)

#: XAPI API version and originator the driver logs in with.
API_VERSION = '1.3'
ORIGINATOR = 'nova-rescue-lm'

Failure = XenAPI.Failure


def failure_code(exc):
    """The XAPI error code of ``exc`` ('VM_BAD_POWER_STATE', ...) or None."""
    if isinstance(exc, Failure) and exc.details:
        return exc.details[0]
    return None


class XenAPIConnectionError(exception.NovaException):
    msg_fmt = _("Cannot use XAPI at %(url)s: %(reason)s")

    def __init__(self, message=None, unreachable=False, **kwargs):
        super().__init__(message, **kwargs)
        #: True when XAPI could not be reached at all (nothing was sent).
        self.unreachable = unreachable


class _NotMaster(Exception):
    """A login at a pool member: HOST_IS_SLAVE names the master."""

    def __init__(self, address):
        super().__init__(address)
        self.address = address


class _TimeoutMixin:
    """Gives every connection the transport opens a socket timeout."""

    timeout = None

    def make_connection(self, host):
        conn = super().make_connection(host)
        conn.timeout = self.timeout
        if conn.sock is not None:
            conn.sock.settimeout(self.timeout)
        return conn


class Transport(_TimeoutMixin, xmlrpc.client.Transport):
    def __init__(self, timeout):
        super().__init__()
        self.timeout = timeout


class SafeTransport(_TimeoutMixin, xmlrpc.client.SafeTransport):
    def __init__(self, timeout, context):
        super().__init__(context=context)
        self.timeout = timeout


class SessionPool:
    """At most ``size`` logged-in sessions, each used by one caller at once.

    ``call('VM.start', ref, False, False)`` borrows a session, makes the
    call and gives the session back; a session whose call failed below XAPI
    (socket error, timeout, HTTP error) is dropped rather than reused.
    """

    def __init__(self, url, username, password, size=5, login_timeout=10,
                 call_timeout=300, ca_file=None):
        self.url = url
        self.configured_url = url
        self._username = username
        self._password = password
        self._login_timeout = login_timeout
        self.call_timeout = call_timeout
        self._ca_file = ca_file
        self._idle = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self._closed = False
        self._configured_member = None
        #: Addresses of the pool's hosts, learnt at login.
        self._known = []

    # sessions

    def _ssl_context(self):
        return ssl.create_default_context(cafile=self._ca_file)

    def _transport(self, url):
        if parse.urlsplit(url).scheme == 'https':
            return SafeTransport(self._login_timeout, self._ssl_context())
        return Transport(self._login_timeout)

    def _login(self):
        """A session at the pool master, wherever it is now.

        The master is first looked for at ``url`` (the last one found),
        then, if that does not answer, at ``connection_url`` and at every
        host of the pool seen so far: after an HA failover the old master
        is gone, and any member names the new one. A member answers
        ``HOST_IS_SLAVE [master address]`` (xen-api session_check.ml).
        """
        tried = []
        candidates = [self.url]
        first_error = None
        attempts = 2 * len(self._known) + 4
        while candidates and attempts:
            url = candidates.pop(0)
            if url in tried:
                continue
            tried.append(url)
            attempts -= 1
            try:
                session = self._login_at(url)
            except _NotMaster as exc:
                if url == self.configured_url and self._configured_member \
                        is None:
                    self._configured_member = parse.urlsplit(
                        url).hostname
                master = self._url_for(exc.address)
                LOG.info('XAPI at %(url)s is a pool member; the pool '
                         'master is at %(master)s',
                         {'url': url, 'master': master})
                candidates.insert(0, master)
                tried = [t for t in tried if t != master]
                continue
            except XenAPIConnectionError as exc:
                if not exc.unreachable:
                    raise
                first_error = first_error or exc
                if url == self.url:
                    candidates.extend(u for u in self._fallback_urls()
                                      if u not in tried)
                continue
            if url != self.url:
                LOG.warning('Using the XAPI pool master at %(new)s (was '
                            '%(old)s)', {'new': url, 'old': self.url})
                with self._lock:
                    self.url = url
                self._forget_idle()
            self._learn_hosts(session)
            return session
        raise first_error or XenAPIConnectionError(
            url=self.url, reason=_('no pool master found'))

    def _login_at(self, url):
        transport = self._transport(url)
        session = XenAPI.Session(url, transport=transport)
        try:
            session.login_with_password(
                self._username, self._password, API_VERSION, ORIGINATOR)
        except Failure as exc:
            if failure_code(exc) == 'HOST_IS_SLAVE' and len(exc.details) > 1:
                raise _NotMaster(exc.details[1])
            raise XenAPIConnectionError(url=url, reason=exc)
        except (OSError, xmlrpc.client.Error,
                http.client.HTTPException) as exc:
            raise XenAPIConnectionError(url=url, reason=exc,
                                        unreachable=True)
        transport.timeout = self.call_timeout
        return session

    def _learn_hosts(self, session):
        """Remember every host's address, to find a new master later."""
        try:
            records = self._invoke(session, 'host.get_all_records', ())
        except (Failure, OSError, xmlrpc.client.Error,
                http.client.HTTPException) as exc:
            LOG.debug('Could not list the pool\'s hosts: %s', exc)
            return
        self._known = [rec['address'] for rec in records.values()
                       if rec.get('address')]

    def _fallback_urls(self):
        urls = [self.configured_url]
        urls.extend(self._url_for(address) for address in self._known)
        return urls

    def _forget_idle(self):
        """Drop the idle sessions: they belong to a former master."""
        while True:
            try:
                self._drop(self._idle.get_nowait())
            except queue.Empty:
                return

    def _master_moved(self, exc):
        """After HOST_IS_SLAVE on a call: use the master it names."""
        master = self._url_for(exc.details[1])
        with self._lock:
            moved = master != self.url
            self.url = master
        if moved:
            LOG.warning('The XAPI pool master moved to %s', master)
        self._forget_idle()

    @property
    def member_address(self):
        """The address ``connection_url`` names when that is a pool member
        (XAPI sent the driver to its master), else None.
        """
        return self._configured_member

    def _url_for(self, address):
        """The URL of the XAPI at ``address`` (scheme and port as
        configured; an IPv6 address goes in brackets).
        """
        parts = parse.urlsplit(self.configured_url)
        host = '[%s]' % address if ':' in address else address
        netloc = host if parts.port is None else '%s:%s' % (
            host, parts.port)
        return parse.urlunsplit(parts._replace(netloc=netloc))

    @contextlib.contextmanager
    def session(self, timeout=None):
        """Borrow a logged-in session; ``timeout`` overrides call_timeout."""
        if not self._slots.acquire(timeout=self.call_timeout):
            raise XenAPIConnectionError(
                url=self.url, reason=_('no free XAPI session after %s '
                                       'seconds') % self.call_timeout)
        session = None
        healthy = False
        try:
            try:
                session = self._idle.get_nowait()
            except queue.Empty:
                session = self._login()
            transport = session.transport
            transport.timeout = timeout or self.call_timeout
            try:
                yield session
                healthy = True
            except Failure:
                healthy = True  # XAPI answered; the session is fine
                raise
            finally:
                transport.timeout = self.call_timeout
        finally:
            if session is not None:
                if healthy and not self._closed:
                    self._idle.put(session)
                else:
                    self._drop(session)
            self._slots.release()

    def _drop(self, session):
        try:
            session.transport.close()
        except Exception:  # noqa: BLE001 - nothing left to clean
            pass

    def call(self, method, *args, timeout=None):
        """Call ``method`` ('VM.get_record', 'Async.VM.start', ...).

        XAPI's own errors come back as ``Failure``; a call that got no
        answer (timeout, connection lost) as ``XenAPIConnectionError``.
        A call the pool's former master refused (``HOST_IS_SLAVE``: XAPI
        checks the session before running anything) is made again at the
        master it names.
        """
        return self._retrying(method, lambda session: self._invoke(
            session, method, args), timeout=timeout)

    def _retrying(self, what, fn, timeout=None):
        for attempt in range(3):
            try:
                with self.session(timeout=timeout) as session:
                    return fn(session)
            except Failure as exc:
                if (failure_code(exc) != 'HOST_IS_SLAVE' or
                        len(exc.details) < 2 or attempt == 2):
                    raise
                self._master_moved(exc)
            except ConnectionRefusedError as exc:
                # Nothing was sent: the master is gone (HA failover, say);
                # the next login looks for the new one.
                if attempt == 2:
                    raise self._connection_error(what, exc)
                self._forget_idle()
            except (OSError, xmlrpc.client.Error,
                    http.client.HTTPException) as exc:
                raise self._connection_error(what, exc)

    def _connection_error(self, what, exc):
        return XenAPIConnectionError(
            url=self.url, reason=_('%(method)s: %(error)s') % {
                'method': what, 'error': exc or type(exc).__name__})

    @staticmethod
    def _invoke(session, method, args):
        target = session.xenapi
        for part in method.split('.'):
            target = getattr(target, part)
        return target(*args)

    def logout_remote(self, url, session_id, https_too=False):
        """Log out a session of a pool (a migrate_receive token's).

        ``https_too``: when ``url`` is http:// and gets no answer, try
        https:// at the same host: a token names its master with http://
        whatever the host accepts, and a host may take https only (xen-api
        xapi_host.ml migrate_receive, xapi_vm_migrate.ml maybe_set_https).
        """
        urls = [url]
        parts = parse.urlsplit(url)
        if https_too and parts.scheme == 'http':
            urls.append(parse.urlunsplit(parts._replace(
                scheme='https', netloc=parts.netloc.rsplit(':', 1)[0]
                if parts.port is not None else parts.netloc)))
        error = None
        for target in urls:
            transport = self._transport(target)
            transport.timeout = self._login_timeout
            proxy = xmlrpc.client.ServerProxy(target, transport=transport)
            try:
                result = proxy.session.logout(session_id)
            except (OSError, xmlrpc.client.ProtocolError,
                    http.client.HTTPException) as exc:
                error = exc
                continue
            except xmlrpc.client.Error as exc:
                error = exc
                break
            finally:
                transport.close()
            return (isinstance(result, dict) and
                    result.get('Status') == 'Success')
        # Not the session: it may still be good.
        LOG.warning('Could not log out of the migration session at '
                    '%(url)s (XAPI drops it once unused for a day): '
                    '%(error)s', {'url': urls[-1], 'error': error})
        return False

    def close(self):
        """Log every idle session out (nova-compute is stopping)."""
        self._closed = True
        while True:
            try:
                session = self._idle.get_nowait()
            except queue.Empty:
                return
            try:
                session.xenapi.session.logout()
            except Exception as exc:  # noqa: BLE001
                LOG.debug('XAPI logout failed: %s', exc)
            self._drop(session)

    # HTTP

    def put_vdi(self, vdi_ref, fileobj, length, fmt):
        """Stream ``length`` bytes into a VDI over XAPI's HTTP import.

        ``fmt`` is 'raw' or 'vhd' (``PUT /import_raw_vdi``). XAPI answers
        before it reads the data: 200 (whether the import worked is told
        by the task passed along, which is waited for), or 302 to the host
        that sees the VDI's SR (a member's local SR, say; the master's
        session is good there), which is followed.
        """
        def attempt(session):
            fileobj.seek(0)
            task = self._invoke(session, 'task.create',
                                ('VDI import', ORIGINATOR))
            try:
                self._send(session.handle, task, vdi_ref, fileobj, length,
                           fmt)
                return self._wait_for_task(session, task)
            finally:
                try:
                    self._invoke(session, 'task.destroy', (task,))
                except Failure as exc:
                    LOG.debug('Could not destroy task %s: %s', task, exc)

        rec = self._retrying('VDI import', attempt)
        if rec['status'] != 'success':
            raise Failure(rec['error_info'] or ['VDI_IO_ERROR', vdi_ref])

    def _send(self, session_id, task, vdi_ref, fileobj, length, fmt):
        url = '%s/import_raw_vdi?%s' % (self.url.rstrip('/'), parse.urlencode(
            {'session_id': session_id, 'task_id': task, 'vdi': vdi_ref,
             'format': fmt}))
        for _hop in range(4):
            status, location, body = self._put(url, fileobj, length)
            if status == 200:
                return
            if status not in (301, 302, 303, 307) or not location:
                break
            LOG.debug('XAPI sends the upload of VDI %(vdi)s to %(to)s',
                      {'vdi': vdi_ref, 'to': parse.urlsplit(location).netloc})
            url = parse.urljoin(url, location)
        # A 500 leaves the task pending (XAPI never started the import):
        # it is not waited for.
        raise XenAPIConnectionError(
            url=parse.urlunsplit(parse.urlsplit(url)._replace(query='')),
            reason=_('disk upload answered %(status)s %(body)s') % {
                'status': status, 'body': body[:200]})

    def _put(self, url, fileobj, length):
        """One PUT: the headers, XAPI's answer, then (200 only) the body.

        Returns (status, Location, body of a refusal).
        """
        parts = parse.urlsplit(url)
        # The netloc as written: an IPv6 address keeps its brackets (given
        # bare and without a port, http.client takes the address's last
        # group for the port).
        if parts.scheme == 'https':
            conn = http.client.HTTPSConnection(
                parts.netloc, timeout=self.call_timeout,
                context=self._ssl_context())
        else:
            conn = http.client.HTTPConnection(
                parts.netloc, timeout=self.call_timeout)
        try:
            conn.putrequest('PUT', '%s?%s' % (parts.path, parts.query))
            conn.putheader('Content-Length', str(length))
            conn.putheader('Content-Type', 'application/octet-stream')
            conn.endheaders()
            # XAPI answers before reading the data (and never reads it
            # when it redirects or refuses): read the answer first.
            resp = http.client.HTTPResponse(conn.sock, method='PUT')
            resp.begin()
            if resp.status != 200:
                return resp.status, resp.getheader('Location'), resp.read()
            remaining = length
            while remaining:
                chunk = fileobj.read(min(remaining, 1024 * 1024))
                if not chunk:
                    raise IOError(_('image data ended %d bytes early')
                                  % remaining)
                conn.sock.sendall(chunk)
                remaining -= len(chunk)
            resp.read()  # XAPI closes the connection when it is done
            return 200, None, b''
        except (OSError, http.client.HTTPException) as exc:
            raise XenAPIConnectionError(
                url=parse.urlunsplit(parts._replace(query='')),
                reason=_('disk upload failed: %s') % exc)
        finally:
            conn.close()

    def _wait_for_task(self, session, task):
        deadline = time.monotonic() + self.call_timeout
        delay = 0.05
        while True:
            rec = self._invoke(session, 'task.get_record', (task,))
            if rec['status'] != 'pending':
                return rec
            if time.monotonic() > deadline:
                raise XenAPIConnectionError(
                    url=self.url, reason=_('task %s did not finish') % task)
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
