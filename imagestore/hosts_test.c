#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/testing.h"
#include "common/xalloc.h"
#include "imagestore/hosts.h"

#define DIR_ "/c/reg.example"
#define FILE_ DIR_ "/hosts.toml"

static void appendf(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void appendf(char **out, const char *fmt, ...)
{
    _cleanup_free_ char *more = NULL;
    va_list ap;
    char *s;

    va_start(ap, fmt);
    if (vasprintf(&more, fmt, ap) < 0)
        abort();
    va_end(ap);
    s = xasprintf("%s%s", *out, more);
    free(*out);
    *out = s;
}

/* One line per endpoint, so a whole config is compared at once:
 * "SCHEME://HOST ROOT CAPS[ skip][ ca=P][ client=C+K][ h:N=V]". */
static char *dump(const struct hosts_config *c)
{
    char *out = xstrdup("");

    for (size_t i = 0; i < c->n_endpoints; i++) {
        const struct hosts_endpoint *ep = &c->endpoints[i];

        appendf(&out, "%s://%s %s %s%s%s%s", ep->scheme, ep->host, ep->api_root,
                ep->capabilities & HOSTS_CAP_PULL ? "p" : "",
                ep->capabilities & HOSTS_CAP_RESOLVE ? "r" : "",
                ep->capabilities & HOSTS_CAP_PUSH ? "s" : "", ep->skip_verify ? " skip" : "");
        for (size_t j = 0; j < ep->n_cas; j++)
            appendf(&out, " ca=%s", ep->cas[j]);
        for (size_t j = 0; j < ep->n_clients; j++)
            appendf(&out, " client=%s+%s", ep->clients[j].cert,
                    ep->clients[j].key ? ep->clients[j].key : "-");
        for (size_t j = 0; j < ep->n_headers; j++)
            appendf(&out, " h:%s=%s", ep->headers[j].name, ep->headers[j].value);
        appendf(&out, "\n");
    }
    return out;
}

struct valid_case {
    const char *host; /* NULL: reg.example */
    const char *text;
    const char *want;
};

static const struct valid_case valid_cases[] = {
    {NULL, "", "https://reg.example /v2 prs\n"},
    {NULL, "# nothing but a comment\n\n   \t\n", "https://reg.example /v2 prs\n"},
    {"docker.io", "skip_verify = false\n", "https://registry-1.docker.io /v2 prs\n"},
    /* What the shared test harness writes. */
    {"127.0.0.1:5000",
     "server = \"https://127.0.0.1:5000\"\n"
     "ca = \"/opt/crib-harness/certs/ca.crt\"\n"
     "[host.\"https://127.0.0.1:5000\"]\n"
     "  capabilities = [\"pull\", \"resolve\"]\n"
     "  ca = \"/opt/crib-harness/certs/ca.crt\"\n",
     "https://127.0.0.1:5000 /v2 pr ca=/opt/crib-harness/certs/ca.crt\n"
     "https://127.0.0.1:5000 /v2 prs ca=/opt/crib-harness/certs/ca.crt\n"},
    /* Mirrors in file order (a header table first counts), then the origin. */
    {NULL,
     "server = 'http://origin.example:8080/'\n"
     "capabilities = [\"PULL\", \"referrers\"]\n"
     "[header]\n"
     "  x-a = \"1\"\n"
     "[host.\"https://b.example/sub/\".header]\n"
     "  x-b = [\"one\", \"two\"]\n"
     "[host.'http://[::1]:5000']\n"
     "  skip_verify = true\n"
     "  dial_timeout = \"1s\"   # ignored, as containerd 1.6 does\n"
     "[host.\"https://b.example/sub/\"]\n"
     "  ca = [\"m.crt\", \"/abs/m.crt\"]\n"
     "  client = [[\"c.cert\", \"c.key\"], \"both.pem\", [\"x.pem\", \"\"]]\n"
     "[host.\"mirror.example\"]\n"
     "  client = \"/abs/c.pem\"\n"
     "[unknown.table]\n"
     "  whatever = [\"x\"]\n",
     "https://b.example /sub/v2 prs ca=" DIR_ "/m.crt ca=/abs/m.crt client=" DIR_ "/c.cert+" DIR_
     "/c.key client=" DIR_ "/both.pem+- client=" DIR_ "/x.pem+- h:x-b=one h:x-b=two\n"
     "http://[::1]:5000 /v2 prs skip\n"
     "https://mirror.example /v2 prs client=/abs/c.pem+-\n"
     "http://origin.example:8080 /v2 p h:x-a=1\n"},
    /* API roots: /v2 appended unless there or override_path. */
    {NULL,
     "server = \"https://o.example/api/\"\n"
     "override_path = true\n"
     "[host.\"https://a.example/v2\"]\n"
     "[host.\"https://b.example//x/./y/\"]\n"
     "[host.\"https://c.example/raw\"]\n"
     "  override_path = true\n"
     "[host.\"https://d.example/\"]\n"
     "[host.\"HTTPS://e.example\"]\n"
     "  override_path = true\n"
     "  capabilities = []\n",
     "https://a.example /v2 prs\n"
     "https://b.example /x/y/v2 prs\n"
     "https://c.example /raw prs\n"
     "https://d.example /v2 prs\n"
     "https://e.example  prs\n"
     "https://o.example /api prs\n"},
    /* Escapes, CRLF, a multi-line array with comments and a trailing comma. */
    {NULL,
     "[header]\r\n"
     "  \"x-e\" = \"caf\\u00e9 \\U0001F600 \\\"q\\\" \\\\ \\t.\"\r\n"
     "  x-m = [ # values\r\n"
     "    \"a\",\r\n"
     "\r\n"
     "    'b\\n', # literal: no escapes\r\n"
     "  ]\r\n",
     "https://reg.example /v2 prs h:x-e=caf\xc3\xa9 \xf0\x9f\x98\x80 \"q\" \\ \t. h:x-m=a "
     "h:x-m=b\\n\n"},
};

static int test_parse_valid_files(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(valid_cases); i++) {
        const struct valid_case *c = &valid_cases[i];
        struct hosts_config config;
        struct crib_err err = {0};
        int r = hosts_parse(c->text, strlen(c->text), DIR_, c->host ? c->host : "reg.example",
                            &config, &err);

        CHECK_INT(r, 0);
        if (r < 0) {
            fprintf(stderr, "  case %zu: %s\n", i, err.msg);
            continue;
        }
        {
            _cleanup_free_ char *got = dump(&config);

            CHECK_STR(got, c->want);
        }
        hosts_config_done(&config);
        CHECK_INT(config.n_endpoints, 0);
    }
    return 0;
}

struct bad_case {
    const char *text;
    enum crib_code code;
    const char *msg;
};

static const struct bad_case bad_cases[] = {
    /* Strings. */
    {"server = \"https://x\n", CRIB_INVALID, FILE_ ":1: unterminated string"},
    {"ca = 'x\n", CRIB_INVALID, ":1: unterminated string"},
    {"ca = \"a\\\"\n", CRIB_INVALID, ":1: unterminated string"},
    {"\nca = \"a\\qb\"\n", CRIB_INVALID, FILE_ ":2: bad escape '\\q'"},
    {"ca = \"a\\ b\"\n", CRIB_INVALID, ":1: bad escape: '\\' before byte 0x20"},
    {"ca = \"\\u12\"\n", CRIB_INVALID, ":1: bad escape: needs 4 hex digits"},
    {"ca = \"\\U0000004g\"\n", CRIB_INVALID, ":1: bad escape: needs 8 hex digits"},
    {"ca = \"\\u0000\"\n", CRIB_INVALID, ":1: bad escape: NUL is not allowed"},
    {"ca = \"\\ud800\"\n", CRIB_INVALID, ":1: bad escape: U+D800 is not a Unicode"},
    {"ca = \"\\U00110000\"\n", CRIB_INVALID, ":1: bad escape: U+110000 is not"},
    {"ca = \"\"\"a\"\"\"\n", CRIB_INVALID, ":1: multi-line strings are not supported"},
    {"ca = '''a'''\n", CRIB_INVALID, ":1: multi-line strings are not supported"},
    /* Bytes TOML forbids anywhere. */
    {"ca = \"a\x01\"\n", CRIB_INVALID, ":1: control character 0x01"},
    {"# x\rca = \"a\"\n", CRIB_INVALID, ":1: control character 0x0d"},
    {"\n\n# \xff\n", CRIB_INVALID, ":3: invalid UTF-8"},
    {"ca = \"\xc0\x80\"\n", CRIB_INVALID, ":1: invalid UTF-8"},
    {"ca = \"\xed\xa0\x80\"\n", CRIB_INVALID, ":1: invalid UTF-8"},
    {"ca = \"\xe2\x82\"\n", CRIB_INVALID, ":1: invalid UTF-8"},
    /* Syntax outside the subset. */
    {"x = 1\n", CRIB_INVALID, ":1: unsupported value"},
    {"skip_verify = truex\n", CRIB_INVALID, ":1: unsupported value"},
    {"x = {a = \"b\"}\n", CRIB_INVALID, ":1: inline tables are not supported"},
    {"[[host]]\n", CRIB_INVALID, ":1: arrays of tables are not supported"},
    {"a.b = \"x\"\n", CRIB_INVALID, ":1: dotted keys are not supported"},
    {"x =\n", CRIB_INVALID, ":1: missing value"},
    {"x = # c\n", CRIB_INVALID, ":1: missing value"},
    {"x = \"a\" \"b\"\n", CRIB_INVALID, ":1: unexpected text after the value"},
    {"[header] x = \"a\"\n", CRIB_INVALID, ":1: unexpected text after the value"},
    {"x \"a\"\n", CRIB_INVALID, ":1: expected '=' after key 'x'"},
    {"= \"a\"\n", CRIB_INVALID, ":1: expected a key"},
    {"[]\n", CRIB_INVALID, ":1: expected a key"},
    {"[host\n", CRIB_INVALID, ":1: expected '.' or ']' in a table name"},
    {"x = [\"a\",\n\"b\"\n", CRIB_INVALID, ":3: unterminated array"},
    {"x = [\"a\" \"b\"]\n", CRIB_INVALID, ":1: expected ',' or ']' in an array"},
    {"x = [,]\n", CRIB_INVALID, ":1: unsupported value"},
    /* Duplicates, reported where the second one starts. */
    {"[host.\"https://m\"]\n\n[host.\"https://m\"]\n", CRIB_INVALID,
     FILE_ ":3: table 'https://m' defined twice"},
    {"[header]\n[header]\n", CRIB_INVALID, ":2: table 'header' defined twice"},
    {"ca = [\n  \"a\",\n]\nca = \"b\"\n", CRIB_INVALID, ":4: key 'ca' defined twice"},
    {"[a]\nb = \"x\"\n[a.b]\n", CRIB_INVALID, ":3: table 'b' redefines a key"},
    {"[a.b]\n[a]\nb = \"x\"\n", CRIB_INVALID, ":3: key 'b' redefines a table"},
    {"host = \"x\"\n[host.\"https://m\"]\n", CRIB_INVALID, ":1: 'host' must be a [table]"},
    /* URLs. */
    {"[host.\"ftp://m\"]\n", CRIB_INVALID, ":1: host 'ftp://m': the scheme must be http or https"},
    {"\nserver = \"file:///etc\"\n", CRIB_INVALID,
     ":2: server 'file:///etc': the scheme must be http or https"},
    {"[host.\"https://m:99999\"]\n", CRIB_INVALID, ":1: host 'https://m:99999': bad port"},
    {"[host.\"https://m:\"]\n", CRIB_INVALID, "bad port"},
    {"[host.\"https://u@m\"]\n", CRIB_INVALID, "bad character in host"},
    {"[host.\"https://\"]\n", CRIB_INVALID, "no host"},
    {"[host.\"https://[::1\"]\n", CRIB_INVALID, "bad IPv6 address"},
    {"[host.\"https://[]:5000\"]\n", CRIB_INVALID, "bad IPv6 address"},
    {"[host.\"https://m/a/../b\"]\n", CRIB_INVALID, "'..' in path"},
    {"[host.\"https://m/?q=1\"]\n", CRIB_INVALID, "bad character in path"},
    {"[host.\"https://m/a b\"]\n", CRIB_INVALID, "bad character in path"},
    /* Known keys with the wrong type. */
    {"server = true\n", CRIB_INVALID, FILE_ ":1: 'server' must be a URL string"},
    {"ca = true\n", CRIB_INVALID, ":1: 'ca' must be a path or an array of paths"},
    {"ca = [\"a\", [\"b\"]]\n", CRIB_INVALID, ":1: 'ca' must be a path or an array of paths"},
    {"ca = \"\"\n", CRIB_INVALID, ":1: 'ca' has an empty path"},
    {"client = [[\"a\"]]\n", CRIB_INVALID, ":1: 'client' must be a path, or an array"},
    {"client = [\n  [\"a\", \"b\", \"c\"],\n]\n", CRIB_INVALID, ":1: 'client' must be"},
    {"client = [[\"\", \"k\"]]\n", CRIB_INVALID, ":1: 'client' has an empty path"},
    {"client = false\n", CRIB_INVALID, ":1: 'client' must be"},
    {"capabilities = \"pull\"\n", CRIB_INVALID, ":1: 'capabilities' must be an array of strings"},
    {"capabilities = [true]\n", CRIB_INVALID, ":1: 'capabilities' must be an array of strings"},
    {"[host.\"https://m\"]\ncapabilities = [\"fly\"]\n", CRIB_INVALID,
     ":2: unknown capability 'fly'"},
    {"skip_verify = \"yes\"\n", CRIB_INVALID, ":1: 'skip_verify' must be true or false"},
    {"[host.\"https://m\"]\noverride_path = []\n", CRIB_INVALID,
     ":2: 'override_path' must be true or false"},
    {"header = \"x\"\n", CRIB_INVALID, ":1: 'header' must be a [table]"},
    {"[header]\nx-a = true\n", CRIB_INVALID, ":2: header 'x-a' must be a string or an array"},
    {"[header]\nx-a = [\"a\", false]\n", CRIB_INVALID, ":2: header 'x-a' must be a string"},
    {"[header.x-a]\n", CRIB_INVALID, ":1: header 'x-a' must be a string or an array"},
    {"[host.\"https://m\".header.x-a]\n", CRIB_INVALID, ":1: header 'x-a' must be"},
    {"[header]\n\"x a\" = \"v\"\n", CRIB_INVALID, ":2: header name 'x a' is not a token"},
    {"[header]\n\"\" = \"v\"\n", CRIB_INVALID, ":2: empty header name"},
    {"[header]\nx-a = \"v\\r\\nx-b: w\"\n", CRIB_INVALID, ":2: header 'x-a' has a control"},
    {"[host]\n\"https://m\" = \"x\"\n", CRIB_INVALID, ":2: host 'https://m' must be a [table]"},
    /* Limits. */
    {"ca = [[[[[\"x\"]]]]]\n", CRIB_LIMIT, ":1: arrays nested deeper than 4"},
};

static int test_parse_refuses_bad_files(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
        const struct bad_case *c = &bad_cases[i];
        struct hosts_config config;
        struct crib_err err = {0};
        int r = hosts_parse(c->text, strlen(c->text), DIR_, "reg.example", &config, &err);

        CHECK(r < 0);
        if (r >= 0) {
            fprintf(stderr, "  case %zu accepted: %s", i, c->text);
            hosts_config_done(&config);
            continue;
        }
        CHECK_INT(err.code, c->code);
        CHECK_CONTAINS(err.msg, c->msg);
    }
    return 0;
}

/* Runs hosts_parse on text (len bytes) and checks the code and message. */
static void check_refused(const char *text, size_t len, enum crib_code code, const char *msg)
{
    struct hosts_config config;
    struct crib_err err = {0};
    int r = hosts_parse(text, len, DIR_, "reg.example", &config, &err);

    CHECK(r < 0);
    if (r >= 0) {
        hosts_config_done(&config);
        return;
    }
    CHECK_INT(err.code, code);
    CHECK_CONTAINS(err.msg, msg);
}

static char *repeat(const char *s, size_t n)
{
    size_t len = strlen(s);
    char *out = xmalloc(len * n + 1);

    for (size_t i = 0; i < n; i++)
        memcpy(out + i * len, s, len);
    out[len * n] = '\0';
    return out;
}

static int test_parse_refuses_nul_bytes(void)
{
    static const char text[] = "ca = \"a\"\n# x\0y\n";

    check_refused(text, sizeof(text) - 1, CRIB_INVALID, FILE_ ":2: NUL byte");
    check_refused("ca = \"a\0\"\n", 10, CRIB_INVALID, ":1: NUL byte");
    return 0;
}

static int test_parse_limits_sizes(void)
{
    _cleanup_free_ char *long_value = repeat("a", 16 << 10);
    _cleanup_free_ char *long_line = xasprintf("ca = \"/x\"\nserver = \"%s\"\n", long_value);
    _cleanup_free_ char *big = repeat("# comment comment comment comment\n", 8000);
    _cleanup_free_ char *nest = repeat("[", 10000);
    _cleanup_free_ char *deep = xasprintf("ca = %s\n", nest);
    _cleanup_free_ char *items = repeat("\"a\",", 65);
    _cleanup_free_ char *many_items = xasprintf("ca = [%s]\n", items);
    _cleanup_free_ char *header_values = repeat("\"v\",", 33);
    _cleanup_free_ char *many_values = xasprintf("[header]\nx-a = [%s]\n", header_values);
    _cleanup_free_ char *cas = repeat("\"c.crt\",", 17);
    _cleanup_free_ char *many_cas = xasprintf("\n[host.\"https://m\"]\nca = [%s]\n", cas);

    check_refused(long_line, strlen(long_line), CRIB_LIMIT, FILE_ ":2: line longer than 16384");
    CHECK(strlen(big) > HOSTS_TOML_MAX_BYTES);
    check_refused(big, strlen(big), CRIB_LIMIT, FILE_ ": more than 262144 bytes");
    check_refused(deep, strlen(deep), CRIB_LIMIT, ":1: arrays nested deeper than 4");
    check_refused(many_items, strlen(many_items), CRIB_LIMIT, ":1: array of more than 64 items");
    check_refused(many_values, strlen(many_values), CRIB_LIMIT, ":2: more than 32 header values");
    check_refused(many_cas, strlen(many_cas), CRIB_LIMIT, ":3: more than 16 CA files");
    return 0;
}

static int test_parse_limits_endpoints_and_keys(void)
{
    _cleanup_free_ char *text = xstrdup("");
    _cleanup_free_ char *keys = xstrdup("");

    for (int i = 0; i < HOSTS_MAX_ENDPOINTS; i++) {
        char *more = xasprintf("%s[host.\"https://m%d.example\"]\n", text, i);

        free(text);
        text = more;
    }
    check_refused(text, strlen(text), CRIB_LIMIT, ":16: more than 16 endpoints");
    /* One fewer fits, with the origin last. */
    *strstr(text, "[host.\"https://m15.example\"]") = '\0';
    {
        struct hosts_config config;
        struct crib_err err;

        CHECK_INT(hosts_parse(text, strlen(text), DIR_, "reg.example", &config, &err), 0);
        CHECK_INT(config.n_endpoints, HOSTS_MAX_ENDPOINTS);
        CHECK_STR(config.endpoints[15].host, "reg.example");
        hosts_config_done(&config);
    }
    for (int i = 0; i <= 1024; i++) {
        char *more = xasprintf("%sunknown%d = true\n", keys, i);

        free(keys);
        keys = more;
    }
    check_refused(keys, strlen(keys), CRIB_LIMIT, ":1025: more than 1024 keys and tables");
    return 0;
}

static int test_parse_refuses_bad_registry_host(void)
{
    struct hosts_config config;
    struct crib_err err;

    CHECK(hosts_parse("", 0, DIR_, "a/b", &config, &err) < 0);
    CHECK_INT(err.code, CRIB_INVALID);
    CHECK_CONTAINS(err.msg, "registry host 'a/b'");
    CHECK(hosts_parse("", 0, DIR_, "", &config, &err) < 0);
    CHECK_INT(err.code, CRIB_INVALID);
    return 0;
}

/* hosts_load on a real certs.d tree. */

/* Writes DIR/NAME, making the dirs it needs (NAME may have a '/'). */
static void put(const char *dir, const char *name, const char *text)
{
    _cleanup_free_ char *p = xasprintf("%s/%s", dir, name);
    _cleanup_free_ char *parent = xstrdup(p);
    struct crib_err err;

    *strrchr(parent, '/') = '\0';
    if (fs_mkdir_p(parent, 0755, &err) < 0 ||
        fs_write_atomic(p, text, strlen(text), 0644, &err) < 0)
        abort();
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    return remove(path);
}

static void rm_rf(const char *dir)
{
    CHECK_INT(nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static char *load_dump(const char *const *dirs, const char *host)
{
    struct hosts_config config;
    struct crib_err err;
    char *s;

    if (hosts_load(dirs, host, &config, &err) < 0)
        return xasprintf("error %s: %s", crib_code_name(err.code), err.msg);
    s = dump(&config);
    hosts_config_done(&config);
    return s;
}

static int test_load_hosts_toml_and_fallbacks(void)
{
    char tmp[] = "/tmp/crib-hosts-test-XXXXXX";
    _cleanup_free_ char *a = NULL, *b = NULL, *got = NULL, *want = NULL;

    CHECK(mkdtemp(tmp) != NULL);
    a = xasprintf("%s/a", tmp);
    b = xasprintf("%s/b", tmp);
    {
        _cleanup_free_ char *d = xasprintf("%s/127.0.0.1:5000", b);

        put(d, "hosts.toml",
            "[host.\"http://127.0.0.1:5001\"]\n  capabilities = [\"pull\"]\n  ca = \"ca.pem\"\n");
        want = xasprintf("http://127.0.0.1:5001 /v2 p ca=%s/ca.pem\n"
                         "https://127.0.0.1:5000 /v2 prs\n",
                         d);
    }
    {
        /* No dir at all: the origin alone; docker.io has its own. */
        const char *dirs[] = {a, b, NULL};

        got = load_dump(dirs, "docker.io");
        CHECK_STR(got, "https://registry-1.docker.io /v2 prs\n");
        free(got);
        /* a has nothing for the host, so b's dir applies. */
        got = load_dump(dirs, "127.0.0.1:5000");
        CHECK_STR(got, want);
        free(got);
        /* containerd 2's host_port_ spelling wins over host:port. */
        put(b, "127.0.0.1_5000_/hosts.toml", "skip_verify = true\n");
        got = load_dump(dirs, "127.0.0.1:5000");
        CHECK_STR(got, "https://127.0.0.1:5000 /v2 prs skip\n");
        free(got);
        /* An earlier dir's _default comes before a later dir's host. */
        put(a, "_default/hosts.toml", "server = \"https://fallback.example\"\n");
        got = load_dump(dirs, "127.0.0.1:5000");
        CHECK_STR(got, "https://fallback.example /v2 prs\n");
        free(got);
        got = load_dump(dirs, "quay.io");
        CHECK_STR(got, "https://fallback.example /v2 prs\n");
        free(got);
        /* A bad file names its path and line. */
        put(a, "_default/hosts.toml", "\nca = 7\n");
        got = load_dump(dirs, "quay.io");
        CHECK_CONTAINS(got, "error invalid: ");
        CHECK_CONTAINS(got, "/a/_default/hosts.toml:2: unsupported value");
        free(got);
        got = load_dump(dirs, "../etc");
        CHECK_CONTAINS(got, "error invalid: registry host");
    }
    rm_rf(tmp);
    return 0;
}

static int test_load_docker_layout(void)
{
    char tmp[] = "/tmp/crib-hosts-test-XXXXXX";
    _cleanup_free_ char *d = NULL, *got = NULL, *want = NULL, *big = NULL;
    const char *dirs[] = {tmp, NULL};

    CHECK(mkdtemp(tmp) != NULL);
    d = xasprintf("%s/reg.example:5000", tmp);
    put(d, "ca.crt", "x");
    put(d, "b.crt", "x");
    put(d, "client.cert", "x");
    put(d, "client.key", "x");
    put(d, "README", "x");
    put(d, ".hidden.crt", "x");
    put(d, "sub.crt/file", "x"); /* a dir, not a CA */
    put(d, "hosts.toml", "");    /* empty: as if absent (containerd) */
    want = xasprintf("https://reg.example:5000 /v2 prs ca=%s/b.crt ca=%s/ca.crt "
                     "client=%s/client.cert+%s/client.key\n",
                     d, d, d, d);
    got = load_dump(dirs, "reg.example:5000");
    CHECK_STR(got, want);
    free(got);

    put(d, "lonely.cert", "x");
    got = load_dump(dirs, "reg.example:5000");
    CHECK_CONTAINS(got, "error invalid: client certificate ");
    CHECK_CONTAINS(got, "/lonely.cert has no key file ");
    free(got);

    big = repeat("#234567890123456789012345678901\n", 8193);
    put(d, "hosts.toml", big);
    got = load_dump(dirs, "reg.example:5000");
    CHECK_CONTAINS(got, "error limit: ");
    CHECK_CONTAINS(got, "/hosts.toml: more than 262144 bytes");
    rm_rf(tmp);
    return 0;
}

static int test_load_docker_layout_limits_files(void)
{
    char tmp[] = "/tmp/crib-hosts-test-XXXXXX";
    _cleanup_free_ char *d = NULL, *got = NULL;
    const char *dirs[] = {tmp, NULL};

    CHECK(mkdtemp(tmp) != NULL);
    d = xasprintf("%s/_default", tmp);
    for (int i = 0; i <= HOSTS_MAX_FILES; i++) {
        _cleanup_free_ char *name = xasprintf("ca%02d.crt", i);

        put(d, name, "x");
    }
    got = load_dump(dirs, "reg.example");
    CHECK_CONTAINS(got, "error limit: ");
    CHECK_CONTAINS(got, "more than 16 CA files");
    rm_rf(tmp);
    return 0;
}

TEST_MAIN(TEST(test_parse_valid_files), TEST(test_parse_refuses_bad_files),
          TEST(test_parse_refuses_nul_bytes), TEST(test_parse_limits_sizes),
          TEST(test_parse_limits_endpoints_and_keys), TEST(test_parse_refuses_bad_registry_host),
          TEST(test_load_hosts_toml_and_fallbacks), TEST(test_load_docker_layout),
          TEST(test_load_docker_layout_limits_files))
