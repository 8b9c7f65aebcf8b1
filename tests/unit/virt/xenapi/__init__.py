# nova's unit test package applies (or, with
# OS_NOVA_DISABLE_EVENTLET_PATCHING=1, forbids) eventlet before anything
# else imports it; these tests run in both modes.
import nova.tests.unit  # noqa: F401
