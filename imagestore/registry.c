#include "imagestore/registry.h"

#include <errno.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/xalloc.h"
#include "imagestore/registry_internal.h"

#ifndef CRIB_VERSION
#define CRIB_VERSION "unknown"
#endif

#define MANIFEST_ACCEPT                                                                            \
    "Accept: application/vnd.oci.image.index.v1+json, "                                            \
    "application/vnd.oci.image.manifest.v1+json, "                                                 \
    "application/vnd.docker.distribution.manifest.list.v2+json, "                                  \
    "application/vnd.docker.distribution.manifest.v2+json"
#define BACKOFF_FIRST_MS 200

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *p)
{
    struct registry *reg = p;

    (void)h;
    (void)access;
    pthread_mutex_lock(&reg->share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *p)
{
    struct registry *reg = p;

    (void)h;
    pthread_mutex_unlock(&reg->share_locks[data]);
}

int registry_new(const struct registry_options *opts, struct registry **ret_registry,
                 struct crib_err *err)
{
    struct registry *reg = xcalloc(1, sizeof(*reg));
    size_t n = 0;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return crib_fail(err, CRIB_INTERNAL, 0, "curl_global_init failed");
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&reg->share_locks[i], NULL);
    reg->opts = *opts;
    while (opts->hosts_dirs && opts->hosts_dirs[n])
        n++;
    reg->hosts_dirs = xcalloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        reg->hosts_dirs[i] = xstrdup(opts->hosts_dirs[i]);
    reg->opts.hosts_dirs = (const char *const *)reg->hosts_dirs;
    /* One connection pool (and DNS and TLS session cache) for every pull:
     * a warm re-pull costs one request on a live connection. */
    reg->share = curl_share_init();
    curl_share_setopt(reg->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(reg->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(reg->share, CURLSHOPT_USERDATA, reg);
    curl_share_setopt(reg->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl_share_setopt(reg->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(reg->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    *ret_registry = reg;
    return 0;
}

void registry_free(struct registry *reg)
{
    if (!reg)
        return;
    curl_share_cleanup(reg->share);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&reg->share_locks[i]);
    for (size_t i = 0; reg->hosts_dirs[i]; i++)
        free(reg->hosts_dirs[i]);
    free(reg->hosts_dirs);
    free(reg);
}

/* "user:pass" from the AuthConfig: explicit fields first, then `auth`. */
static char *basic_credentials(const struct registry_auth *auth)
{
    unsigned char decoded[1024];
    size_t len;
    int n;

    if (auth->username && *auth->username)
        return xasprintf("%s:%s", auth->username, auth->password ? auth->password : "");
    if (!auth->auth || !*auth->auth)
        return NULL;
    len = strlen(auth->auth);
    if (len > 4 * (sizeof(decoded) / 3) || len % 4)
        return NULL;
    n = EVP_DecodeBlock(decoded, (const unsigned char *)auth->auth, (int)len);
    if (n <= 0)
        return NULL;
    while (n > 0 && decoded[n - 1] == '\0') /* base64 padding decodes to NULs */
        n--;
    return memchr(decoded, ':', (size_t)n) ? xstrndup((char *)decoded, (size_t)n) : NULL;
}

int registry_repo_open(struct registry *reg, const struct imgref *ref,
                       const struct registry_auth *auth, const struct registry_cancel *cancel,
                       struct registry_repo **ret_repo, struct crib_err *err)
{
    struct registry_repo *repo = xcalloc(1, sizeof(*repo));
    int r = hosts_load(reg->opts.hosts_dirs, ref->domain, &repo->hosts, err);

    if (r < 0) {
        free(repo);
        return r;
    }
    repo->reg = reg;
    repo->ref.domain = xstrdup(ref->domain);
    repo->ref.path = xstrdup(ref->path);
    if (cancel)
        repo->cancel = *cancel;
    repo->basic = auth ? basic_credentials(auth) : NULL;
    if (auth && auth->identity_token && *auth->identity_token)
        repo->identity_token = xstrdup(auth->identity_token);
    if (auth && auth->registry_token && *auth->registry_token)
        repo->authorization = xasprintf("Authorization: Bearer %s", auth->registry_token);
    pthread_mutex_init(&repo->lock, NULL);
    *ret_repo = repo;
    return 0;
}

static void free_secret(char *s)
{
    if (s)
        explicit_bzero(s, strlen(s));
    free(s);
}

void registry_repo_close(struct registry_repo *repo)
{
    if (!repo)
        return;
    hosts_config_done(&repo->hosts);
    imgref_done(&repo->ref);
    free_secret(repo->basic);
    free_secret(repo->identity_token);
    free_secret(repo->authorization);
    pthread_mutex_destroy(&repo->lock);
    free(repo);
}

void response_done(struct response *resp)
{
    free(resp->content_type);
    free(resp->www_authenticate);
    free(resp->final_url);
    memset(resp, 0, sizeof(*resp));
}

static size_t on_body(char *data, size_t size, size_t n, void *p)
{
    struct sink *s = p;
    size_t len = size * n;
    long status = 0;

    /* Only a success's body is content; error pages and redirects are dropped. */
    curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status / 100 != 2)
        return len;
    if (s->fd >= 0) {
        for (size_t off = 0; off < len;) {
            ssize_t w = write(s->fd, data + off, len - off);

            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                s->fd_errno = errno;
                return 0; /* the reader gave up: abort the transfer */
            }
            off += (size_t)w;
        }
        s->written += len;
        return len;
    }
    if (s->len + len > s->max) {
        s->fd_errno = EFBIG;
        return 0;
    }
    s->buf = xrealloc(s->buf, s->len + len + 1);
    memcpy(s->buf + s->len, data, len);
    s->len += len;
    s->buf[s->len] = '\0';
    return len;
}

static void keep_header(char **field, const char *value, size_t len)
{
    while (len && (value[len - 1] == '\r' || value[len - 1] == '\n' || value[len - 1] == ' '))
        len--;
    free(*field);
    *field = xstrndup(value, len);
}

/* Keeps the headers of the last response only: redirects come first. */
static size_t on_header(char *line, size_t size, size_t n, void *p)
{
    struct response *resp = p;
    size_t len = size * n;

    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        free(resp->content_type);
        free(resp->www_authenticate);
        resp->content_type = resp->www_authenticate = NULL;
    } else if (len > 13 && strncasecmp(line, "content-type:", 13) == 0) {
        keep_header(&resp->content_type, line + 13 + strspn(line + 13, " "),
                    len - 13 - strspn(line + 13, " "));
    } else if (len > 17 && strncasecmp(line, "www-authenticate:", 17) == 0) {
        keep_header(&resp->www_authenticate, line + 17 + strspn(line + 17, " "),
                    len - 17 - strspn(line + 17, " "));
    }
    return len;
}

/* Watches one transfer: a cancel by the caller, or no new byte for the stall
 * window (curl's own low-speed check averages over a longer time). */
struct watch {
    struct registry_repo *repo;
    curl_off_t last_bytes;
    long long last_change_ms;
    bool stalled;
};

static long long monotonic_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int on_progress(void *p, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    struct watch *w = p;
    struct registry_repo *repo = w->repo;
    long long now = monotonic_ms();

    (void)dltotal, (void)ultotal, (void)ulnow;
    if (repo->cancel.is_cancelled && repo->cancel.is_cancelled(repo->cancel.ctx))
        return 1;
    if (dlnow != w->last_bytes) {
        w->last_bytes = dlnow;
        w->last_change_ms = now;
    } else if (now - w->last_change_ms > (long long)repo->reg->opts.stall_timeout_ms) {
        w->stalled = true;
        return 1;
    }
    return 0;
}

/* Adds the endpoint's CAs to the system's trust store of this connection. */
static CURLcode on_ssl_ctx(CURL *h, void *ssl_ctx, void *p)
{
    const struct hosts_endpoint *ep = p;
    X509_STORE *store = SSL_CTX_get_cert_store(ssl_ctx);

    (void)h;
    for (size_t i = 0; i < ep->n_cas; i++)
        if (X509_STORE_load_file(store, ep->cas[i]) != 1)
            return CURLE_SSL_CACERT_BADFILE;
    return CURLE_OK;
}

static struct curl_slist *request_headers(const struct hosts_endpoint *ep, const char *accept,
                                          const char *authorization)
{
    struct curl_slist *h = NULL;

    if (accept)
        h = curl_slist_append(h, accept);
    if (authorization)
        h = curl_slist_append(h, authorization);
    for (size_t i = 0; i < ep->n_headers; i++) {
        _cleanup_free_ char *line = xasprintf("%s: %s", ep->headers[i].name, ep->headers[i].value);

        h = curl_slist_append(h, line);
    }
    return h;
}

static void set_tls(CURL *c, const struct hosts_endpoint *ep)
{
    if (ep->skip_verify) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (ep->n_cas) {
        curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
        curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, ep);
    }
    if (ep->n_clients) {
        curl_easy_setopt(c, CURLOPT_SSLCERT, ep->clients[0].cert);
        curl_easy_setopt(c, CURLOPT_SSLKEY,
                         ep->clients[0].key ? ep->clients[0].key : ep->clients[0].cert);
    }
}

static void set_options(CURL *c, struct registry_repo *repo, struct watch *w, const char *url,
                        bool whole_timeout)
{
    const struct registry_options *o = &repo->reg->opts;

    w->last_bytes = 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_SHARE, repo->reg->share);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "crib/" CRIB_VERSION);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)o->connect_timeout_ms);
    if (whole_timeout)
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)o->request_timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, w);
}

/* The URL without its query, which may hold tokens. */
static void url_for_message(const char *url, char *out, size_t size)
{
    snprintf(out, size, "%.*s", (int)strcspn(url, "?"), url);
}

static int curl_failure(CURLcode rc, const char *url, const struct sink *sink,
                        const struct watch *w, const char *detail, struct crib_err *err)
{
    char where[512];

    url_for_message(url, where, sizeof(where));
    switch (rc) {
    case CURLE_ABORTED_BY_CALLBACK:
        if (w->stalled)
            return crib_fail(err, CRIB_TIMEOUT, 0, "GET %s: no data for %u ms", where,
                             w->repo->reg->opts.stall_timeout_ms);
        return crib_fail(err, CRIB_UNAVAILABLE, ECANCELED, "GET %s: cancelled", where);
    case CURLE_OPERATION_TIMEDOUT:
        return crib_fail(err, CRIB_TIMEOUT, 0, "GET %s: %s", where, detail);
    case CURLE_WRITE_ERROR:
        if (sink->fd_errno == EFBIG)
            return crib_fail(err, CRIB_LIMIT, 0, "GET %s: response over %zu bytes", where,
                             sink->max);
        return crib_fail(err, CRIB_UNAVAILABLE, sink->fd_errno, "GET %s: reader stopped", where);
    default:
        return crib_fail(err, CRIB_UNAVAILABLE, 0, "GET %s: %s", where,
                         *detail ? detail : curl_easy_strerror(rc));
    }
}

int registry_http(struct registry_repo *repo, const struct hosts_endpoint *ep, const char *url,
                  const char *accept, const char *authorization, const char *post_form,
                  bool whole_request_timeout, struct sink *sink, struct response *ret_resp,
                  struct crib_err *err)
{
    CURL *c = curl_easy_init();
    struct curl_slist *headers = request_headers(ep, accept, authorization);
    char detail[CURL_ERROR_SIZE] = "";
    struct response resp = {0};
    struct watch w = {.repo = repo, .last_bytes = -1, .last_change_ms = monotonic_ms()};
    CURLcode rc;
    char *final = NULL;
    int r = 0;

    if (!c)
        return crib_fail(err, CRIB_INTERNAL, 0, "curl_easy_init failed");
    set_options(c, repo, &w, url, whole_request_timeout);
    set_tls(c, ep);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, detail);
    sink->easy = c;
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, sink);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &resp);
    if (post_form)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, post_form);
    rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        r = curl_failure(rc, url, sink, &w, detail, err);
        response_done(&resp);
    } else {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
        curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &final);
        resp.final_url = xstrdup(final ? final : url);
        *ret_resp = resp;
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    return r;
}

static char *endpoint_url(const struct registry_repo *repo, const struct hosts_endpoint *ep,
                          const char *kind, const char *reference)
{
    /* hosts.h puts the origin last; every endpoint before it is a mirror,
     * which learns the upstream meant from ?ns= (containerd's convention). */
    bool mirror = ep != &repo->hosts.endpoints[repo->hosts.n_endpoints - 1];

    return xasprintf("%s://%s%s/%s/%s/%s%s%s", ep->scheme, ep->host, ep->api_root, repo->ref.path,
                     kind, reference, mirror ? "?ns=" : "", mirror ? repo->ref.domain : "");
}

static bool retryable(long status)
{
    return status == 429 || status >= 500;
}

static bool cancelled(struct registry_repo *repo)
{
    return repo->cancel.is_cancelled && repo->cancel.is_cancelled(repo->cancel.ctx);
}

/* Waits before attempt n (n >= 1), in slices so a cancel is seen promptly. */
static void backoff(struct registry_repo *repo, unsigned attempt)
{
    unsigned ms = BACKOFF_FIRST_MS << (attempt - 1);

    for (unsigned waited = 0; waited < ms && !cancelled(repo); waited += 50)
        poll(NULL, 0, 50);
}

static int status_failure(long status, const char *url, const char *what, struct crib_err *err)
{
    char where[512];

    url_for_message(url, where, sizeof(where));
    if (status == 404)
        return crib_fail(err, CRIB_NOT_FOUND, ENOENT, "%s not found at %s", what, where);
    if (status == 401 || status == 403)
        return crib_fail(err, CRIB_DENIED, EACCES, "%s: %s refused the credentials (HTTP %ld)",
                         what, where, status);
    if (retryable(status))
        return crib_fail(err, CRIB_UNAVAILABLE, 0, "%s: %s answered HTTP %ld", what, where, status);
    return crib_fail(err, CRIB_INVALID, 0, "%s: %s answered HTTP %ld", what, where, status);
}

static char *current_authorization(struct registry_repo *repo)
{
    char *a;

    pthread_mutex_lock(&repo->lock);
    a = repo->authorization ? xstrdup(repo->authorization) : NULL;
    pthread_mutex_unlock(&repo->lock);
    return a;
}

/* One endpoint: retries retryable failures, answers one auth challenge. */
static int fetch_from(struct registry_repo *repo, const struct hosts_endpoint *ep, const char *url,
                      const char *accept, const char *what, struct sink *sink,
                      struct response *ret_resp, struct crib_err *err)
{
    bool authorized = false;
    unsigned attempt = 0;
    int r;

    for (;;) {
        _cleanup_free_ char *auth = current_authorization(repo);
        struct response resp = {0};

        r = registry_http(repo, ep, url, accept, auth, NULL, sink->fd < 0, sink, &resp, err);
        if (r >= 0 && resp.status == 401 && !authorized && resp.www_authenticate) {
            authorized = true;
            r = registry_authorize(repo, ep, &resp, err);
            response_done(&resp);
            sink->len = 0;
            if (r < 0)
                return r;
            continue;
        }
        if (r >= 0 && resp.status / 100 == 2) {
            *ret_resp = resp;
            return 0;
        }
        if (r >= 0) {
            long status = resp.status;

            r = status_failure(status, url, what, err);
            response_done(&resp);
            if (!retryable(status))
                return r;
        }
        if (err->code != CRIB_UNAVAILABLE || err->errnum == ECANCELED || sink->written > 0 ||
            ++attempt >= repo->reg->opts.max_attempts || cancelled(repo))
            return r;
        sink->len = 0;
        backoff(repo, attempt);
    }
}

/* Tries each endpoint with the capability, in order; a mirror that lacks
 * the content or is down passes to the next. */
static int fetch(struct registry_repo *repo, unsigned capability, const char *kind,
                 const char *reference, const char *accept, const char *what, struct sink *sink,
                 struct response *ret_resp, struct crib_err *err)
{
    struct crib_err last = {.code = CRIB_NOT_FOUND};
    bool tried = false;

    snprintf(last.msg, sizeof(last.msg), "no endpoint of %s may serve %s", repo->ref.domain, what);
    for (size_t i = 0; i < repo->hosts.n_endpoints; i++) {
        const struct hosts_endpoint *ep = &repo->hosts.endpoints[i];
        _cleanup_free_ char *url = NULL;
        int r;

        if (!(ep->capabilities & capability))
            continue;
        url = endpoint_url(repo, ep, kind, reference);
        r = fetch_from(repo, ep, url, accept, what, sink, ret_resp, err);
        if (r >= 0)
            return 0;
        /* A stream already written cannot move to another endpoint. */
        if (err->code == CRIB_DENIED || err->errnum == ECANCELED || sink->written > 0)
            return r;
        if (!tried || last.code == CRIB_NOT_FOUND)
            last = *err;
        tried = true;
    }
    *err = last;
    return crib_err_ret(err);
}

static bool is_digest_reference(const char *reference)
{
    return strchr(reference, ':') != NULL;
}

int registry_get_manifest(struct registry_repo *repo, const char *reference, size_t max_bytes,
                          char **ret_body, size_t *ret_len, char **ret_content_type,
                          char ret_digest[DIGEST_MAX_STR], struct crib_err *err)
{
    struct sink sink = {.max = max_bytes, .fd = -1};
    unsigned cap = is_digest_reference(reference) ? HOSTS_CAP_PULL : HOSTS_CAP_RESOLVE;
    _cleanup_free_ char *what = xasprintf("manifest %s", reference);
    struct response resp;
    int r = fetch(repo, cap, "manifests", reference, MANIFEST_ACCEPT, what, &sink, &resp, err);

    if (r < 0) {
        free(sink.buf);
        return r;
    }
    if (!sink.buf)
        sink.buf = xcalloc(1, 1);
    digest_sha256(sink.buf, sink.len, ret_digest);
    if (is_digest_reference(reference) && strcmp(reference, ret_digest) != 0) {
        r = crib_fail(err, CRIB_INVALID, 0, "manifest %s: the registry sent content hashing to %s",
                      reference, ret_digest);
        free(sink.buf);
        response_done(&resp);
        return r;
    }
    *ret_body = sink.buf;
    *ret_len = sink.len;
    *ret_content_type = resp.content_type ? xstrdup(resp.content_type) : NULL;
    response_done(&resp);
    return 0;
}

int registry_get_blob(struct registry_repo *repo, const char *digest, size_t max_bytes,
                      char **ret_body, size_t *ret_len, struct crib_err *err)
{
    struct sink sink = {.max = max_bytes, .fd = -1};
    _cleanup_free_ char *what = xasprintf("blob %s", digest);
    char actual[DIGEST_MAX_STR];
    struct digester d;
    struct response resp;
    int r = fetch(repo, HOSTS_CAP_PULL, "blobs", digest, NULL, what, &sink, &resp, err);

    if (r < 0) {
        free(sink.buf);
        return r;
    }
    response_done(&resp);
    if (!sink.buf)
        sink.buf = xcalloc(1, 1);
    r = digester_init(&d, digest, err);
    if (r >= 0) {
        digester_update(&d, sink.buf, sink.len);
        digester_final(&d, actual);
        if (strcmp(actual, digest) != 0)
            r = crib_fail(err, CRIB_INVALID, 0, "blob %s: the registry sent content hashing to %s",
                          digest, actual);
    }
    if (r < 0) {
        free(sink.buf);
        return r;
    }
    *ret_body = sink.buf;
    *ret_len = sink.len;
    return 0;
}

int registry_stream_blob(struct registry_repo *repo, const char *digest, int fd,
                         uint64_t *ret_bytes, struct crib_err *err)
{
    struct sink sink = {.fd = fd};
    _cleanup_free_ char *what = xasprintf("blob %s", digest);
    struct response resp;
    int r = fetch(repo, HOSTS_CAP_PULL, "blobs", digest, NULL, what, &sink, &resp, err);

    if (r >= 0)
        response_done(&resp);
    *ret_bytes = sink.written;
    return r;
}
