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

"""``nova-rescue-lm-status upgrade check``: ready for rescued live migration?

Run it where ``nova-status`` runs (it reads nova.conf, the cell databases and
placement). It answers what a rolling upgrade needs: does the installed nova
have every internal the package relies on, does nova-api load the package,
which compute nodes can (and cannot yet) live-migrate rescued servers, and
which nodes carry the trait although their driver no longer reports it.
"""

import configparser
import functools
import os
import sys
from urllib import parse

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import loading as ks_loading
import nova.conf
from nova import config as nova_config
from nova import context as nova_context
from nova import objects
from nova.scheduler.client import report
from oslo_upgradecheck import upgradecheck

from nova_rescue_lm import capability
from nova_rescue_lm.i18n import _
from nova_rescue_lm import microversions
from nova_rescue_lm import nova_shape
from nova_rescue_lm import release

CONF = nova.conf.CONF

#: The paste apps nova-api must build from the package.
PASTE_FACTORIES = {
    'app:osapi_compute_app_v21': 'nova_rescue_lm.api:APIRouterV21.factory',
    'app:oscomputeversionapp': 'nova_rescue_lm.api:Versions.factory',
    'app:oscomputeversionapp_v2': 'nova_rescue_lm.api:VersionsV2.factory',
}


def _result(code, details):
    return upgradecheck.Result(code, details)


def _compute_nodes(ctxt):
    """Every compute node of every cell (cell0 has none)."""
    nodes = []
    for cell in objects.CellMappingList.get_all(ctxt):
        if cell.is_cell0():
            continue
        with nova_context.target_cell(ctxt, cell) as cctxt:
            nodes.extend(objects.ComputeNodeList.get_all(cctxt))
    return nodes


def api_paste_file(environ=None):
    """The paste file nova-api loads.

    nova-api runs only as a WSGI application (``nova.wsgi.osapi_compute``):
    ``nova/api/openstack/wsgi_app.py`` takes the first file of
    ``OS_NOVA_CONFIG_FILES`` (default ``api-paste.ini;nova.conf``) in
    ``OS_NOVA_CONFIG_DIR`` (default ``/etc/nova``). ``[wsgi]
    api_paste_config`` is read by nova's test fixtures only.
    """
    environ = os.environ if environ is None else environ
    directory = environ.get('OS_NOVA_CONFIG_DIR', '/etc/nova').strip()
    files = environ.get('OS_NOVA_CONFIG_FILES', '').split(';')
    return os.path.join(directory, files[0] or 'api-paste.ini')


def version_document_url(endpoint):
    """``/v2.1/`` beside a compute endpoint of the catalog.

    Catalogs name ``.../v2.1``, ``.../v2.1/<project>`` or the legacy
    ``.../v2/<project>``; the version document is unauthenticated.
    """
    parts = parse.urlsplit(endpoint)
    index = parts.path.find('/v2')
    root = parts.path[:index] if index >= 0 else parts.path.rstrip('/')
    return parse.urlunsplit(
        (parts.scheme, parts.netloc, root + '/v2.1/', '', ''))


def running_api_microversion():
    """(URL, maximum microversion) of the nova-api the catalog names.

    The catalog is read with nova.conf's ``[placement]`` credentials (an
    API node has them); None when they are not configured.
    """
    auth = ks_loading.load_auth_from_conf_options(CONF, 'placement')
    if auth is None:
        return None
    session = ks_loading.load_session_from_conf_options(
        CONF, 'placement', auth=auth)
    compute = ks_adapter.Adapter(
        session, auth=auth, service_type='compute',
        interface=CONF.placement.valid_interfaces,
        region_name=CONF.placement.region_name)
    url = version_document_url(compute.get_endpoint())
    document = session.get(url, authenticated=False,
                           headers={'Accept': 'application/json'}).json()
    return url, document['version']['version']


def never_raises(check):
    """A check that fails with its reason instead of a traceback, so that
    the other checks still report.
    """
    @functools.wraps(check)
    def wrapper(self):
        try:
            return check(self)
        except Exception as e:
            return _result(upgradecheck.Code.FAILURE, _(
                'The check could not run: %(type)s: %(e)s') % {
                    'type': type(e).__name__, 'e': e})
    return wrapper


def _lacking(node):
    """A node's name, with why its driver reports the capability off when
    it says so (``nova_rescue_lm.capability.STAT_REASON``).
    """
    reason = (node.stats or {}).get(capability.STAT_REASON)
    if reason:
        return _('%(node)s (its driver says: %(reason)s)') % {
            'node': node.hypervisor_hostname, 'reason': reason}
    return node.hypervisor_hostname


def _node_names(nodes, label=None):
    """The nodes, by name, each as ``label`` gives it (default: its name)."""
    label = label or (lambda node: node.hypervisor_hostname)
    return ', '.join(label(node) for node in sorted(
        nodes, key=lambda node: node.hypervisor_hostname))


class UpgradeCommands(upgradecheck.UpgradeCommands):

    def _check_nova_shape(self):
        found = release.installed_nova_release()
        differences = nova_shape.all_differences()
        if not differences:
            return _result(upgradecheck.Code.SUCCESS, _(
                'nova %s has every internal nova-rescue-lm relies on.')
                % found)
        return _result(upgradecheck.Code.FAILURE, _(
            'nova %(found)s differs from what nova-rescue-lm relies on, so '
            'live migration and evacuation of rescued servers are switched '
            'off (nova-api serves nova\'s own behaviour, computes report no '
            'capability): %(differences)s. Install the nova-rescue-lm '
            'release made for your nova.') % {'found': found,
                             'differences': '; '.join(differences)})

    def _check_api_paste(self):
        path = api_paste_file()
        if not os.path.isfile(path):
            return _result(upgradecheck.Code.FAILURE, _(
                'nova-api loads %(path)s, which does not exist here. nova-api '
                '(nova.wsgi.osapi_compute under uWSGI or httpd) reads the '
                'first file of OS_NOVA_CONFIG_FILES in OS_NOVA_CONFIG_DIR '
                '(default /etc/nova/api-paste.ini); run this check on an '
                'API node with the environment nova-api has. [wsgi] '
                'api_paste_config does not change what nova-api loads.')
                % {'path': path})
        parser = configparser.RawConfigParser()
        try:
            parser.read(path)
        except configparser.Error as e:
            return _result(upgradecheck.Code.FAILURE, _(
                '%(path)s cannot be read: %(e)s') % {'path': path, 'e': e})
        wrong = [section for section, factory in PASTE_FACTORIES.items()
                 if not parser.has_option(section, 'paste.app_factory') or
                 parser.get(section, 'paste.app_factory') != factory]
        if wrong:
            return _result(upgradecheck.Code.FAILURE, _(
                '%(path)s does not load nova-rescue-lm in %(sections)s, so '
                'nova-api does not offer microversion %(version)s. Set '
                '%(expected)s.') % {
                    'path': path, 'sections': ', '.join(wrong),
                    'version': microversions.MAX,
                    'expected': '; '.join(
                        '[%s] paste.app_factory = %s' % item
                        for item in PASTE_FACTORIES.items())})
        return _result(upgradecheck.Code.SUCCESS,
                       _('%s (the file nova-api loads) loads '
                         'nova-rescue-lm.') % path)

    def _check_running_api(self):
        try:
            answer = running_api_microversion()
        except Exception as e:
            return _result(upgradecheck.Code.WARNING, _(
                'Could not ask the running nova-api which microversions it '
                'offers (its endpoint is looked up in the catalog with the '
                '[placement] credentials of nova.conf): %(type)s: %(e)s')
                % {'type': type(e).__name__, 'e': e})
        if answer is None:
            return _result(upgradecheck.Code.WARNING, _(
                'Could not ask the running nova-api which microversions it '
                'offers: nova.conf has no [placement] credentials to look '
                'up its endpoint in the catalog.'))
        url, offered = answer
        if offered == microversions.MAX:
            return _result(upgradecheck.Code.SUCCESS, _(
                'nova-api at %(url)s offers microversion %(version)s.')
                % {'url': url, 'version': offered})
        return _result(upgradecheck.Code.FAILURE, _(
            'nova-api at %(url)s offers microversions up to %(offered)s, '
            'not %(version)s: that API node does not load nova-rescue-lm '
            '(see the API paste pipeline check, on every API node), was not '
            'restarted since, or has the package switched off (see the nova '
            'internals check and nova-api\'s log).') % {
                'url': url, 'offered': offered,
                'version': microversions.MAX})

    def _traits_by_node(self):
        """({node: traits}, None), or (None, the failure to report).

        Read once per run: both capability checks use the same answer.
        """
        if not hasattr(self, '_traits'):
            self._traits = self._read_traits()
        return self._traits

    def _read_traits(self):
        ctxt = nova_context.get_admin_context()
        nodes = _compute_nodes(ctxt)
        try:
            # ([placement] of nova.conf; missing credentials raise here)
            client = report.report_client_singleton()
            return {node: client.get_provider_traits(ctxt, node.uuid).traits
                    for node in nodes}, None
        except Exception as e:
            return None, _result(upgradecheck.Code.FAILURE, _(
                'Could not read compute node traits from placement (check '
                'the [placement] section of nova.conf): %(type)s: %(e)s')
                % {'type': type(e).__name__, 'e': e})

    def _check_compute_capability(self):
        traits, failure = self._traits_by_node()
        if failure:
            return failure
        if not traits:
            return _result(upgradecheck.Code.WARNING,
                           _('No compute node is registered yet.'))
        lacking = [node for node, t in traits.items()
                   if capability.TRAIT not in t]
        if not lacking:
            return _result(upgradecheck.Code.SUCCESS, _(
                'All %d compute nodes can live-migrate rescued servers.')
                % len(traits))
        return _result(upgradecheck.Code.WARNING, _(
            '%(n)d of %(total)d compute nodes lack the %(trait)s trait and '
            'cannot live-migrate rescued servers (nor receive them): '
            '%(nodes)s. Install nova-rescue-lm there and set compute_driver '
            '= rescue_lm.libvirt.LibvirtDriver (or rescue_lm.xenapi.'
            'XenAPIDriver), or leave them out on purpose.') % {
                'n': len(lacking), 'total': len(traits),
                'trait': capability.TRAIT,
                'nodes': _node_names(lacking, label=_lacking)})

    def _check_stale_traits(self):
        traits, failure = self._traits_by_node()
        if failure:
            return failure
        stale = [node for node, t in traits.items()
                 if capability.TRAIT in t and
                 capability.unproven(t, node.stats)]
        if not stale:
            return _result(upgradecheck.Code.SUCCESS,
                           _('No stale %s trait.') % capability.TRAIT)
        return _result(upgradecheck.Code.WARNING, _(
            'The %(trait)s trait is on %(nodes)s although the driver there '
            'does not report the capability (it no longer runs nova-rescue-'
            'lm, or has it disabled); the API would let rescued servers '
            'move there. Remove the trait from those resource providers, '
            'e.g. with "openstack resource provider trait set" and the '
            'remaining traits, or restart their nova-compute with the '
            'package so it is reported again.') % {
                'trait': capability.TRAIT, 'nodes': _node_names(stale)})

    def _check_evacuation(self):
        traits, failure = self._traits_by_node()
        if failure:
            return failure
        capable = [node for node, t in traits.items()
                   if not capability.unproven(t, node.stats)]
        without = [node for node in capable
                   if capability.unproven_for_evacuation(
                       traits[node], node.stats)]
        if not capable:
            return _result(upgradecheck.Code.WARNING, _(
                'No compute node can take an evacuated rescued server '
                '(microversion 2.106): none is capable.'))
        if not without:
            return _result(upgradecheck.Code.SUCCESS, _(
                'All %d capable compute nodes can take an evacuated rescued '
                'server (microversion 2.106).') % len(capable))
        return _result(upgradecheck.Code.WARNING, _(
            '%(n)d of %(total)d capable compute nodes cannot take an '
            'evacuated rescued server (microversion 2.106): %(nodes)s. '
            'They run a release of nova-rescue-lm before 0.2 (upgrade them) '
            'or the XenAPI driver, which cannot evacuate (expected); the '
            'scheduler leaves them out.') % {
                'n': len(without), 'total': len(capable),
                'nodes': _node_names(without)})

    _upgrade_checks = tuple(
        (name, never_raises(check)) for name, check in (
            (_('nova internals'), _check_nova_shape),
            (_('API paste pipeline'), _check_api_paste),
            (_('Running API'), _check_running_api),
            (_('Compute capability'), _check_compute_capability),
            (_('Stale capability traits'), _check_stale_traits),
            (_('Evacuation of rescued servers'), _check_evacuation),
        ))


def main(argv=None):
    """Entry point of ``nova-rescue-lm-status``."""
    upgradecheck.register_cli_options(CONF, UpgradeCommands())
    nova_config.parse_args(sys.argv if argv is None else argv)
    # UpgradeCommands.check() reads "--json" from this module global, which
    # only upgradecheck.main() sets; main() cannot be used because nova's
    # parse_args also configures nova's databases.
    upgradecheck.CONF = CONF
    objects.register_all()
    return upgradecheck.run(CONF)
