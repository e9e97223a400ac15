#include "sandbox/podfiles.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/xalloc.h"

#define NODE_FILE_MAX_BYTES (1u << 20)

static const char base_hosts[] = "127.0.0.1\tlocalhost\n"
                                 "::1\tlocalhost ip6-localhost ip6-loopback\n"
                                 "fe00::0\tip6-localnet\n"
                                 "fe00::0\tip6-mcastprefix\n"
                                 "fe00::1\tip6-allnodes\n"
                                 "fe00::2\tip6-allrouters\n";

static bool is_ip(const char *s)
{
    unsigned char buf[16];

    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* One resolv.conf token: printable, no blanks (a newline would add a line). */
static bool is_token(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s <= ' ' || *s == 0x7f)
            return false;
    return true;
}

int podfiles_check_dns(const struct pod_dns *dns, struct crib_err *err)
{
    size_t chars = 0;

    if (dns->n_servers > PODFILES_MAX_SERVERS)
        return crib_fail(err, CRIB_INVALID, 0, "dns_config.servers: more than %d",
                         PODFILES_MAX_SERVERS);
    for (size_t i = 0; i < dns->n_servers; i++)
        if (!is_ip(dns->servers[i]))
            return crib_fail(err, CRIB_INVALID, 0,
                             "dns_config.servers[%zu] '%.64s' is not an IP address", i,
                             dns->servers[i]);
    if (dns->n_searches > PODFILES_MAX_SEARCHES)
        return crib_fail(err, CRIB_INVALID, 0, "dns_config.searches: more than %d",
                         PODFILES_MAX_SEARCHES);
    for (size_t i = 0; i < dns->n_searches; i++) {
        chars += strlen(dns->searches[i]) + 1;
        if (!is_token(dns->searches[i]))
            return crib_fail(err, CRIB_INVALID, 0,
                             "dns_config.searches[%zu] '%.64s' is not one domain", i,
                             dns->searches[i]);
    }
    if (chars > PODFILES_MAX_SEARCH_CHARS)
        return crib_fail(err, CRIB_INVALID, 0, "dns_config.searches: over %d characters",
                         PODFILES_MAX_SEARCH_CHARS);
    for (size_t i = 0; i < dns->n_options; i++)
        if (!is_token(dns->options[i]))
            return crib_fail(err, CRIB_INVALID, 0,
                             "dns_config.options[%zu] '%.64s' is not one option", i,
                             dns->options[i]);
    return 0;
}

static void put_list(FILE *f, const char *keyword, const char *const *items, size_t n)
{
    if (n == 0)
        return;
    fputs(keyword, f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, " %s", items[i]);
    fputc('\n', f);
}

static char *resolv_text(const struct pod_dns *dns)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    if (!f)
        abort(); /* only fails on OOM */
    for (size_t i = 0; i < dns->n_servers; i++)
        fprintf(f, "nameserver %s\n", dns->servers[i]);
    put_list(f, "search", dns->searches, dns->n_searches);
    put_list(f, "options", dns->options, dns->n_options);
    fclose(f);
    return text;
}

static int write_file(const char *dir, const char *name, const char *text, struct crib_err *err)
{
    _cleanup_free_ char *path = xasprintf("%s/%s", dir, name);

    return fs_write_volatile(path, text, strlen(text), 0644, err);
}

static int copy_node_file(const char *dir, const char *name, const char *from, struct crib_err *err)
{
    _cleanup_free_ char *text = NULL;
    int r = fs_read_file(from, NODE_FILE_MAX_BYTES, &text, NULL, err);

    if (r < 0)
        return r;
    return write_file(dir, name, text, err);
}

static int write_resolv(const char *dir, const struct pod_files_spec *spec, struct crib_err *err)
{
    const struct pod_dns *dns = spec->dns;
    _cleanup_free_ char *text = NULL;

    if (spec->host_network || !dns || (!dns->n_servers && !dns->n_searches && !dns->n_options))
        return copy_node_file(dir, "resolv.conf",
                              spec->node_resolv ? spec->node_resolv : "/etc/resolv.conf", err);
    text = resolv_text(dns);
    return write_file(dir, "resolv.conf", text, err);
}

static int mount_shm(const char *dir, uint64_t bytes, struct crib_err *err)
{
    _cleanup_free_ char *path = xasprintf("%s/shm", dir);
    char opts[64];

    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        return crib_fail(err, CRIB_INTERNAL, errno, "mkdir %s", path);
    snprintf(opts, sizeof(opts), "mode=1777,size=%llu", (unsigned long long)bytes);
    if (mount("shm", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "mount tmpfs on %s", path);
    return 0;
}

int podfiles_write(const char *dir, const struct pod_files_spec *spec, struct crib_err *err)
{
    _cleanup_free_ char *hostname = xasprintf("%s\n", spec->hostname);
    int r = spec->dns ? podfiles_check_dns(spec->dns, err) : 0;

    if (r >= 0)
        r = write_file(dir, "hostname", hostname, err);
    if (r >= 0 && spec->host_network)
        r = copy_node_file(dir, "hosts", spec->node_hosts ? spec->node_hosts : "/etc/hosts", err);
    else if (r >= 0)
        r = write_file(dir, "hosts", base_hosts, err);
    if (r >= 0)
        r = write_resolv(dir, spec, err);
    if (r >= 0 && !spec->host_ipc)
        r = mount_shm(dir, spec->shm_bytes ? spec->shm_bytes : PODFILES_DEFAULT_SHM_BYTES, err);
    if (r < 0) {
        struct crib_err ignored;

        (void)podfiles_remove(dir, &ignored);
    }
    return r;
}

int podfiles_set_ip(const char *dir, const char *hostname, const char *ip, struct crib_err *err)
{
    _cleanup_free_ char *text = NULL;

    if (!is_ip(ip))
        return crib_fail(err, CRIB_INVALID, 0, "pod IP '%.64s' is not an IP address", ip);
    text = xasprintf("%s%s\t%s\n", base_hosts, ip, hostname);
    return write_file(dir, "hosts", text, err);
}

int podfiles_remove(const char *dir, struct crib_err *err)
{
    static const char *const files[] = {"hostname", "hosts", "resolv.conf"};
    _cleanup_free_ char *shm = xasprintf("%s/shm", dir);

    if (umount2(shm, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT)
        return crib_fail(err, CRIB_INTERNAL, errno, "unmount %s", shm);
    if (rmdir(shm) < 0 && errno != ENOENT)
        return crib_fail(err, CRIB_INTERNAL, errno, "remove %s", shm);
    for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
        _cleanup_free_ char *path = xasprintf("%s/%s", dir, files[i]);

        if (unlink(path) < 0 && errno != ENOENT)
            return crib_fail(err, CRIB_INTERNAL, errno, "remove %s", path);
    }
    return 0;
}
