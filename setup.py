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

# The nova.virt.rescue_lm shim must be installed into nova's own package
# directory without shipping nova/__init__.py or nova/virt/__init__.py, which
# belong to nova.  pbr's [files] packages cannot express that, so the package
# list is given here as namespace packages (see
# doc/source/install/index.rst).
#
# The wheel also carries nova-rescue-lm-novaclient.pth at its root, the
# start-up hook that lets the nova CLI send microversion 2.105
# (nova_rescue_lm/client/novaclient_shell.py says why and how). pbr replaces
# cmdclass with its own commands, so build_py is swapped in through the
# distribution class.
import os

import setuptools
from setuptools.command import build_py
from setuptools import dist

PTH = os.path.join('nova_rescue_lm', 'client', 'nova-rescue-lm-novaclient.pth')


class BuildPy(build_py.build_py):
    """build_py that also places the .pth file at the top of the build."""

    def _pth_target(self):
        return os.path.join(self.build_lib, os.path.basename(PTH))

    def run(self):
        super().run()
        self.copy_file(PTH, self._pth_target())

    def get_outputs(self, include_bytecode=True):
        return super().get_outputs(include_bytecode) + [self._pth_target()]


class Distribution(dist.Distribution):

    def get_command_class(self, command):
        if command == 'build_py':
            return BuildPy
        return super().get_command_class(command)


setuptools.setup(
    setup_requires=['pbr>=6.0.0'],
    pbr=True,
    distclass=Distribution,
    packages=setuptools.find_namespace_packages(
        include=['nova_rescue_lm', 'nova_rescue_lm.*',
                 'nova.virt.rescue_lm', 'nova.virt.rescue_lm.*']),
)
