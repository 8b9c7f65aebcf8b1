# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Sphinx configuration of the nova-rescue-lm documentation.

Built with ``tox -e docs`` (``sphinx-build -W``: every warning is an error).
"""

from importlib import metadata

# -- General -----------------------------------------------------------------

extensions = [
    'openstackdocstheme',
    # the rendered sample configuration (oslo-config-generator at build time)
    'oslo_config.sphinxconfiggen',
    # CLI reference: argparse parsers and the cliff (openstack) command
    'sphinxarg.ext',
    'cliff.sphinxext',
    # ".. show-options:: nova_rescue_lm" (the oslo.config.opts entry point
    # of the installed package)
    'oslo_config.sphinxext',
    # ".. release-notes::" (reno scans releasenotes/notes in this git tree)
    'reno.sphinxext',
    # rest_method / rest_parameters / rest_status_code of the API reference
    'os_api_ref',
]

project = 'nova-rescue-lm'
# The version of the installed package (pbr takes it from git); tox -e docs
# installs it.
release = metadata.version('nova-rescue-lm')
version = release
copyright = 'nova-rescue-lm developers'
master_doc = 'index'
source_suffix = {'.rst': 'restructuredtext'}
pygments_style = 'native'
language = 'en'

# The nova-rescue-lm git repository is not hosted on opendev.org: no
# "edit on opendev" link and no Launchpad bug link.
openstackdocs_repo_name = ''
openstackdocs_bug_project = ''
openstackdocs_auto_name = False
openstackdocs_auto_version = False
openstackdocs_pdf_link = False

# -- HTML ---------------------------------------------------------------------

html_theme = 'openstackdocs'
html_theme_options = {
    # No third-party analytics on this project's pages.
    'analytics_tracking_code': '',
    'root_title': 'nova-rescue-lm',
}
# _templates/license_cc.html replaces the theme's Creative Commons footer:
# this project and its documentation are Apache-2.0.
templates_path = ['_templates']
html_static_path = ['_static']
html_title = 'nova-rescue-lm'

# oslo_config.sphinxconfiggen: doc/source/_static/nova-rescue-lm.conf.sample
config_generator_config_file = (
    '../../etc/nova-rescue-lm/nova-rescue-lm-config-generator.conf')
sample_config_basename = '_static/nova-rescue-lm'
