/* Per-interface traffic counters of a pod's network namespace, for CRI
 * NetworkUsage and the container_network_* metrics. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* A pod has eth0 and maybe a few more (multus); the rest is left out. */
#define NETSTATS_MAX_IFACES 32
#define NETSTATS_NAME_MAX 16 /* IFNAMSIZ, with the NUL */

struct net_iface {
    char name[NETSTATS_NAME_MAX];
    uint64_t rx_bytes, rx_packets, rx_errors, rx_dropped;
    uint64_t tx_bytes, tx_packets, tx_errors, tx_dropped;
};

struct net_sample {
    int64_t timestamp_ns; /* CLOCK_REALTIME, as CRI wants */
    size_t n_ifaces;
    bool is_truncated; /* more than NETSTATS_MAX_IFACES: the rest left out */
    struct net_iface ifaces[NETSTATS_MAX_IFACES];
};

/* Parses /proc/net/dev text (need not be NUL-terminated; every line must end
 * in '\n') into ret->ifaces, in file order, leaving out lo. Header lines (with
 * '|') are skipped; timestamp_ns is left 0.
 * Errors: CRIB_INVALID naming the bad line. */
int netstats_parse(const char *text, size_t len, struct net_sample *ret, struct crib_err *err);

/* Reads the counters inside the network namespace netns_fd (e.g. an open pod
 * pin), without moving the calling thread. Errors: CRIB_INVALID (netns_fd is
 * not a network namespace), CRIB_INTERNAL naming the step. */
int netstats_read(int netns_fd, struct net_sample *ret, struct crib_err *err);

/* The interface called name in s, or NULL; borrowed from s. */
const struct net_iface *netstats_find(const struct net_sample *s, const char *name);
