"""Tempest plugin: the rescued-server live migration, against a real cloud.

Loaded by tempest through the ``tempest.test_plugins`` entry point; nothing
else imports it, so tempest is not a requirement of the package itself.
"""
