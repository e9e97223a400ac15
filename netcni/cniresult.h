/* CNI results (spec 1.0.0, and the 0.4.0 shape): what an ADD returns. */
#pragma once

#include <arpa/inet.h>
#include <stddef.h>

#include "common/err.h"

/* A plugin's stdout beyond this is refused: a result is a few hundred bytes. */
#define CNI_RESULT_MAX_BYTES (64u << 10)
#define CNI_RESULT_MAX_IPS 16
#define CNI_RESULT_MAX_INTERFACES 16
#define CNI_RESULT_MAX_ROUTES 64
#define CNI_RESULT_MAX_DNS_ENTRIES 16
/* "address/prefix" of the longest IPv6 text. */
#define CNI_CIDR_MAX (INET6_ADDRSTRLEN + 4)

struct cni_ip {
    int family; /* AF_INET or AF_INET6 */
    char address[CNI_CIDR_MAX];
    char gateway[INET6_ADDRSTRLEN]; /* "" when the result has none */
    int interface;                  /* index into interfaces, or -1 */
};

struct cni_interface {
    char *name;
    char *sandbox; /* netns path, or NULL for a host-side interface */
    char *mac;     /* or NULL */
};

struct cni_result {
    char *json; /* the raw result, NUL-terminated: the next prevResult, and the cache */
    size_t json_len;
    size_t n_ips;
    struct cni_ip ips[CNI_RESULT_MAX_IPS];
    size_t n_interfaces;
    struct cni_interface interfaces[CNI_RESULT_MAX_INTERFACES];
};

/* Parses and checks a CNI result of len bytes (need not be NUL-terminated).
 * On success *ret_result belongs to the caller: free it with cni_result_free().
 * Errors: CRIB_INVALID naming the field, CRIB_LIMIT (too big, too many entries). */
int cni_result_parse(const char *json, size_t len, struct cni_result **ret_result,
                     struct crib_err *err);

/* Frees result; NULL is fine. */
void cni_result_free(struct cni_result *result);
