"""A XAPI (XenServer / XCP-ng) simulator that speaks real XML-RPC.

See README.rst beside this file. Usage::

    from tests.xapisim import Simulator
    sim = Simulator(pool_name='pool-a', hosts=('xs-a1',)).start()
    ...  # os_xenapi.client.XenAPI.Session(sim.url)
    sim.stop()
"""

from tests.xapisim.simulator import Simulator  # noqa: F401

__all__ = ['Simulator']
