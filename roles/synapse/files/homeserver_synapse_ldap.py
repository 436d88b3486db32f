"""matrix-synapse-ldap3's password provider, with a directory that is down refusing logins at once.

The module builds an ldap3 ServerPool with ldap3's defaults for every login: it looks for a server that answers
forever, ten seconds between rounds (matrix-org/matrix-synapse-ldap3#124). With the directory down a login then
never returns, and since Synapse asks the module before its own database, the local (break-glass) accounts
could not log in either. Here the pool tries each server once, each connection waits connect_timeout seconds
at most (the module's config, default 5), and then the login fails: Synapse goes on with its own database.

Synapse loads this as `homeserver_synapse_ldap.LdapAuthProviderModule` (the synapse role installs the file into
Synapse's virtualenv next to the module).
"""

import ldap3
import ldap_auth_provider
from ldap3.utils.config import set_config_parameter

# The pause after a round of the pool in which no server answered, before the next round or the error.
set_config_parameter("POOLING_LOOP_TIMEOUT", 0)

DEFAULT_CONNECT_TIMEOUT = 5


class LdapAuthProviderModule(ldap_auth_provider.LdapAuthProviderModule):
    """The module's provider; the config takes connect_timeout (seconds) besides the module's own keys."""

    def __init__(self, config, api):
        ldap_config, self._connect_timeout = config
        super().__init__(ldap_config, api)

    @staticmethod
    def parse_config(config):
        config = dict(config)
        timeout = config.pop("connect_timeout", DEFAULT_CONNECT_TIMEOUT)
        if not isinstance(timeout, int) or isinstance(timeout, bool) or timeout < 1:
            raise ValueError("connect_timeout must be a whole number of seconds, 1 or more")
        return ldap_auth_provider.LdapAuthProviderModule.parse_config(config), timeout

    def _get_server(self, get_info=None):
        servers = [ldap3.Server(uri, get_info=get_info, tls=self.ldap_tls, connect_timeout=self._connect_timeout)
                   for uri in self.ldap_uris]
        # active=1: one round through the servers (the first that answers is used), then
        # LDAPServerPoolExhaustedError, which the module turns into a refused login.
        return ldap3.ServerPool(servers, active=1, exhaust=False)
