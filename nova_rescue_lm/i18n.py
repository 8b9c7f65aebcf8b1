"""oslo.i18n integration for nova-rescue-lm's own messages."""

import oslo_i18n

_translators = oslo_i18n.TranslatorFactory(domain='nova_rescue_lm')

_ = _translators.primary
