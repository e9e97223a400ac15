#include "cri/stream/channel.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/xalloc.h"
#include "cri/stream/internal.h"

/* Our preference order within each kind and transport: the newest first. The
 * kubelet serves the same names (cri/streaming remotecommand and portforward);
 * the WebSocket exec protocols all carry a resize channel, the SPDY ones from
 * v3. v5 exists over WebSocket only: SPDY half-closes a stream with FIN.
 * "SPDY/3.1+portforward.k8s.io" is kubectl's tunnel of SPDY inside WebSocket
 * binary messages (KEP-4006); the apiserver usually ends it itself. */
static const struct chan_proto protos[] = {
    {"v5.channel.k8s.io", CHAN_EXEC, CHAN_WEBSOCKET,
     CHAN_HAS_RESIZE | CHAN_STATUS_JSON | CHAN_CLOSE_SIGNAL},
    {"v4.channel.k8s.io", CHAN_EXEC, CHAN_WEBSOCKET, CHAN_HAS_RESIZE | CHAN_STATUS_JSON},
    {"v4.base64.channel.k8s.io", CHAN_EXEC, CHAN_WEBSOCKET,
     CHAN_BASE64 | CHAN_HAS_RESIZE | CHAN_STATUS_JSON},
    {"channel.k8s.io", CHAN_EXEC, CHAN_WEBSOCKET, CHAN_HAS_RESIZE},
    {"base64.channel.k8s.io", CHAN_EXEC, CHAN_WEBSOCKET, CHAN_BASE64 | CHAN_HAS_RESIZE},
    {"", CHAN_EXEC, CHAN_WEBSOCKET, CHAN_HAS_RESIZE},
    {"v4.channel.k8s.io", CHAN_EXEC, CHAN_SPDY, CHAN_HAS_RESIZE | CHAN_STATUS_JSON},
    {"v3.channel.k8s.io", CHAN_EXEC, CHAN_SPDY, CHAN_HAS_RESIZE},
    {"v2.channel.k8s.io", CHAN_EXEC, CHAN_SPDY, 0},
    {"channel.k8s.io", CHAN_EXEC, CHAN_SPDY, 0},
    {"portforward.k8s.io", CHAN_PORTFORWARD, CHAN_SPDY, 0},
    {"v4.channel.k8s.io", CHAN_PORTFORWARD, CHAN_WEBSOCKET, CHAN_PORT_PREFIX},
    {"v4.base64.channel.k8s.io", CHAN_PORTFORWARD, CHAN_WEBSOCKET, CHAN_PORT_PREFIX | CHAN_BASE64},
    {"SPDY/3.1+portforward.k8s.io", CHAN_PORTFORWARD, CHAN_WEBSOCKET, CHAN_SPDY_TUNNEL},
    {"", CHAN_PORTFORWARD, CHAN_WEBSOCKET, CHAN_PORT_PREFIX},
};

/* Nesting past this in a resize message is refused by the tokener. */
#define RESIZE_JSON_DEPTH 4

size_t chan_proto_names(unsigned kind, unsigned transport, const char **names, size_t n)
{
    size_t k = 0;

    for (size_t i = 0; i < ARRAY_SIZE(protos); i++) {
        if (!(protos[i].kind & kind) || !(protos[i].transport & transport) || !*protos[i].name)
            continue;
        if (k < n)
            names[k] = protos[i].name;
        k++;
    }
    return k;
}

const struct chan_proto *chan_proto_lookup(const char *name, unsigned kind, unsigned transport)
{
    for (size_t i = 0; i < ARRAY_SIZE(protos); i++)
        if ((protos[i].kind & kind) && (protos[i].transport & transport) &&
            strcmp(protos[i].name, name) == 0)
            return &protos[i];
    return NULL;
}

int chan_decode(const struct chan_proto *p, uint8_t *msg, size_t len, struct chan_msg *ret,
                struct crib_err *err)
{
    long n = (long)len - 1;

    if (len == 0)
        return 0;
    memset(ret, 0, sizeof(*ret));
    ret->channel = msg[0];
    if (p->flags & CHAN_BASE64) {
        /* wsstream writes '0' + channel, so channels past 9 go on past '9'. */
        if (msg[0] < '0')
            return crib_fail(err, CRIB_INVALID, 0, "channel message: bad channel character");
        ret->channel = msg[0] - '0';
        n = stream_b64_decode((const char *)msg + 1, len - 1, msg + 1);
        if (n < 0)
            return crib_fail(err, CRIB_INVALID, 0, "channel message: invalid base64");
    }
    ret->data = msg + 1;
    ret->len = (size_t)n;
    if ((p->flags & CHAN_CLOSE_SIGNAL) && ret->channel == CHAN_CLOSE) {
        if (ret->len != 1)
            return crib_fail(err, CRIB_INVALID, 0, "channel message: CLOSE of %zu bytes", ret->len);
        ret->closed = ret->data[0];
    }
    return 1;
}

int chan_encode(const struct chan_proto *p, unsigned channel, const void *data, size_t len,
                uint8_t **ret, size_t *ret_len, struct crib_err *err)
{
    uint8_t *out;

    if (channel > ((p->flags & CHAN_BASE64) ? 255u - '0' : 255u))
        return crib_fail(err, CRIB_INVALID, 0, "channel %u cannot be sent", channel);
    if (p->flags & CHAN_BASE64) {
        out = xmalloc(2 + STREAM_B64_LEN(len));
        out[0] = (uint8_t)('0' + channel);
        *ret_len = 1 + stream_b64_encode(data, len, (char *)out + 1);
    } else {
        out = xmalloc(1 + len);
        out[0] = (uint8_t)channel;
        if (len)
            memcpy(out + 1, data, len);
        *ret_len = 1 + len;
    }
    *ret = out;
    return 0;
}

void chan_port_prefix(uint16_t port, uint8_t out[2])
{
    out[0] = (uint8_t)port;
    out[1] = (uint8_t)(port >> 8);
}

struct chan_resize_decoder {
    struct json_tokener *tok;
    size_t n_bytes; /* bytes of the object being received */
    bool is_failed;
};

struct chan_resize_decoder *chan_resize_decoder_new(void)
{
    struct chan_resize_decoder *d = xcalloc(1, sizeof(*d));

    d->tok = json_tokener_new_ex(RESIZE_JSON_DEPTH);
    if (!d->tok)
        abort(); /* json-c fails only for memory */
    json_tokener_set_flags(d->tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS |
                                       JSON_TOKENER_VALIDATE_UTF8);
    return d;
}

void chan_resize_decoder_free(struct chan_resize_decoder *d)
{
    if (!d)
        return;
    json_tokener_free(d->tok);
    free(d);
}

CRIB_DEFINE_CLEANUP(struct chan_resize_decoder, chan_resize_decoder_free)

/* Reads a dimension: a JSON integer that fits Go's uint16 (TerminalSize). */
static int get_dimension(struct json_object *v, const char *key, uint16_t *ret,
                         struct crib_err *err)
{
    int64_t n;

    if (!json_object_is_type(v, json_type_int))
        return crib_fail(err, CRIB_INVALID, 0, "resize: %s is not an integer", key);
    n = json_object_get_int64(v);
    if (n < 0 || n > UINT16_MAX)
        return crib_fail(err, CRIB_INVALID, 0, "resize: %s out of range 0-65535", key);
    *ret = (uint16_t)n;
    return 0;
}

/* Go's encoding/json matches keys without case and lets the last one win. */
static int size_from_object(struct json_object *obj, struct chan_size *ret, struct crib_err *err)
{
    bool has_width = false, has_height = false;
    int r = 0;

    if (!json_object_is_type(obj, json_type_object))
        return crib_fail(err, CRIB_INVALID, 0, "resize: not a JSON object");
    json_object_object_foreach (obj, key, v) {
        if (strcasecmp(key, "Width") == 0) {
            r = get_dimension(v, "Width", &ret->width, err);
            has_width = true;
        } else if (strcasecmp(key, "Height") == 0) {
            r = get_dimension(v, "Height", &ret->height, err);
            has_height = true;
        }
        if (r < 0)
            return r;
    }
    if (!has_width || !has_height)
        return crib_fail(err, CRIB_INVALID, 0, "resize: Width or Height missing");
    return 0;
}

static int decoder_fail(struct chan_resize_decoder *d, int r)
{
    d->is_failed = true;
    return r;
}

/* Feeds data[0..n) to the tokener, at most one byte past the cap. */
static int tokenize(struct chan_resize_decoder *d, const char *data, size_t n, size_t *ret_used,
                    struct chan_size *ret, struct crib_err *err)
{
    struct json_object *obj;
    enum json_tokener_error jerr;
    size_t used;
    int r;

    if (n > CHAN_RESIZE_MAX_BYTES + 1 - d->n_bytes)
        n = CHAN_RESIZE_MAX_BYTES + 1 - d->n_bytes;
    if (memchr(data, '\0', n))
        return crib_fail(err, CRIB_INVALID, 0, "resize: NUL in message");
    /* json-c 0.16 takes 'single-quoted' strings even when strict; Go does not,
     * and no resize message has a quote of any kind inside a string. */
    if (memchr(data, '\'', n))
        return crib_fail(err, CRIB_INVALID, 0, "resize: single quote in message");
    obj = json_tokener_parse_ex(d->tok, data, (int)n);
    jerr = json_tokener_get_error(d->tok);
    if (jerr == json_tokener_continue) {
        d->n_bytes += n;
        if (d->n_bytes > CHAN_RESIZE_MAX_BYTES)
            return crib_fail(err, CRIB_LIMIT, 0, "resize: message over %u bytes",
                             CHAN_RESIZE_MAX_BYTES);
        *ret_used = n;
        return 0;
    }
    if (jerr != json_tokener_success)
        return crib_fail(err, CRIB_INVALID, 0, "resize: %s", json_tokener_error_desc(jerr));
    used = json_tokener_get_parse_end(d->tok);
    json_tokener_reset(d->tok);
    d->n_bytes = 0;
    r = size_from_object(obj, ret, err);
    json_object_put(obj);
    if (r < 0)
        return r;
    *ret_used = used;
    return 1;
}

static bool is_json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int chan_resize_feed(struct chan_resize_decoder *d, const char *data, size_t len, size_t *ret_used,
                     struct chan_size *ret, struct crib_err *err)
{
    size_t skip = 0, used = 0;
    int r;

    if (d->is_failed)
        return crib_fail(err, CRIB_INVALID, 0, "resize: stream failed earlier");
    /* json.Encoder ends each object with a newline: skip it between objects. */
    while (d->n_bytes == 0 && skip < len && is_json_space(data[skip]))
        skip++;
    if (skip == len) {
        *ret_used = len;
        return 0;
    }
    r = tokenize(d, data + skip, len - skip, &used, ret, err);
    if (r < 0)
        return decoder_fail(d, r);
    *ret_used = skip + used;
    return r;
}

int chan_resize_parse(const char *json, size_t len, struct chan_size *ret, struct crib_err *err)
{
    _cleanup_(chan_resize_decoder_freep) struct chan_resize_decoder *d = NULL;
    size_t used;
    int r;

    if (len > CHAN_RESIZE_MAX_BYTES)
        return crib_fail(err, CRIB_LIMIT, 0, "resize: message over %u bytes",
                         CHAN_RESIZE_MAX_BYTES);
    d = chan_resize_decoder_new();
    r = chan_resize_feed(d, json, len, &used, ret, err);
    if (r < 0)
        return r;
    if (r == 0)
        return crib_fail(err, CRIB_INVALID, 0, "resize: truncated message");
    for (size_t i = used; i < len; i++)
        if (!is_json_space(json[i]))
            return crib_fail(err, CRIB_INVALID, 0, "resize: junk after the object");
    return 0;
}

/* A v1 Status as the kubelet marshals metav1.Status: no kind or apiVersion,
 * an empty metadata, then status, message, reason, details, code. */
static char *status_json(const char *status, const char *message, const char *reason,
                         const char *cause_reason, const char *cause_message, int code)
{
    struct json_object *o = json_object_new_object(), *details, *causes, *cause;
    char *s;

    json_object_object_add(o, "metadata", json_object_new_object());
    json_object_object_add(o, "status", json_object_new_string(status));
    if (message) {
        json_object_object_add(o, "message", json_object_new_string(message));
        json_object_object_add(o, "reason", json_object_new_string(reason));
        details = json_object_new_object();
        causes = json_object_new_array();
        cause = json_object_new_object();
        if (cause_reason)
            json_object_object_add(cause, "reason", json_object_new_string(cause_reason));
        json_object_object_add(cause, "message", json_object_new_string(cause_message));
        json_object_array_add(causes, cause);
        json_object_object_add(details, "causes", causes);
        json_object_object_add(o, "details", details);
    }
    if (code)
        json_object_object_add(o, "code", json_object_new_int(code));
    s = xstrdup(
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return s;
}

void chan_status_format(const struct chan_proto *p, int exit_code, const char *message, char **ret,
                        size_t *ret_len)
{
    _cleanup_free_ char *text = NULL, *code = NULL;
    bool is_json = p->flags & CHAN_STATUS_JSON;

    *ret = NULL;
    *ret_len = 0;
    if (message) {
        text = xasprintf("Internal error occurred: %s", message);
        *ret = is_json ? status_json("Failure", text, "InternalError", NULL, message, 500)
                       : xstrdup(message);
    } else if (exit_code != 0) {
        code = xasprintf("%d", exit_code);
        text = xasprintf("command terminated with non-zero exit code: exit code %d", exit_code);
        *ret = is_json ? status_json("Failure", text, "NonZeroExitCode", "ExitCode", code, 0)
                       : TAKE_PTR(text);
    } else if (is_json) {
        *ret = status_json("Success", NULL, NULL, NULL, NULL, 0);
    }
    if (*ret)
        *ret_len = strlen(*ret);
}
