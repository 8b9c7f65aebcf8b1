# Release notes of nova-rescue-lm, one page per series (tox -e releasenotes).
# Licensed under the Apache License, Version 2.0.

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
