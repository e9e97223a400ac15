/* Registry hosts.toml files (certs.d), through the TOML subset reader. A
 * parse that succeeds must also give a config the registry client can use. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "imagestore/hosts.h"

static void check_endpoint(const struct hosts_endpoint *ep)
{
    if (!ep->scheme || !ep->host || !*ep->host || !ep->api_root || !ep->capabilities)
        abort();
    for (size_t i = 0; i < ep->n_cas; i++)
        if (ep->cas[i][0] != '/')
            abort();
    for (size_t i = 0; i < ep->n_clients; i++)
        if (ep->clients[i].cert[0] != '/' || (ep->clients[i].key && ep->clients[i].key[0] != '/'))
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hosts_config config;
    struct crib_err err;

    /* hosts_parse refuses more at once; nothing past the cap is reached. */
    if (size > HOSTS_TOML_MAX_BYTES)
        return 0;
    if (hosts_parse((const char *)data, size, "/etc/crib/certs.d/docker.io", "docker.io", &config,
                    &err) < 0)
        return 0;
    if (config.n_endpoints < 1 || config.n_endpoints > HOSTS_MAX_ENDPOINTS)
        abort();
    for (size_t i = 0; i < config.n_endpoints; i++)
        check_endpoint(&config.endpoints[i]);
    hosts_config_done(&config);
    return 0;
}
