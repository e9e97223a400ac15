/* Upgrade request heads, fed whole and in two pieces: both must agree. The
 * WebSocket handshake checks and the lookups run on every head accepted. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/xalloc.h"
#include "cri/stream/ws.h"

static void use_request(const struct http_request *r)
{
    static const char *const ours[] = {"v5.channel.k8s.io", "v4.channel.k8s.io"};
    _cleanup_free_ char *resp = NULL;
    const char *key, *chosen;
    char buf[64];
    struct crib_err err;
    size_t len;
    int status;

    (void)http_header_has_token(r, "Connection", "upgrade");
    (void)http_header_choose(r, "X-Stream-Protocol-Version", ours, 2, &chosen, &err);
    for (size_t i = 0; i < 4; i++)
        (void)http_query_get(r, "port", i, buf, sizeof(buf), &err);
    if (ws_handshake_check(r, &key, &status, &err) < 0)
        return;
    if (ws_choose_subprotocol(r, ours, 2, &chosen, &err) < 0)
        return;
    if (ws_handshake_response(key, chosen, &resp, &len, &err) < 0 || len != strlen(resp))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    _cleanup_free_ struct http_parser *whole = xmalloc(sizeof(*whole));
    _cleanup_free_ struct http_parser *split = xmalloc(sizeof(*split));
    size_t cut = size ? data[0] % (size + 1) : 0, used1 = 0, used2 = 0, used3 = 0;
    struct crib_err err;
    int r1, r2;

    http_parser_init(whole);
    http_parser_init(split);
    r1 = http_parser_feed(whole, data, size, &used1, &err);
    r2 = http_parser_feed(split, data, cut, &used2, &err);
    if (r2 == 0) {
        r2 = http_parser_feed(split, data + cut, size - cut, &used3, &err);
        used2 = cut + used3;
    }
    if ((r1 < 0) != (r2 < 0) || (r1 == 1) != (r2 == 1) || whole->status != split->status)
        abort();
    if (r1 != 1)
        return 0;
    if (used1 > size || used2 != used1 || whole->req.n_headers != split->req.n_headers ||
        strcmp(whole->req.target, split->req.target) != 0)
        abort();
    use_request(&whole->req);
    return 0;
}
