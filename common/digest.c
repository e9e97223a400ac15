#include "common/digest.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "common/xalloc.h"

static size_t hex_len(const char *algo)
{
    if (strcmp(algo, "sha256") == 0)
        return 64;
    if (strcmp(algo, "sha512") == 0)
        return 128;
    return 0;
}

bool digest_is_valid(const char *s)
{
    const char *colon = strchr(s, ':');
    char algo[8];
    size_t want;

    if (!colon || colon - s >= (ptrdiff_t)sizeof(algo))
        return false;
    memcpy(algo, s, (size_t)(colon - s));
    algo[colon - s] = '\0';
    want = hex_len(algo);
    if (!want || strlen(colon + 1) != want)
        return false;
    for (const char *p = colon + 1; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

int digest_check(const char *s, const char *what, struct crib_err *err)
{
    if (!digest_is_valid(s))
        return crib_fail(err, CRIB_INVALID, 0, "%s '%.80s' is not a sha256 or sha512 digest", what,
                         s);
    return 0;
}

const char *digest_hex(const char *s)
{
    const char *colon = strchr(s, ':');

    return colon ? colon + 1 : s;
}

int digester_init(struct digester *d, const char *like, struct crib_err *err)
{
    const EVP_MD *md;

    if (strncmp(like, "sha256", 6) == 0 && (like[6] == '\0' || like[6] == ':')) {
        md = EVP_sha256();
        d->algo = "sha256";
    } else if (strncmp(like, "sha512", 6) == 0 && (like[6] == '\0' || like[6] == ':')) {
        md = EVP_sha512();
        d->algo = "sha512";
    } else {
        return crib_fail(err, CRIB_INVALID, 0, "unsupported digest algorithm in '%.80s'", like);
    }
    d->ctx = EVP_MD_CTX_new();
    if (!d->ctx || EVP_DigestInit_ex(d->ctx, md, NULL) != 1)
        return crib_fail(err, CRIB_INTERNAL, 0, "cannot start a %s digest", d->algo);
    return 0;
}

void digester_update(struct digester *d, const void *data, size_t len)
{
    EVP_DigestUpdate(d->ctx, data, len);
}

void digester_final(struct digester *d, char out[DIGEST_MAX_STR])
{
    unsigned char sum[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    size_t off;

    EVP_DigestFinal_ex(d->ctx, sum, &n);
    off = (size_t)snprintf(out, DIGEST_MAX_STR, "%s:", d->algo);
    for (unsigned int i = 0; i < n && off + 2 < DIGEST_MAX_STR; i++)
        off += (size_t)snprintf(out + off, DIGEST_MAX_STR - off, "%02x", sum[i]);
    digester_done(d);
}

void digester_done(struct digester *d)
{
    EVP_MD_CTX_free(d->ctx);
    d->ctx = NULL;
}

void digest_sha256(const void *data, size_t len, char out[DIGEST_MAX_STR])
{
    struct digester d;
    struct crib_err err;

    if (digester_init(&d, "sha256", &err) < 0)
        abort();
    digester_update(&d, data, len);
    digester_final(&d, out);
}
