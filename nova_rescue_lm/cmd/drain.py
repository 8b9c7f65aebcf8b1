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

"""``nova-rescue-lm-drain``: live-migrate every movable server off a host.

Usage::

    nova-rescue-lm-drain HOST [--target HOST] [--max-parallel N]
                              [--dry-run] [--timeout SECONDS]
                              [--block-migration auto|true|false]
    nova-rescue-lm-drain --evacuate HOST [--target HOST] [--max-parallel N]
                              [--dry-run] [--timeout SECONDS]

What it does is :func:`nova_rescue_lm.drain.drain`: every server on the
compute host ``HOST`` (all projects) is looked at once
(:mod:`nova_rescue_lm.drain.planning`), those that cannot move are listed
with the reason, the others are live-migrated, at most ``--max-parallel``
(default 2) at a time (:mod:`nova_rescue_lm.drain.running`), and a table
ends the output (:mod:`nova_rescue_lm.drain.reporting`). The exit code is
0 only when every server left the host, 1 when anything was left behind
(including servers that cannot move), 2 for bad input (unknown host, no
permission, API unreachable, no credentials). ``--dry-run`` prints the same
plan and table and sends nothing but GET requests.

``--evacuate`` is for a host whose nova-compute is down (forced down, or no
longer reporting): every server on it is evacuated instead, RESCUED servers
at microversion 2.106, ACTIVE, SHUTOFF and ERROR servers at 2.95; nova
leaves them SHUTOFF on their new host (ACTIVE for a server that was in
ERROR). The same plan, table and exit codes apply; a host whose compute
service is up is bad input (2).

This module is the command line only: arguments, credentials, Ctrl-C and
the exit code for bad input. Ctrl-C stops issuing new migrations and waits
for those in flight (a second Ctrl-C stops waiting; those are then reported
as "unknown", still running).

Credentials are read the way the ``openstack`` client reads them (this
module uses openstacksdk's configuration loader, which python-openstackclient
is built on): ``--os-cloud NAME`` or ``OS_CLOUD`` picks an entry of
``clouds.yaml``; otherwise the ``OS_*`` environment variables of an openrc
file (``OS_AUTH_URL``, ``OS_USERNAME``, ``OS_PASSWORD``,
``OS_PROJECT_NAME``, ...) or the matching ``--os-*`` options are used, along
with ``--os-region-name`` and ``--os-interface``.  Without openstacksdk
installed, keystoneauth1's own argparse options (the same ``--os-*`` names
and ``OS_*`` variables, no clouds.yaml) are used.  Draining a host needs
admin credentials: listing compute services and other projects' servers and
naming a destination host are admin-only in nova's default policy, and so
is reading resource providers in placement.
keystoneauth's HTTP ``--timeout`` option is not offered (``--timeout`` is the
time one migration may take); each API request times out after 120 seconds
unless clouds.yaml sets ``api_timeout``.
"""

import argparse
import os
import signal
import sys
import threading

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import loading as ks_loading

from nova_rescue_lm import drain
from nova_rescue_lm.drain import compute_api

#: Seconds one API request may take.
HTTP_TIMEOUT = 120

#: Bad input; 0 and 1 are the drain's own
#: (:data:`nova_rescue_lm.drain.reporting.EXIT_OK`, ``EXIT_LEFT_BEHIND``).
EXIT_BAD_INPUT = 2


def _block_migration(value):
    value = value.lower()
    if value not in ('auto', 'true', 'false'):
        raise argparse.ArgumentTypeError('auto, true or false')
    return {'auto': 'auto', 'true': True, 'false': False}[value]


def _positive_int(value):
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError('must be 1 or more')
    return number


def _sdk_config():
    try:
        from openstack import config as sdk_config
    except ImportError:
        return None
    return sdk_config.OpenStackConfig()


def build_parser(argv, sdk=None):
    # The authentication options come first; ours are added after them and
    # win where names clash (keystoneauth's session has an HTTP --timeout:
    # here --timeout is the time one migration may take).
    parser = argparse.ArgumentParser(
        prog='nova-rescue-lm-drain', conflict_handler='resolve',
        description='Live-migrate every ACTIVE, PAUSED and RESCUED server '
                    'off a compute host; with --evacuate, evacuate every '
                    'ACTIVE, SHUTOFF, ERROR and RESCUED server off a host '
                    'whose nova-compute is down.')
    if sdk is not None:
        sdk.register_argparse_arguments(
            parser, argv, service_keys=['compute', 'placement'])
    else:
        ks_loading.register_session_argparse_arguments(parser)
        ks_loading.register_auth_argparse_arguments(parser, argv,
                                                    default='password')
        parser.add_argument('--os-region-name', metavar='REGION',
                            default=_env('OS_REGION_NAME'))
        parser.add_argument('--os-interface', metavar='INTERFACE',
                            default=_env('OS_INTERFACE') or 'public')
    parser.add_argument('host', help='compute host to drain')
    parser.add_argument('--target', metavar='HOST',
                        help='destination host (default: the scheduler '
                             'picks one per server)')
    parser.add_argument('--max-parallel', type=_positive_int, default=2,
                        metavar='N',
                        help='migrations in flight at once (default 2)')
    parser.add_argument('--dry-run', action='store_true',
                        help='print the plan; send no migration')
    parser.add_argument('--timeout', type=_positive_int, default=3600,
                        metavar='SECONDS', dest='migration_timeout',
                        help='give up waiting for one migration after this '
                             'long (default 3600; it keeps running)')
    # An evacuation has no block_migration: the two exclude each other
    # (None stands for auto, so that an explicit "auto" counts as given).
    how = parser.add_mutually_exclusive_group()
    how.add_argument('--block-migration', type=_block_migration,
                     default=None, metavar='auto|true|false',
                     help='block_migration of each request (default auto)')
    how.add_argument('--evacuate', action='store_true',
                     help="evacuate instead: the host's nova-compute "
                          'must be down (forced down or not reporting); '
                          'rescued servers at microversion 2.106, the '
                          'others at 2.95; nova leaves them SHUTOFF (ACTIVE '
                          'if they were in ERROR) on their new host')
    return parser


def docs_parser():
    """The command's parser as the documentation renders it."""
    return build_parser([])


def _env(name):
    return os.environ.get(name)


def make_adapters(args, sdk=None):
    """Keystoneauth adapters on the compute and placement endpoints.

    Both come from the catalog (or ``--os-compute-endpoint-override`` /
    ``--os-placement-endpoint-override``). Every request times out after
    HTTP_TIMEOUT seconds unless clouds.yaml sets ``api_timeout``.
    """
    args.timeout = None  # keystoneauth's HTTP timeout option is not offered
    adapters = []
    if sdk is not None:
        cloud = sdk.get_one(argparse=args)
        session = cloud.get_session()
        for service in ('compute', 'placement'):
            adapters.append(ks_adapter.Adapter(
                session=session, service_type=service,
                interface=cloud.get_interface(service),
                region_name=cloud.get_region_name(service),
                endpoint_override=cloud.get_endpoint(service)))
    else:
        auth = ks_loading.load_auth_from_argparse_arguments(args)
        session = ks_loading.load_session_from_argparse_arguments(
            args, auth=auth)
        for service in ('compute', 'placement'):
            adapters.append(ks_adapter.Adapter(
                session=session, service_type=service,
                interface=args.os_interface,
                region_name=args.os_region_name))
    if session.timeout is None:
        session.timeout = HTTP_TIMEOUT
    return tuple(adapters)


def _interrupt_handler(stop, out):
    def handler(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt()
        stop.set()
        out.write('Interrupted: no new migrations are started; waiting for '
                  'those in flight (Ctrl-C again to stop waiting).\n')
        out.flush()
    return handler


def main(argv=None, out=None, err=None):
    argv = sys.argv[1:] if argv is None else argv
    out, err = out or sys.stdout, err or sys.stderr
    try:
        sdk = _sdk_config()
    except Exception as e:  # a broken clouds.yaml
        err.write('nova-rescue-lm-drain: cannot read the cloud '
                  'configuration: %s\n' % e)
        return EXIT_BAD_INPUT
    args = build_parser(argv, sdk).parse_args(argv)
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, _interrupt_handler(stop, out))
    try:
        compute, placement = make_adapters(args, sdk)
        code, _entries = drain.drain(
            compute_api.ComputeClient(compute), args.host, target=args.target,
            max_parallel=args.max_parallel, dry_run=args.dry_run,
            timeout=args.migration_timeout,
            block_migration=('auto' if args.block_migration is None
                             else args.block_migration),
            out=out, stop=stop,
            placement=placement, evacuate=args.evacuate)
        return code
    except compute_api.DrainError as e:
        err.write('nova-rescue-lm-drain: %s\n' % e)
    except KeyboardInterrupt:
        # Only before any migration was sent: execute() handles its own.
        err.write('nova-rescue-lm-drain: interrupted; no migration was '
                  'sent.\n')
    except (ks_exc.MissingRequiredOptions, ks_exc.MissingAuthPlugin) as e:
        err.write('nova-rescue-lm-drain: no credentials (%s): use '
                  '--os-cloud/OS_CLOUD with clouds.yaml, or source an '
                  'openrc file (OS_AUTH_URL, OS_USERNAME, ...).\n' % e)
    except ks_exc.Unauthorized as e:
        err.write('nova-rescue-lm-drain: authentication failed: %s\n' % e)
    except ks_exc.EndpointNotFound as e:
        err.write('nova-rescue-lm-drain: no compute endpoint: %s\n' % e)
    except ks_exc.ConnectFailure as e:
        err.write('nova-rescue-lm-drain: the API cannot be reached: %s\n'
                  % e)
    except ks_exc.ClientException as e:
        err.write('nova-rescue-lm-drain: %s: %s\n' % (type(e).__name__, e))
    except Exception as e:
        if type(e).__module__.startswith('openstack'):
            # openstacksdk's configuration errors (no cloud, no auth_url).
            err.write('nova-rescue-lm-drain: %s\n' % e)
        else:
            raise
    finally:
        signal.signal(signal.SIGINT, previous)
    return EXIT_BAD_INPUT


if __name__ == '__main__':
    sys.exit(main())
