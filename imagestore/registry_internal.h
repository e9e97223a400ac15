/* Shared by registry.c and registry_auth.c only. */
#pragma once

#include <curl/curl.h>
#include <pthread.h>

#include "imagestore/hosts.h"
#include "imagestore/registry.h"

struct registry {
    CURLSH *share;
    pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
    struct registry_options opts;
    char **hosts_dirs;
};

struct registry_repo {
    struct registry *reg;
    struct imgref ref;
    struct hosts_config hosts;
    struct registry_cancel cancel;
    char *basic;          /* "user:pass" from the AuthConfig, or NULL */
    char *identity_token; /* OAuth2 refresh token, or NULL */
    pthread_mutex_t lock; /* guards authorization */
    char *authorization;  /* the Authorization header in use, or NULL */
};

/* Where a response body goes. */
struct sink {
    CURL *easy; /* set by registry_http */
    char *buf;
    size_t len, max;
    int fd; /* >= 0: stream into it instead */
    uint64_t written;
    int fd_errno;
};

struct response {
    long status;
    char *content_type;
    char *www_authenticate;
    char *final_url;
};

/* One HTTP GET (or POST with form when post_form is not NULL) to url with the
 * endpoint's TLS settings and headers. The body goes to sink. Errors: curl
 * failures mapped to crib codes (the message names the URL without query). */
int registry_http(struct registry_repo *repo, const struct hosts_endpoint *ep, const char *url,
                  const char *accept, const char *authorization, const char *post_form,
                  bool whole_request_timeout, struct sink *sink, struct response *ret_resp,
                  struct crib_err *err);
void response_done(struct response *resp);

/* Answers the 401 challenge of resp for repo: gets a Bearer token from the
 * realm, or takes Basic credentials; sets repo->authorization.
 * Errors: CRIB_DENIED (no credentials for Basic, token refused), others as registry_http. */
int registry_authorize(struct registry_repo *repo, const struct hosts_endpoint *ep,
                       const struct response *resp, struct crib_err *err);
