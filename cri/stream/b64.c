#include <openssl/evp.h>

#include "cri/stream/internal.h"

size_t stream_b64_encode(const uint8_t *in, size_t n, char *out)
{
    size_t done = 0, o = 0;

    /* EVP_EncodeBlock takes an int; feed it in chunks that stay far below. */
    while (done < n) {
        size_t chunk = n - done > (3u << 20) ? (3u << 20) : n - done;

        o += (size_t)EVP_EncodeBlock((unsigned char *)out + o, in + done, (int)chunk);
        done += chunk;
    }
    out[o] = '\0';
    return o;
}

static int sextet(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Decodes one group of four characters; returns the bytes it holds (1-3) or -1.
 * Only the last group may hold padding. */
static int decode_group(const char *g, int is_last, uint8_t *out)
{
    int v[4], n_pad = 0;

    if (is_last && g[3] == '=')
        n_pad = g[2] == '=' ? 2 : 1;
    for (int i = 0; i < 4 - n_pad; i++)
        if ((v[i] = sextet(g[i])) < 0)
            return -1;
    /* Non-zero bits under the padding would let two texts mean the same bytes. */
    if ((n_pad == 2 && (v[1] & 0x0f)) || (n_pad == 1 && (v[2] & 0x03)))
        return -1;
    out[0] = (uint8_t)(v[0] << 2 | v[1] >> 4);
    if (n_pad < 2)
        out[1] = (uint8_t)(v[1] << 4 | v[2] >> 2);
    if (n_pad < 1)
        out[2] = (uint8_t)(v[2] << 6 | v[3]);
    return 3 - n_pad;
}

long stream_b64_decode(const char *in, size_t n, uint8_t *out)
{
    size_t o = 0;

    if (n % 4 != 0)
        return -1;
    for (size_t i = 0; i < n; i += 4) {
        uint8_t tmp[3];
        int k = decode_group(in + i, i + 4 == n, tmp);

        if (k < 0)
            return -1;
        /* Written after the group is read: out may be in, and o <= i. */
        for (int j = 0; j < k; j++)
            out[o++] = tmp[j];
    }
    return (long)o;
}
