# nova's functional test package applies (or, with
# OS_NOVA_DISABLE_EVENTLET_PATCHING=1, forbids) eventlet before anything
# else imports it; these tests run in both concurrency modes.
import nova.tests.functional  # noqa: F401
