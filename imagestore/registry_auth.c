/* Answering a registry's 401: a Bearer token from its realm (the distribution
 * token spec, with OAuth2 refresh tokens), or Basic credentials. */
#include <errno.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/xalloc.h"
#include "imagestore/challenge.h"
#include "imagestore/registry_internal.h"

#define TOKEN_MAX_BYTES (1u << 20)

static char *escape(CURL *c, const char *s)
{
    char *e = curl_easy_escape(c, s, 0);
    char *copy = xstrdup(e ? e : "");

    curl_free(e);
    return copy;
}

static char *scope_of(const struct registry_repo *repo, const struct challenge *ch)
{
    return ch->scope ? xstrdup(ch->scope) : xasprintf("repository:%s:pull", repo->ref.path);
}

static char *basic_header(const char *credentials)
{
    size_t len = strlen(credentials);
    char *b64 = xmalloc(4 * ((len + 2) / 3) + 1);
    char *header;

    EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)credentials, (int)len);
    header = xasprintf("Authorization: Basic %s", b64);
    explicit_bzero(b64, strlen(b64));
    free(b64);
    return header;
}

/* "token" or "access_token" from the token server's JSON answer. */
static int parse_token(const char *body, size_t len, char **ret_token, struct crib_err *err)
{
    struct json_tokener *tok = json_tokener_new();
    struct json_object *root = json_tokener_parse_ex(tok, body, (int)len), *v;
    const char *token = NULL;

    json_tokener_free(tok);
    if (root &&
        (json_object_object_get_ex(root, "token", &v) ||
         json_object_object_get_ex(root, "access_token", &v)) &&
        json_object_is_type(v, json_type_string) && json_object_get_string_len(v) > 0)
        token = json_object_get_string(v);
    if (token)
        *ret_token = xstrdup(token);
    json_object_put(root);
    if (!token)
        return crib_fail(err, CRIB_DENIED, 0, "the token server's answer has no token");
    return 0;
}

static int token_request(struct registry_repo *repo, const struct hosts_endpoint *ep,
                         const struct challenge *ch, char **ret_token, struct crib_err *err)
{
    CURL *c = curl_easy_init();
    _cleanup_free_ char *scope = scope_of(repo, ch);
    _cleanup_free_ char *svc = escape(c, ch->service ? ch->service : "");
    _cleanup_free_ char *sc = escape(c, scope);
    _cleanup_free_ char *url = NULL, *form = NULL, *auth = NULL;
    struct sink sink = {.max = TOKEN_MAX_BYTES, .fd = -1};
    struct response resp = {0};
    int r;

    if (repo->identity_token) {
        /* OAuth2: the identity token is a refresh token, POSTed as a form. */
        _cleanup_free_ char *rt = escape(c, repo->identity_token);

        url = xstrdup(ch->realm);
        form = xasprintf("grant_type=refresh_token&client_id=crib&service=%s&scope=%s"
                         "&refresh_token=%s",
                         svc, sc, rt);
    } else {
        url = xasprintf("%s%sservice=%s&scope=%s", ch->realm, strchr(ch->realm, '?') ? "&" : "?",
                        svc, sc);
        auth = repo->basic ? basic_header(repo->basic) : NULL;
    }
    curl_easy_cleanup(c);
    r = registry_http(repo, ep, url, NULL, auth, form, true, &sink, &resp, err);
    if (form)
        explicit_bzero(form, strlen(form));
    if (r >= 0 && resp.status / 100 != 2)
        r = crib_fail(err, CRIB_DENIED, EACCES, "the token server %.*s refused (HTTP %ld)",
                      (int)strcspn(ch->realm, "?"), ch->realm, resp.status);
    if (r >= 0)
        r = parse_token(sink.buf ? sink.buf : "", sink.len, ret_token, err);
    response_done(&resp);
    free(sink.buf);
    return r;
}

static void set_authorization(struct registry_repo *repo, char *header_owned)
{
    pthread_mutex_lock(&repo->lock);
    if (repo->authorization)
        explicit_bzero(repo->authorization, strlen(repo->authorization));
    free(repo->authorization);
    repo->authorization = header_owned;
    pthread_mutex_unlock(&repo->lock);
}

int registry_authorize(struct registry_repo *repo, const struct hosts_endpoint *ep,
                       const struct response *resp, struct crib_err *err)
{
    struct challenge ch;
    char *token = NULL;
    int r = challenge_parse(resp->www_authenticate, strlen(resp->www_authenticate), &ch, err);

    if (r < 0)
        return crib_wrap(err, "%s", repo->ref.domain);
    if (ch.scheme == CHALLENGE_BASIC) {
        if (repo->basic)
            set_authorization(repo, basic_header(repo->basic));
        else
            r = crib_fail(err, CRIB_DENIED, EACCES,
                          "%s wants credentials (Basic) and the pull has none", repo->ref.domain);
    } else {
        r = token_request(repo, ep, &ch, &token, err);
        if (r >= 0) {
            set_authorization(repo, xasprintf("Authorization: Bearer %s", token));
            explicit_bzero(token, strlen(token));
            free(token);
        }
    }
    challenge_done(&ch);
    return r;
}
