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

"""The wire: XML-RPC on ``POST /`` and XAPI's ``PUT /import_raw_vdi``.

Stdlib only (``http.server`` with one thread per connection), so the
simulator works the same under eventlet and native threads.
"""

import http.server
import logging
import socket
import socketserver
import threading
import urllib.parse
import xmlrpc.client

from tests.xapisim.errors import XapiError
from tests.xapisim import vhd

LOG = logging.getLogger(__name__)

# Largest body the import handler reads into memory.
MAX_IMPORT = 1024 * 1024 * 1024


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, api, address):
        self.api = api
        self.connections = set()
        self.conn_lock = threading.Lock()
        self._stopping = False
        super().__init__(address, _Handler)

    # socketserver's own loop waits in the selector class it bound when it
    # was imported: in an eventlet-patched process that imported socketserver
    # before patching (nova's functional tests do, depending on which test
    # modules load first), that is the real poll(), which blocks every green
    # thread and the simulator never answers. A blocking accept() on the
    # listening socket yields properly in both concurrency modes.

    def serve_forever(self, poll_interval=None):
        while not self._stopping:
            try:
                request, client_address = self.get_request()
            except OSError:
                if self._stopping:
                    break
                raise
            if self._stopping:
                self.shutdown_request(request)
                break
            if self.verify_request(request, client_address):
                try:
                    self.process_request(request, client_address)
                except Exception:
                    self.handle_error(request, client_address)
                    self.shutdown_request(request)
            else:
                self.shutdown_request(request)

    def shutdown(self):
        """Stop the loop: flag it, then wake its accept()."""
        self._stopping = True
        try:
            socket.create_connection(self.server_address, timeout=2).close()
        except OSError:
            pass

    def process_request_thread(self, request, client_address):
        with self.conn_lock:
            self.connections.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.conn_lock:
                self.connections.discard(request)

    def close_connections(self):
        with self.conn_lock:
            conns = list(self.connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'xapisim'
    # Buffer the response (flushed once per request) and disable Nagle:
    # otherwise each keep-alive call waits for a delayed ACK (~40 ms).
    wbufsize = -1
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        LOG.debug('%s ' + fmt, self.address_string(), *args)

    # -- XML-RPC -------------------------------------------------------

    def do_POST(self):
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length)
        api = self.server.api
        try:
            params, method = xmlrpc.client.loads(body, use_builtin_types=True)
        except Exception:  # not XML-RPC at all
            self._reply(400, b'bad XML-RPC request', 'text/plain')
            return
        try:
            value = api.dispatch(method, params)
            response = {'Status': 'Success', 'Value': value}
        except XapiError as e:
            response = {'Status': 'Failure',
                        'ErrorDescription': e.description}
        except Exception as e:
            LOG.exception('xapisim: %s failed', method)
            response = {'Status': 'Failure',
                        'ErrorDescription': ['INTERNAL_ERROR', repr(e)]}
        data = xmlrpc.client.dumps((response,), methodresponse=True,
                                   allow_none=False).encode('utf-8')
        self._reply(200, data, 'text/xml')

    def _reply(self, status, data, ctype, headers=()):
        self.send_response(status)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(data)))
        for key, value in headers:
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    # -- import_raw_vdi ------------------------------------------------

    def do_PUT(self):
        self.body_read = False
        self.answered = False
        parsed = urllib.parse.urlsplit(self.path)
        self.close_connection = True
        if parsed.path != '/import_raw_vdi':
            self._reply(404, b'not found', 'text/plain')
            self._drain()
            return
        cookies = {}
        for part in (self.headers.get('Cookie') or '').split(';'):
            if '=' in part:
                k, v = part.strip().split('=', 1)
                cookies[k] = v
        args = dict(cookies)
        args.update(urllib.parse.parse_qsl(parsed.query))
        self.query = parsed.query
        self.server.api_import(self, args)

    def answer(self, status, error=(), headers=()):
        """The import's answer, sent before its body is read (as XAPI
        does); the body is read (or drained) afterwards.
        """
        self.answered = True
        body = ' '.join(error).encode() if error else b''
        if status == 200:
            # XAPI's 200 has no length: the import runs after it and the
            # connection closes when it is done.
            self.send_response(200)
            self.send_header('Content-Type', 'application/octet-stream')
            self.send_header('Connection', 'close')
            for key, value in headers:
                self.send_header(key, value)
            self.end_headers()
            self.wfile.flush()
            return
        self._reply(status, body, 'text/plain', headers)
        self.wfile.flush()

    # -- export_raw_vdi (raw only) -------------------------------------

    def do_GET(self):
        parsed = urllib.parse.urlsplit(self.path)
        if parsed.path != '/export_raw_vdi':
            self._reply(404, b'not found', 'text/plain')
            return
        args = dict(urllib.parse.parse_qsl(parsed.query))
        status, data = export_raw_vdi(self.server.api, args)
        self.close_connection = True
        ctype = 'application/octet-stream' if status == 200 else 'text/plain'
        self._reply(status, data, ctype)

    def _drain(self):
        """Read and drop the request body, so the client sees our answer
        rather than a reset connection.
        """
        if getattr(self, 'body_read', False):
            return
        self.body_read = True
        length = self.headers.get('Content-Length')
        if length and length.isdigit():
            remaining = int(length)
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                remaining -= len(chunk)


def import_raw_vdi(api, host, handler, args):
    """XAPI's import handler (ocaml/xapi/import_raw_vdi.ml), modelled, as
    host ``host`` answers it.

    In XAPI's order: no valid session -> 401 (``Xapi_http``: the session
    need only be in the pool's database, so a member accepts the
    master's); a ``vdi`` that is neither a VDI ref nor a VDI uuid -> 500
    (its lookup fails outside the import's own error handling, and the
    caller's task is left pending); no ``vdi`` -> 400 ``VDI_MISSING``; a
    VDI in an SR this host does not see -> **302** to a host that sees it
    (``Importexport.return_302_redirect``, the same path and query; XAPI
    says ``https://<address>/``, the simulator ``http://<address>:<port>``),
    the task left for that host; an unknown format, a VHD sent chunked or
    any Transfer-Encoding -> 404; otherwise 200 **before** the data is
    read, so a bad image or one larger than the VDI fails only the task
    (``task_id``).
    """
    session = args.get('session_id')
    task = args.get('task_id')
    with api.lock:
        if session not in api.sessions:
            handler.answer(401, ['SESSION_INVALID', str(session)])
            handler._drain()
            return
        if task and not api.db.exists('task', task):
            task = None

    def fail(status, *error):
        if task:
            api._finish_task(task, 'failure', error=list(error))
        if not handler.answered:
            handler.answer(status, list(error))
        handler._drain()

    vdi = args.get('vdi')
    with api.lock:
        if vdi and not api.db.exists('VDI', vdi):
            try:
                vdi = api.db.by_uuid('VDI', vdi)
            except XapiError as e:
                handler.answer(500, e.description)
                handler._drain()
                return
        if not vdi:
            return fail(400, 'VDI_MISSING')
        sr = api.db.get('VDI', vdi)['SR']
        if not api._host_sees_sr(host, sr):
            seen_by = [h for h in api.host_refs.values()
                       if api._host_sees_sr(h, sr)]
            if seen_by:
                location = '%s/import_raw_vdi?%s' % (
                    api.host_url(seen_by[0]), handler.query)
                api.faults.calls['import_raw_vdi@302'] = (
                    api.faults.calls.get('import_raw_vdi@302', 0) + 1)
                handler.answer(302, (), (('Location', location),))
                handler._drain()
                return
            return fail(500, 'SR_NOT_ATTACHED', sr)
        size = api.db.get('VDI', vdi)['virtual_size']
    try:
        api.faults.check('import_raw_vdi')
    except XapiError as e:
        return fail(500, *e.description)
    fmt = args.get('format', 'raw').lower()
    if fmt not in ('raw', 'vhd'):
        return fail(404, 'INTERNAL_ERROR', 'Unknown format ' + fmt)
    if handler.headers.get('Transfer-Encoding'):
        return fail(404, 'INTERNAL_ERROR', 'Cannot handle encoding: '
                    + handler.headers.get('Transfer-Encoding'))
    if 'chunked' in args and fmt != 'raw':
        return fail(404, 'INTERNAL_ERROR', 'Cannot handle chunked VHD')
    length = handler.headers.get('Content-Length')
    if not (length and length.isdigit()):
        return fail(400, 'INTERNAL_ERROR', 'Not enough info supplied to '
                    'import (no Content-Length)')
    length = int(length)
    handler.answer(200, (), (('Task-id', task),) if task else ())
    if length > MAX_IMPORT:
        return fail(200, 'VDI_TOO_SMALL', vdi, str(length))
    handler.body_read = True
    data = handler.rfile.read(length)
    if len(data) != length:
        return fail(200, 'INTERNAL_ERROR', 'short read')
    try:
        if fmt == 'vhd':
            virtual, chunks = vhd.parse(data)
        else:
            virtual, chunks = length, [(0, data)]
    except vhd.VHDError as e:
        return fail(200, 'INTERNAL_ERROR', 'VHD: %s' % e)
    if virtual > size:
        return fail(200, 'VDI_TOO_SMALL', vdi, str(virtual))
    with api.lock:
        if not api.db.exists('VDI', vdi):
            return fail(200, 'HANDLE_INVALID', 'VDI', vdi)
        if fmt == 'vhd':
            # The VDI receives the whole virtual disk: unallocated blocks
            # read as zeros afterwards.
            api.vdi_data[vdi] = bytearray()
        for offset, piece in chunks:
            api.write_vdi(vdi, piece, offset)
    if task:
        api._finish_task(task, 'success', value=vdi)


def export_raw_vdi(api, args):
    """``GET /export_raw_vdi?session_id=&vdi=&format=raw``: the whole
    virtual disk (zeros past the last byte written); VHD export is not
    modelled (404, as XAPI answers an unknown format).
    """
    with api.lock:
        if args.get('session_id') not in api.sessions:
            return 401, b'SESSION_INVALID'
        if args.get('format', 'raw').lower() != 'raw':
            return 404, b'INTERNAL_ERROR Unknown format'
        vdi = args.get('vdi', '')
        if not api.db.exists('VDI', vdi):
            try:
                vdi = api.db.by_uuid('VDI', vdi)
            except XapiError:
                return 400, b'UUID_INVALID'
        size = api.db.get('VDI', vdi)['virtual_size']
        data = bytes(api.vdi_data.get(vdi, b''))
    if size > MAX_IMPORT:
        return 500, b'INTERNAL_ERROR VDI too large for the simulator'
    return 200, data + b'\0' * (size - len(data))


def start(api, host='127.0.0.1', port=0):
    """Serve ``api`` (a ``HostApi``: one host of the pool) on an address."""
    server = _Server(api, (host, port))
    server.api_import = lambda handler, args: import_raw_vdi(
        api, api.host, handler, args)
    thread = threading.Thread(target=server.serve_forever,
                              name='xapisim-%d' % server.server_port,
                              daemon=True)
    thread.start()
    return server, thread
