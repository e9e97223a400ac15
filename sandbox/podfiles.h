/* A pod's files, kept in its state dir for its containers to bind: hostname,
 * hosts, resolv.conf, and the pod's own /dev/shm tmpfs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* The kubelet's own limits for DNSConfig. */
#define PODFILES_MAX_SEARCHES 32
#define PODFILES_MAX_SEARCH_CHARS 2048
#define PODFILES_MAX_SERVERS 3
#define PODFILES_DEFAULT_SHM_BYTES (64ull << 20)

struct pod_dns {
    const char *const *servers; /* IP addresses */
    size_t n_servers;
    const char *const *searches;
    size_t n_searches;
    const char *const *options; /* "ndots:5", "edns0" */
    size_t n_options;
};

struct pod_files_spec {
    const char *hostname;
    bool host_network;         /* hosts and resolv.conf come from the node */
    bool host_ipc;             /* no pod /dev/shm: containers use the node's */
    const struct pod_dns *dns; /* NULL or empty: the node's resolv.conf */
    uint64_t shm_bytes;        /* 0: 64 MiB */
    const char *node_hosts;    /* the node's hosts file (tests override; NULL: /etc/hosts) */
    const char *node_resolv;   /* the node's resolv.conf (NULL: /etc/resolv.conf) */
};

/* Checks a DNSConfig before anything is written: servers must be IP
 * addresses, searches and options one token each (no spaces or newlines),
 * within the kubelet's limits. Errors: CRIB_INVALID naming the bad value. */
int podfiles_check_dns(const struct pod_dns *dns, struct crib_err *err);

/* Writes dir/hostname, dir/hosts (without the pod IP: see
 * podfiles_set_ip), dir/resolv.conf, and mounts a tmpfs on dir/shm unless
 * host_ipc. All or nothing. Errors: CRIB_INVALID, CRIB_INTERNAL. */
int podfiles_write(const char *dir, const struct pod_files_spec *spec, struct crib_err *err);

/* Adds "IP HOSTNAME" to dir/hosts once the network has given the pod an IP
 * (not for host-network pods). Errors: CRIB_INVALID (not an IP), CRIB_INTERNAL. */
int podfiles_set_ip(const char *dir, const char *hostname, const char *ip, struct crib_err *err);

/* Unmounts dir/shm and removes the files; what is already gone is fine.
 * Errors: CRIB_INTERNAL. */
int podfiles_remove(const char *dir, struct crib_err *err);
