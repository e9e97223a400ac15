/* Shared inside imagestore/ only. */
#pragma once

#include <pthread.h>

#include "imagestore/content.h"
#include "imagestore/imagestore.h"
#include "storage/layers.h"

struct pull_inflight;

struct imagestore {
    struct store *store;
    struct content_store *content;
    struct layer_store *layers;
    struct registry *registry;
    struct imagestore_options opts; /* strings owned below */
    char *os, *architecture, *variant;
    char **hosts_dirs;

    pthread_mutex_t lock; /* guards inflight and the making of registry */
    struct pull_inflight *inflight;
};

/* The registry client, made on first use. Errors: CRIB_INTERNAL. */
int imagestore_registry(struct imagestore *is, struct registry **ret, struct crib_err *err);
