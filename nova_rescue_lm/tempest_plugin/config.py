"""Options of the tempest plugin (tempest.conf, group ``[rescue_lm]``)."""

from oslo_config import cfg

group = cfg.OptGroup(
    name='rescue_lm',
    title='nova-rescue-lm: live migration of rescued servers')

opts = [
    cfg.BoolOpt('live_migrate_rescued',
                default=False,
                help='Whether the cloud under test runs nova-rescue-lm '
                     '(microversion 2.105 on os-migrateLive for rescued '
                     'servers). False (the default, as tempest\'s feature '
                     'flags) skips the tests; set it to True in '
                     'tempest.conf for a cloud with the package (the '
                     'devstack plugin does).'),
    cfg.StrOpt('rescue_image_ref',
               help='Image to rescue servers with. Defaults to '
                    '[compute] image_ref_alt, then [compute] image_ref.'),
]
