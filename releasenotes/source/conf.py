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

# Release notes of nova-rescue-lm, one page per series (tox -e releasenotes).

extensions = [
    'openstackdocstheme',
    'reno.sphinxext',
]
openstackdocs_repo_name = 'nova-rescue-lm'
openstackdocs_auto_name = False
project = 'nova-rescue-lm Release Notes'
copyright = 'nova-rescue-lm developers'
release = ''
version = ''
source_suffix = '.rst'
master_doc = 'index'
exclude_patterns = []
pygments_style = 'native'
html_theme = 'openstackdocs'
html_static_path = ['_static']
locale_dirs = ['locale/']
