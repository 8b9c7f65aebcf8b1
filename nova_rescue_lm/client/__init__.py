"""Client-side support: the nova and openstack CLIs at microversion 2.105.

Installed on an operator's workstation with the ``client`` extra
(``pip install 'nova-rescue-lm[client]'``). Nothing here imports nova, and
nothing here is loaded by nova-api or nova-compute.
"""

#: The compute API microversion at which os-migrateLive accepts rescued
#: servers (the API's side is nova_rescue_lm.api.microversion).
RESCUED_LIVE_MIGRATION = '2.105'
