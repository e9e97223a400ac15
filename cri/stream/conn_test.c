#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/testing.h"
#include "cri/stream/conn.h"

/* A pipe takes 64 KiB by default: the rest must wait in the sink, which
 * then says it is full, and hands it on as the reader drains. */
static int test_sink_keeps_what_fd_refuses(void)
{
    static char data[200 << 10], buf[1 << 16];
    struct sink s;
    int p[2];
    size_t got = 0;
    ssize_t n;

    CHECK_INT(pipe2(p, O_NONBLOCK), 0);
    sink_init(&s, p[1], false);
    sink_put(&s, data, sizeof(data));
    CHECK(s.len > 0 && s.len < sizeof(data));
    CHECK(sink_full(&s));
    sink_close(&s); /* half-close once drained: not yet */
    CHECK(!s.is_closed);
    while (!s.is_closed) {
        n = read(p[0], buf, sizeof(buf));
        if (n > 0)
            got += (size_t)n;
        sink_flush(&s);
    }
    while ((n = read(p[0], buf, sizeof(buf))) > 0)
        got += (size_t)n;
    CHECK_INT(n, 0); /* the writer was closed: end of file */
    CHECK_INT(got, sizeof(data));
    sink_put(&s, "late", 4); /* dropped, not queued */
    CHECK_INT(s.len, 0);
    close(p[0]);
    return 0;
}

static int test_sink_reader_gone_drops(void)
{
    struct sink s;
    int sv[2];

    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    close(sv[1]);
    sink_init(&s, sv[0], true);
    sink_put(&s, "x", 1);
    CHECK(s.is_closed);
    CHECK_INT(s.len, 0);
    close(sv[0]);
    return 0;
}

static int test_conn_queue_bounds_reported(void)
{
    static char chunk[64 << 10];
    struct stream_conn c;
    int sv[2];

    CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    conn_init(&c, sv[0], NULL);
    for (int i = 0; i < 3; i++)
        conn_queue(&c, chunk, sizeof(chunk));
    CHECK(!conn_out_full(&c));
    conn_queue(&c, chunk, sizeof(chunk));
    CHECK(conn_out_full(&c));
    CHECK_INT(conn_flush(&c), 0); /* the peer does not read: most stays queued */
    CHECK(conn_wants_write(&c));
    close(sv[1]);
    CHECK(conn_flush(&c) < 0); /* the peer has gone */
    conn_done(&c);
    return 0;
}

TEST_MAIN(TEST(test_sink_keeps_what_fd_refuses), TEST(test_sink_reader_gone_drops),
          TEST(test_conn_queue_bounds_reported))
