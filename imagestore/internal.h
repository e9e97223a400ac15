/* Shared inside imagestore/ only. */
#pragma once

#include <pthread.h>

#include "common/singleflight.h"
#include "imagestore/content.h"
#include "imagestore/imagestore.h"
#include "storage/layers.h"

struct imagestore {
    struct store *store;
    struct content_store *content;
    struct layer_store *layers;
    struct registry *registry;
    struct imagestore_options opts; /* strings owned below */
    char *os, *architecture, *variant;
    char **hosts_dirs;

    pthread_mutex_t lock;      /* guards the making of registry */
    struct singleflight pulls; /* by canonical reference */
    struct imagestore_counters counters;
};

/* The registry client, made on first use. Errors: CRIB_INTERNAL. */
int imagestore_registry(struct imagestore *is, struct registry **ret, struct crib_err *err);
