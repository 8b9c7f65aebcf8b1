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

"""XAPI failures as the simulator raises them.

A failure travels over the wire as ``{'Status': 'Failure',
'ErrorDescription': [code, *params]}``; the codes and the order of their
parameters are the ones of xen-api's datamodel (ocaml/idl/datamodel_errors.ml).
"""

NULL_REF = 'OpaqueRef:NULL'


class XapiError(Exception):
    """An XAPI error: a code and its string parameters."""

    def __init__(self, code, *params):
        self.code = code
        self.params = [str(p) for p in params]
        super().__init__(self.description)

    @property
    def description(self):
        return [self.code] + self.params


def internal_error(message):
    return XapiError('INTERNAL_ERROR', message)


def handle_invalid(cls, ref):
    return XapiError('HANDLE_INVALID', cls, ref)


def bad_power_state(vm_ref, expected, actual):
    """VM_BAD_POWER_STATE with lower-case state names, as XAPI sends them.

    ``expected`` is a list of states; XAPI joins them with ", ".
    """
    if isinstance(expected, str):
        expected = [expected]
    return XapiError('VM_BAD_POWER_STATE', vm_ref,
                     ', '.join(s.lower() for s in expected), actual.lower())
