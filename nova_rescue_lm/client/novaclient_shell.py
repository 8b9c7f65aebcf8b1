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

"""``nova --os-compute-api-version 2.105`` and ``2.106``: the one patch of
novaclient.

python-novaclient 18.x knows compute microversions up to 2.96
(``novaclient.API_MAX_VERSION``), and ``OpenStackComputeShell.main`` refuses
a higher ``--os-compute-api-version`` *before* it discovers its
``novaclient.extension`` plugins. An extension is therefore loaded too late
to lift the cap, and nothing else in the shell runs third-party code before
that check.

So the package ships a start-up hook: ``nova-rescue-lm-novaclient.pth`` in
site-packages calls :func:`install_for_nova_cli` when Python starts. In the
``nova`` CLI's process (and only there: ``sys.argv[0]`` is the ``nova``
script) it puts an import hook on ``sys.meta_path`` that waits for
``novaclient.shell``; every other process (nova-api, nova-compute, the
``openstack`` CLI, ...) is left exactly as it was.
When ``novaclient.shell`` is imported, the installed python-novaclient is
checked and, if it is a release this module was verified against,
``OpenStackComputeShell.main`` is wrapped: a run that asks for exactly one
of the package's microversions (2.105 or 2.106) sees
``novaclient.API_MAX_VERSION`` raised to that version for its duration;
every other run (no version, ``2.latest``, any other version) goes to
novaclient untouched, so ``nova`` still negotiates 2.96 at most. Any other
python-novaclient is left alone (fail closed), and a run asking for 2.105 or
2.106 then says why on stderr before novaclient's own error.

At either version novaclient's commands send the newest request format they
know, which is what the API expects: 2.105 differs from 2.104 only in
accepting ``os-migrateLive`` for rescued servers (novaclient sends the body
of 2.68 for ``live-migration`` and ``host-evacuate-live``), and 2.106 from
2.105 only in accepting ``evacuate`` for rescued servers (``evacuate`` and
``host-evacuate`` send the body of 2.68: an optional host, no ``force``, no
``onSharedStorage``; from 2.95 nova leaves an evacuated server stopped
unless it was in ERROR).
"""

# Python runs this module at start-up (via the .pth file): it imports only
# what the interpreter has already loaded; the rest is imported when
# novaclient.shell is.
import importlib.machinery
import os
import sys

from nova_rescue_lm import microversions

#: The module whose import triggers the patch.
SHELL_MODULE = 'novaclient.shell'

#: python-novaclient major releases whose shell this module was verified
#: against (18.13.1 is the one tested).
VERIFIED_MAJOR_RELEASES = ('18',)

#: Marks the wrapped ``main`` (idempotence).
_PATCHED = '_nova_rescue_lm_patched'

#: The package's microversions a ``nova`` run may ask for, each with what
#: to use instead when this python-novaclient cannot send it.
ALTERNATIVES = {
    microversions.RESCUED_LIVE_MIGRATION:
        '"openstack rescued server migrate" or nova-rescue-lm-drain',
    microversions.RESCUED_EVACUATION:
        '"openstack --os-compute-api-version %s server evacuate" or '
        '"nova-rescue-lm-drain --evacuate"' % microversions.RESCUED_EVACUATION,
}


def unsupported_reason(shell_module):
    """Why this python-novaclient must not be patched, or None."""
    from importlib import metadata
    try:
        version = metadata.version('python-novaclient')
    except metadata.PackageNotFoundError:
        return 'python-novaclient is not installed as a distribution'
    if version.split('.')[0] not in VERIFIED_MAJOR_RELEASES:
        return ('python-novaclient %s is installed; this nova-rescue-lm '
                'knows python-novaclient %s only' % (
                    version, ', '.join('%s.x' % major for major in
                                       VERIFIED_MAJOR_RELEASES)))
    import novaclient
    from novaclient import api_versions
    current = getattr(novaclient, 'API_MAX_VERSION', None)
    if not isinstance(current, api_versions.APIVersion):
        return ('python-novaclient %s has no novaclient.API_MAX_VERSION'
                % version)
    if current >= api_versions.APIVersion(
            microversions.RESCUED_LIVE_MIGRATION):
        return ('python-novaclient %s already knows microversion %s, which '
                'upstream nova may define differently' % (
                    version, current.get_string()))
    shell_class = getattr(shell_module, 'OpenStackComputeShell', None)
    if not callable(getattr(shell_class, 'main', None)):
        return ('python-novaclient %s has no OpenStackComputeShell.main'
                % version)
    return None


def requested_microversion(shell, argv):
    """The package's microversion this ``nova`` run asks for, or None.

    Read with novaclient's own first-pass parser, exactly as its ``main``
    reads it (``--os-compute-api-version`` or ``OS_COMPUTE_API_VERSION``);
    only an exact match counts (``2.latest`` negotiates as before). A
    command line that parser rejects exits here with novaclient's own
    message, as ``main`` would have on its first line.
    """
    from novaclient import api_versions
    args, _rest = shell.get_base_parser(argv).parse_known_args(argv)
    requested = args.os_compute_api_version
    if not requested:
        return None
    try:
        version = api_versions.get_api_version(requested)
    except Exception:  # novaclient's main reports a malformed version
        return None
    for accepted in ALTERNATIVES:
        if version == api_versions.APIVersion(accepted):
            return accepted
    return None


def _wrap(main):
    import functools

    @functools.wraps(main)
    def main_allowing_rescued_microversion(self, argv):
        requested = requested_microversion(self, argv)
        if requested is None:
            return main(self, argv)
        import novaclient
        from novaclient import api_versions
        saved = novaclient.API_MAX_VERSION
        novaclient.API_MAX_VERSION = api_versions.APIVersion(requested)
        try:
            return main(self, argv)
        finally:
            novaclient.API_MAX_VERSION = saved
    setattr(main_allowing_rescued_microversion, _PATCHED, True)
    return main_allowing_rescued_microversion


def apply(shell_module):
    """Patch ``shell_module`` (novaclient.shell) if it is known.

    Returns None when the shell accepts 2.105 and 2.106 (also when it
    already did),
    else the reason it was left alone.
    """
    reason = unsupported_reason(shell_module)
    if reason:
        return reason
    shell_class = shell_module.OpenStackComputeShell
    if not getattr(shell_class.main, _PATCHED, False):
        shell_class.main = _wrap(shell_class.main)
    return None


def _argv_requested_microversion(argv, environ):
    """A plain reading of the command line, for the fail-closed message:
    the package's microversion it asks for, or None.
    """
    value = environ.get('OS_COMPUTE_API_VERSION')
    for index, arg in enumerate(argv):
        if arg == '--os-compute-api-version' and index + 1 < len(argv):
            value = argv[index + 1]
        elif arg.startswith('--os-compute-api-version='):
            value = arg.split('=', 1)[1]
    return value if value in ALTERNATIVES else None


def _refused(reason, err=None):
    """Say why 2.105 or 2.106 is not available, if this run asked for it."""
    requested = _argv_requested_microversion(sys.argv[1:], os.environ)
    if requested:
        (err or sys.stderr).write(
            'nova-rescue-lm: the nova CLI cannot send microversion %s here: '
            '%s. Use %s instead.\n' % (
                requested, reason, ALTERNATIVES[requested]))


def on_shell_import(shell_module):
    """Called right after ``novaclient.shell`` was executed; never raises."""
    try:
        reason = apply(shell_module)
    except Exception as e:  # never break the nova CLI itself
        reason = 'checking python-novaclient failed (%s: %s)' % (
            type(e).__name__, e)
    if reason:
        _refused(reason)


class _PatchingLoader:
    """novaclient.shell's own loader, then :func:`on_shell_import`."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        on_shell_import(module)

    def __getattr__(self, name):  # get_source, get_code, ... for tracebacks
        return getattr(self._loader, name)


class ShellImportHook:
    """Waits for ``novaclient.shell``; one shot, then leaves sys.meta_path."""

    def find_spec(self, fullname, path, target=None):
        if fullname != SHELL_MODULE:
            return None
        _remove_hooks()
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        spec.loader = _PatchingLoader(spec.loader)
        return spec


def _remove_hooks():
    sys.meta_path[:] = [finder for finder in sys.meta_path
                        if not isinstance(finder, ShellImportHook)]


#: Program names of the nova CLI (its console script).
NOVA_CLI_NAMES = ('nova', 'nova.exe')


def install_for_nova_cli(argv=None):
    """What the .pth file runs at start-up: the hook, in the nova CLI only.

    Every other process in the environment (nova-api, nova-compute under
    eventlet, the openstack CLI, tests, ...) returns here having touched
    nothing: an import finder on ``sys.meta_path`` is not free for all of
    them (it broke eventlet-mode nova services in the functional tests).
    """
    try:
        argv = sys.argv if argv is None else argv
        if argv and os.path.basename(argv[0]) in NOVA_CLI_NAMES:
            install_import_hook()
    except Exception:  # a start-up hook must never stop Python
        pass


def install_import_hook():
    """Wait for novaclient.shell; cheap, idempotent, never raises.

    If novaclient.shell is already imported, it is patched at once.
    """
    try:
        shell_module = sys.modules.get(SHELL_MODULE)
        if shell_module is not None:
            on_shell_import(shell_module)
        elif not any(isinstance(finder, ShellImportHook)
                     for finder in sys.meta_path):
            sys.meta_path.insert(0, ShellImportHook())
    except Exception:  # a start-up hook must never stop Python
        pass
