#include "imagestore/pull_layers.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/crash.h"
#include "common/xalloc.h"
#include "storage/unpack.h"

#define PIPE_BYTES (1 << 20)
#define PROGRESS_EVERY_S 5
#define LAYER_ATTEMPTS 3

struct layer_job {
    size_t index;
    const struct descriptor *desc;
    const char *diff_id;
    struct image_layer *out;
    char **stage; /* where the unpacked layer waits */
    bool present;
};

struct layer_pull {
    struct imagestore *is;
    struct registry_repo *repo;
    const struct pull_request *req;
    struct layer_job *jobs;
    size_t n_jobs;
    atomic_size_t next;
    atomic_bool failed;
    atomic_uint_fast64_t done_bytes;
    atomic_uint layers_done;
    pthread_mutex_t lock; /* guards err, first_error, running */
    pthread_cond_t changed;
    unsigned running;
    struct crib_err err;
    int first_error;
};

/* The stream one layer is unpacked from: the read end of the fetch's pipe. */
struct layer_stream {
    struct layer_pull *lp;
    int fd;
};

static ssize_t read_stream(void *ctx, void *buf, size_t size, struct crib_err *err)
{
    struct layer_stream *s = ctx;
    ssize_t n;

    if (atomic_load(&s->lp->failed))
        return crib_fail(err, CRIB_UNAVAILABLE, ECANCELED, "another layer failed");
    do
        n = read(s->fd, buf, size);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "read layer stream");
    atomic_fetch_add(&s->lp->done_bytes, (uint64_t)n);
    atomic_fetch_add(&s->lp->is->counters.layer_bytes, (uint64_t)n);
    return n;
}

struct fetch {
    struct registry_repo *repo;
    const char *digest;
    int fd;
    int result;
    uint64_t bytes;
    struct crib_err err;
};

static void *fetch_main(void *p)
{
    struct fetch *f = p;

    f->result = registry_stream_blob(f->repo, f->digest, f->fd, &f->bytes, &f->err);
    close(f->fd);
    return NULL;
}

/* Which failure to report when both sides failed: the one that came first. */
static int pick_error(struct fetch *f, int unpack_r, struct crib_err *err)
{
    bool fetch_was_cause =
        f->result < 0 && !(f->err.code == CRIB_UNAVAILABLE && f->err.errnum == EPIPE);

    if (fetch_was_cause) {
        *err = f->err;
        return f->result;
    }
    return unpack_r;
}

static int verify(const struct layer_job *job, const struct unpack_result *res,
                  struct crib_err *err)
{
    if (res->compressed_bytes != (uint64_t)job->desc->size && job->desc->size > 0)
        return crib_fail(err, CRIB_INVALID, 0, "layer %s: got %llu bytes, the manifest says %lld",
                         job->desc->digest, (unsigned long long)res->compressed_bytes,
                         (long long)job->desc->size);
    if (strcmp(res->compressed_digest, job->desc->digest) != 0)
        return crib_fail(err, CRIB_INVALID, 0, "layer %s: content hashes to %s", job->desc->digest,
                         res->compressed_digest);
    if (strcmp(res->diff_id, job->diff_id) != 0)
        return crib_fail(err, CRIB_INVALID, 0,
                         "layer %s: unpacked content hashes to %s, the config says %s",
                         job->desc->digest, res->diff_id, job->diff_id);
    return 0;
}

static int stream_into(struct layer_pull *lp, struct layer_job *job, int dir_fd,
                       struct unpack_result *res, struct crib_err *err)
{
    struct unpack_options uo = {.compression = UNPACK_AUTO,
                                .max_unpacked_bytes = lp->is->opts.max_layer_bytes};
    struct fetch f = {.repo = lp->repo, .digest = job->desc->digest};
    struct layer_stream s = {.lp = lp};
    pthread_t thread;
    int fds[2], r;

    if (pipe2(fds, O_CLOEXEC) < 0)
        return crib_fail(err, CRIB_INTERNAL, errno, "pipe");
    (void)fcntl(fds[1], F_SETPIPE_SZ, PIPE_BYTES); /* fewer wake-ups; the default works too */
    s.fd = fds[0];
    f.fd = fds[1];
    r = pthread_create(&thread, NULL, fetch_main, &f);
    if (r != 0) {
        close(fds[0]);
        close(fds[1]);
        return crib_fail(err, CRIB_INTERNAL, r, "start a layer fetch");
    }
    r = unpack_layer(dir_fd, read_stream, &s, &uo, res, err);
    close(fds[0]); /* a fetch still writing gets EPIPE and stops */
    pthread_join(thread, NULL);
    return pick_error(&f, r, err);
}

static int one_attempt(struct layer_pull *lp, struct layer_job *job, struct crib_err *err)
{
    struct unpack_result res;
    _cleanup_free_ char *stage = NULL;
    _cleanup_close_ int dir_fd = layerstore_stage(lp->is->layers, &stage, err);
    int r;

    if (dir_fd < 0)
        return dir_fd;
    r = stream_into(lp, job, dir_fd, &res, err);
    if (r >= 0)
        r = verify(job, &res, err);
    if (r < 0) {
        layerstore_discard(lp->is->layers, stage);
        return crib_wrap(err, "layer %zu", job->index + 1);
    }
    CRASH_POINT("pull-layer-unpacked");
    job->out->size = (int64_t)res.content_bytes;
    job->out->inodes = (int64_t)res.n_inodes;
    *job->stage = TAKE_PTR(stage);
    return 0;
}

static bool worth_retrying(const struct crib_err *err)
{
    return (err->code == CRIB_UNAVAILABLE || err->code == CRIB_TIMEOUT) && err->errnum != ECANCELED;
}

static void *worker_main(void *p)
{
    struct layer_pull *lp = p;
    size_t i;

    while ((i = atomic_fetch_add(&lp->next, 1)) < lp->n_jobs && !atomic_load(&lp->failed)) {
        struct layer_job *job = &lp->jobs[i];
        struct crib_err err;
        int r = 0;

        if (job->present)
            continue;
        for (int attempt = 1; attempt <= LAYER_ATTEMPTS; attempt++) {
            r = one_attempt(lp, job, &err);
            if (r >= 0 || !worth_retrying(&err) || atomic_load(&lp->failed))
                break;
        }
        pthread_mutex_lock(&lp->lock);
        if (r < 0 && !lp->first_error) {
            lp->first_error = r;
            lp->err = err;
            atomic_store(&lp->failed, true);
        }
        pthread_mutex_unlock(&lp->lock);
        atomic_fetch_add(&lp->layers_done, 1);
    }
    pthread_mutex_lock(&lp->lock);
    lp->running--;
    pthread_cond_broadcast(&lp->changed);
    pthread_mutex_unlock(&lp->lock);
    return NULL;
}

/* chain(0) = diff(0); chain(n) = sha256(chain(n-1) + " " + diff(n)). */
static char *chain_id(const char *parent, const char *diff_id)
{
    char out[DIGEST_MAX_STR];
    _cleanup_free_ char *text = NULL;

    if (!parent)
        return xstrdup(diff_id);
    text = xasprintf("%s %s", parent, diff_id);
    digest_sha256(text, strlen(text), out);
    return xstrdup(out);
}

static int plan(struct layer_pull *lp, const struct manifest *m, const struct image_config *cfg,
                struct pulled_layers *pl, struct crib_err *err)
{
    struct image_layer *layers = pl->layers;

    for (size_t i = 0; i < m->n_layers; i++) {
        struct layer_job *job = &lp->jobs[i];
        bool found = false;
        int r;

        layers[i].diff_id = xstrdup(cfg->diff_ids[i]);
        layers[i].chain_id = chain_id(i ? layers[i - 1].chain_id : NULL, cfg->diff_ids[i]);
        *job = (struct layer_job){.index = i,
                                  .desc = &m->layers[i],
                                  .diff_id = cfg->diff_ids[i],
                                  .out = &layers[i],
                                  .stage = &pl->staged[i]};
        r = images_layer_info(lp->is->store, layers[i].chain_id, &found, &layers[i].size,
                              &layers[i].inodes, err);
        if (r < 0)
            return r;
        job->present = found && layerstore_has(lp->is->layers, layers[i].chain_id);
    }
    return 0;
}

static void report(struct layer_pull *lp, const struct manifest *m)
{
    struct pull_progress pp = {.image = lp->req->image, .layers_total = (unsigned)m->n_layers};

    if (!lp->req->progress)
        return;
    for (size_t i = 0; i < m->n_layers; i++)
        if (!lp->jobs[i].present)
            pp.total_bytes += (uint64_t)m->layers[i].size;
    pp.done_bytes = atomic_load(&lp->done_bytes);
    pp.layers_done = atomic_load(&lp->layers_done);
    lp->req->progress(&pp, lp->req->progress_ctx);
}

/* Waits for the workers, reporting progress every few seconds. */
static void wait_workers(struct layer_pull *lp, const struct manifest *m)
{
    pthread_mutex_lock(&lp->lock);
    while (lp->running > 0) {
        struct timespec until;

        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += PROGRESS_EVERY_S;
        if (pthread_cond_timedwait(&lp->changed, &lp->lock, &until) == ETIMEDOUT) {
            pthread_mutex_unlock(&lp->lock);
            report(lp, m);
            pthread_mutex_lock(&lp->lock);
        }
    }
    pthread_mutex_unlock(&lp->lock);
}

static int run_workers(struct layer_pull *lp, const struct manifest *m, struct crib_err *err)
{
    size_t missing = 0, n_threads;
    pthread_t *threads;

    for (size_t i = 0; i < lp->n_jobs; i++)
        missing += !lp->jobs[i].present;
    if (missing == 0)
        return 0;
    n_threads =
        missing < lp->is->opts.max_parallel_layers ? missing : lp->is->opts.max_parallel_layers;
    threads = xcalloc(n_threads, sizeof(*threads));
    for (size_t i = 0; i < n_threads; i++) {
        pthread_mutex_lock(&lp->lock);
        lp->running++;
        pthread_mutex_unlock(&lp->lock);
        if (pthread_create(&threads[i], NULL, worker_main, lp) != 0) {
            n_threads = i;
            lp->running--;
            break;
        }
    }
    wait_workers(lp, m);
    for (size_t i = 0; i < n_threads; i++)
        pthread_join(threads[i], NULL);
    free(threads);
    if (n_threads == 0)
        return crib_fail(err, CRIB_INTERNAL, EAGAIN, "cannot start layer fetches");
    if (lp->first_error) {
        *err = lp->err;
        return lp->first_error;
    }
    return 0;
}

int pull_layers(struct imagestore *is, struct registry_repo *repo, const struct pull_request *req,
                const struct manifest *m, const struct image_config *config,
                struct pulled_layers *ret, struct crib_err *err)
{
    size_t n = m->n_layers ? m->n_layers : 1;
    struct pulled_layers pl = {.layers = xcalloc(n, sizeof(*pl.layers)),
                               .n_layers = m->n_layers,
                               .staged = xcalloc(n, sizeof(*pl.staged)),
                               .renamed = xcalloc(n, sizeof(*pl.renamed))};
    struct layer_pull lp = {.is = is, .repo = repo, .req = req, .n_jobs = m->n_layers};
    int r;

    lp.jobs = xcalloc(n, sizeof(*lp.jobs));
    pthread_mutex_init(&lp.lock, NULL);
    pthread_cond_init(&lp.changed, NULL);
    r = plan(&lp, m, config, &pl, err);
    if (r >= 0)
        r = run_workers(&lp, m, err);
    pthread_cond_destroy(&lp.changed);
    pthread_mutex_destroy(&lp.lock);
    free(lp.jobs);
    if (r < 0) {
        pull_layers_abandon(is, &pl);
        return r;
    }
    *ret = pl;
    return 0;
}

int pull_layers_commit(struct imagestore *is, struct pulled_layers *pl, struct crib_err *err)
{
    for (size_t i = 0; i < pl->n_layers; i++) {
        int r;

        if (!pl->staged[i])
            continue;
        r = layerstore_commit(is->layers, pl->staged[i], pl->layers[i].chain_id, err);
        if (r < 0)
            return r;
        /* 1: another pull put the same layer in place first; it is its to record. */
        pl->renamed[i] = r == 0;
        free(pl->staged[i]);
        pl->staged[i] = NULL;
    }
    return 0;
}

void pull_layers_abandon(struct imagestore *is, struct pulled_layers *pl)
{
    struct crib_err ignored;

    for (size_t i = 0; i < pl->n_layers; i++) {
        if (pl->staged[i])
            layerstore_discard(is->layers, pl->staged[i]);
        if (pl->renamed[i])
            (void)layerstore_remove(is->layers, pl->layers[i].chain_id, &ignored);
    }
    pull_layers_done(pl);
}

void pull_layers_done(struct pulled_layers *pl)
{
    for (size_t i = 0; i < pl->n_layers; i++) {
        free(pl->layers[i].chain_id);
        free(pl->layers[i].diff_id);
        free(pl->staged[i]);
    }
    free(pl->layers);
    free(pl->staged);
    free(pl->renamed);
    memset(pl, 0, sizeof(*pl));
}
