/* Pinned namespaces for pod sandboxes, without a pause process: a short-lived
 * helper makes the namespaces, each is kept alive by bind-mounting
 * /proc/PID/ns/<kind> onto a file in the pod's state dir, and containers join
 * them by path (design.md). */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

enum ns_kind {
    NS_NET = 1u << 0,
    NS_IPC = 1u << 1,
    NS_UTS = 1u << 2,
    NS_PID = 1u << 3, /* pinned from a live process only: see ns_pin_pid */
    NS_USER = 1u << 4,
};

/* One ID range of a user namespace: container_id.. maps to host_id.. */
struct ns_id_range {
    uint32_t container_id, host_id, length;
};

struct ns_userns {
    struct ns_id_range uid, gid;
};

/* Makes new namespaces of `kinds` and pins each on dir/net, dir/ipc, dir/uts
 * (dir must exist). With NS_UTS the new namespace's hostname is set first.
 * All or nothing: on failure whatever was pinned is undone.
 * Errors: CRIB_INVALID (bad hostname), CRIB_INTERNAL naming the step. */
int ns_pin_new(const char *dir, unsigned kinds, const char *hostname, struct crib_err *err);

/* Pins the PID namespace of process pid on dir/pid. A PID namespace takes
 * no new process once its init has gone, so the pod's infra process stays.
 * Errors: CRIB_INTERNAL. */
int ns_pin_pid(const char *dir, pid_t pid, struct crib_err *err);

/* As ns_pin_new, inside a new user namespace with userns's mappings, pinned
 * on dir/user; the other new namespaces belong to it. */
int ns_pin_new_mapped(const char *dir, unsigned kinds, const char *hostname,
                      const struct ns_userns *userns, struct crib_err *err);

/* Unmounts and removes every pin in dir; pins already gone are fine, so it
 * can run again after a crash. Errors: CRIB_INTERNAL. */
int ns_unpin(const char *dir, struct crib_err *err);

/* The file name under dir for one kind ("net", "ipc", "uts"). */
const char *ns_name(enum ns_kind kind);

/* Connects a TCP socket to port on the loopback (127.0.0.1, then ::1) of the
 * network namespace netns_fd (-1: cribd's own), without moving the calling
 * thread. *ret_fd is the caller's. Errors: CRIB_UNAVAILABLE (nothing listens,
 * with the errno), CRIB_INTERNAL. */
int ns_connect_loopback(int netns_fd, uint16_t port, int *ret_fd, struct crib_err *err);

/* As ns_connect_loopback, to ip (IPv4 or IPv6 text) instead; NULL is
 * loopback. Errors: also CRIB_INTERNAL with EINVAL for a bad ip. */
int ns_connect(int netns_fd, const char *ip, uint16_t port, int *ret_fd, struct crib_err *err);
