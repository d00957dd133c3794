# The webhook fixtures (an organization with endpoints, a local receiver) serve the
# worker-process tests here too.
from tests.server.webhooks.conftest import fast_settings, hooks, receiver

__all__ = ["fast_settings", "hooks", "receiver"]
