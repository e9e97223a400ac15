/* Every CRI request as it arrives: the first byte picks the method, the rest
 * is the message body. Decoding and validation must hold for any bytes, and
 * what decodes must encode and decode back to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "cri/internal.h"

static void *fuzz_alloc(void *data, size_t size)
{
    return arena_alloc(data, size);
}

static void fuzz_free(void *data, void *p)
{
    (void)data;
    (void)p;
}

static void roundtrip(const ProtobufCMessage *msg, ProtobufCAllocator *alloc)
{
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *once = malloc(len ? len : 1), *twice;
    ProtobufCMessage *again;

    protobuf_c_message_pack(msg, once);
    again = protobuf_c_message_unpack(msg->descriptor, alloc, len, once);
    if (!again || protobuf_c_message_get_packed_size(again) != len)
        __builtin_trap();
    twice = malloc(len ? len : 1);
    protobuf_c_message_pack(again, twice);
    if (memcmp(once, twice, len) != 0)
        __builtin_trap();
    free(once);
    free(twice);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct cri_method *m;
    struct arena arena;
    ProtobufCAllocator alloc = {fuzz_alloc, fuzz_free, &arena};
    ProtobufCMessage *req;
    struct crib_err err;

    if (size < 1)
        return 0;
    m = &cri_methods[data[0] % cri_n_methods];
    arena_init(&arena);
    req = protobuf_c_message_unpack(m->request, &alloc, size - 1, data + 1);
    if (req) {
        if (m->validate)
            (void)m->validate(req, &err);
        roundtrip(req, &alloc);
    }
    arena_done(&arena);
    return 0;
}
