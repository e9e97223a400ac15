/* A bounded pool of worker threads fed from a bounded queue. Threads are
 * started on demand up to the bound, so an idle daemon holds few of them. */
#pragma once

struct workq;

/* max_threads > 0; max_queued jobs may wait beyond those running. */
struct workq *workq_new(const char *name, unsigned max_threads, unsigned max_queued);

/* Queues fn(arg). Returns 0, -EAGAIN when the queue is full, or -ESHUTDOWN
 * once workq_free has begun. */
int workq_push(struct workq *q, void (*fn)(void *arg), void *arg);

/* Lets queued and running jobs finish, joins the threads and frees q. */
void workq_free(struct workq *q);
