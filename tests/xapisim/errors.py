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
