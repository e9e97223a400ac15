#include "imagestore/images.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/xalloc.h"

static void strv_push(char ***v, size_t *n, const char *s)
{
    *v = xrealloc(*v, (*n + 1) * sizeof(**v));
    (*v)[(*n)++] = xstrdup(s);
}

void images_strv_free(char **v, size_t n)
{
    strv_free(v, n);
}

void image_record_free(struct image_record *img)
{
    if (!img)
        return;
    free(img->id);
    free(img->manifest_digest);
    free(img->user);
    images_strv_free(img->tags, img->n_tags);
    images_strv_free(img->digests, img->n_digests);
    for (size_t i = 0; i < img->n_layers; i++) {
        free(img->layers[i].chain_id);
        free(img->layers[i].diff_id);
    }
    free(img->layers);
    free(img);
}

CRIB_DEFINE_CLEANUP(struct image_record, image_record_free)

/* Runs sql with text parameters and returns column 0 of every row. */
static int query_strv(struct store_tx *tx, const char *sql, const char *const *params,
                      size_t n_params, char ***ret_v, size_t *ret_n, struct crib_err *err)
{
    _cleanup_sqlite_stmt_ sqlite3_stmt *st = NULL;
    char **v = NULL;
    size_t n = 0;
    int r = store_prepare(tx, sql, &st, err), rc;

    if (r < 0)
        return r;
    for (size_t i = 0; i < n_params; i++)
        sqlite3_bind_text(st, (int)i + 1, params[i], -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        strv_push(&v, &n, (const char *)sqlite3_column_text(st, 0));
    if (rc != SQLITE_DONE) {
        images_strv_free(v, n);
        return store_fail(tx, "query", err);
    }
    *ret_v = v;
    *ret_n = n;
    return 0;
}

static int exec_params(struct store_tx *tx, const char *sql, const char *const *params,
                       size_t n_params, const int64_t *ints, size_t n_ints, struct crib_err *err)
{
    _cleanup_sqlite_stmt_ sqlite3_stmt *st = NULL;
    int r = store_prepare(tx, sql, &st, err);

    if (r < 0)
        return r;
    for (size_t i = 0; i < n_params; i++)
        sqlite3_bind_text(st, (int)i + 1, params[i], -1, SQLITE_STATIC);
    for (size_t i = 0; i < n_ints; i++)
        sqlite3_bind_int64(st, (int)(n_params + i) + 1, ints[i]);
    if (sqlite3_step(st) != SQLITE_DONE)
        return store_fail(tx, "write", err);
    return 0;
}

static int add_layers(struct store_tx *tx, const struct image_record *img, struct crib_err *err)
{
    for (size_t i = 0; i < img->n_layers; i++) {
        const struct image_layer *l = &img->layers[i];
        const char *params[] = {l->chain_id, l->diff_id, i ? img->layers[i - 1].chain_id : NULL};
        int64_t ints[] = {l->size, l->inodes, (int64_t)i};
        int r = exec_params(tx,
                            "INSERT OR IGNORE INTO layers(chain_id, diff_id, parent, size, inodes) "
                            "VALUES (?1, ?2, ?3, ?4, ?5)",
                            params, 3, ints, 2, err);

        if (r >= 0)
            r = exec_params(tx,
                            "INSERT INTO image_layers(image_id, chain_id, idx) VALUES (?1, ?2, ?3)",
                            (const char *[]){img->id, l->chain_id}, 2, ints + 2, 1, err);
        if (r < 0)
            return r;
    }
    return 0;
}

static int add_names(struct store_tx *tx, const struct image_record *img, struct crib_err *err)
{
    static const char sql[] =
        "INSERT INTO image_names(name, image_id, is_digest) VALUES (?1, ?2, ?3) "
        "ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id";
    int r = 0;

    for (size_t i = 0; r >= 0 && i < img->n_tags; i++)
        r = exec_params(tx, sql, (const char *[]){img->tags[i], img->id}, 2, (int64_t[]){0}, 1,
                        err);
    for (size_t i = 0; r >= 0 && i < img->n_digests; i++)
        r = exec_params(tx, sql, (const char *[]){img->digests[i], img->id}, 2, (int64_t[]){1}, 1,
                        err);
    return r;
}

int images_add(struct store *s, const struct image_record *img, struct crib_err *err)
{
    struct store_tx tx;
    int r = store_tx_begin(s, true, &tx, err);

    if (r < 0)
        return r;
    /* A re-pull of a present image refreshes its record and names. */
    r = exec_params(&tx, "DELETE FROM image_layers WHERE image_id = ?1", (const char *[]){img->id},
                    1, NULL, 0, err);
    if (r >= 0)
        r = exec_params(&tx,
                        "INSERT INTO images(id, manifest_digest, user, size, pulled_ns, pinned) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(id) DO UPDATE SET "
                        "manifest_digest = excluded.manifest_digest, size = excluded.size, "
                        "pulled_ns = excluded.pulled_ns, user = excluded.user",
                        (const char *[]){img->id, img->manifest_digest, img->user}, 3,
                        (int64_t[]){img->size, img->pulled_ns, img->pinned}, 3, err);
    if (r >= 0)
        r = add_layers(&tx, img, err);
    if (r >= 0)
        r = add_names(&tx, img, err);
    if (r >= 0)
        r = store_tx_commit(&tx, "image-record-commit", err);
    store_tx_done(&tx);
    return r;
}

int images_add_names(struct store *s, const struct image_record *img, struct crib_err *err)
{
    struct store_tx tx;
    int r = store_tx_begin(s, true, &tx, err);

    if (r < 0)
        return r;
    r = add_names(&tx, img, err);
    if (r >= 0)
        r = store_tx_commit(&tx, "image-names-commit", err);
    store_tx_done(&tx);
    return r;
}

static int load_layers(struct store_tx *tx, struct image_record *img, struct crib_err *err)
{
    _cleanup_sqlite_stmt_ sqlite3_stmt *st = NULL;
    int r = store_prepare(tx,
                          "SELECT l.chain_id, l.diff_id, l.size, l.inodes FROM image_layers il "
                          "JOIN layers l ON l.chain_id = il.chain_id WHERE il.image_id = ?1 "
                          "ORDER BY il.idx",
                          &st, err);
    int rc;

    if (r < 0)
        return r;
    sqlite3_bind_text(st, 1, img->id, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct image_layer *l;

        img->layers = xrealloc(img->layers, (img->n_layers + 1) * sizeof(*img->layers));
        l = &img->layers[img->n_layers++];
        l->chain_id = xstrdup((const char *)sqlite3_column_text(st, 0));
        l->diff_id = xstrdup((const char *)sqlite3_column_text(st, 1));
        l->size = sqlite3_column_int64(st, 2);
        l->inodes = sqlite3_column_int64(st, 3);
    }
    return rc == SQLITE_DONE ? 0 : store_fail(tx, "read layers", err);
}

static int load_image(struct store_tx *tx, const char *id, struct image_record **ret,
                      struct crib_err *err)
{
    _cleanup_sqlite_stmt_ sqlite3_stmt *st = NULL;
    _cleanup_(image_record_freep) struct image_record *img = NULL;
    int r = store_prepare(
        tx, "SELECT manifest_digest, size, pulled_ns, pinned, user FROM images WHERE id = ?1", &st,
        err);

    if (r < 0)
        return r;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    r = sqlite3_step(st);
    if (r == SQLITE_DONE)
        return crib_fail(err, CRIB_NOT_FOUND, ENOENT, "image %s", id);
    if (r != SQLITE_ROW)
        return store_fail(tx, "read image", err);
    img = xcalloc(1, sizeof(*img));
    img->id = xstrdup(id);
    img->manifest_digest = xstrdup((const char *)sqlite3_column_text(st, 0));
    img->size = sqlite3_column_int64(st, 1);
    img->pulled_ns = sqlite3_column_int64(st, 2);
    img->pinned = sqlite3_column_int(st, 3) != 0;
    if (sqlite3_column_type(st, 4) == SQLITE_TEXT)
        img->user = xstrdup((const char *)sqlite3_column_text(st, 4));
    r = query_strv(
        tx, "SELECT name FROM image_names WHERE image_id = ?1 AND is_digest = 0 ORDER BY name",
        (const char *[]){id}, 1, &img->tags, &img->n_tags, err);
    if (r >= 0)
        r = query_strv(
            tx, "SELECT name FROM image_names WHERE image_id = ?1 AND is_digest = 1 ORDER BY name",
            (const char *[]){id}, 1, &img->digests, &img->n_digests, err);
    if (r >= 0)
        r = load_layers(tx, img, err);
    if (r < 0)
        return r;
    *ret = TAKE_PTR(img);
    return 0;
}

/* The ID that key names, trying full ID, names, then prefix. */
static int resolve_id(struct store_tx *tx, const char *const *names, size_t n_names,
                      const char *id_prefix, char **ret_id, struct crib_err *err)
{
    char **v = NULL;
    size_t n = 0;
    int r;

    for (size_t i = 0; i < n_names && n == 0; i++) {
        r = query_strv(tx, "SELECT image_id FROM image_names WHERE name = ?1", &names[i], 1, &v, &n,
                       err);
        if (r < 0)
            return r;
    }
    if (n == 0 && id_prefix) {
        _cleanup_free_ char *pattern = xasprintf("sha256:%s*", id_prefix);

        r = query_strv(tx, "SELECT id FROM images WHERE id GLOB ?1 LIMIT 2",
                       (const char *[]){pattern}, 1, &v, &n, err);
        if (r < 0)
            return r;
        if (n > 1) {
            images_strv_free(v, n);
            return crib_fail(err, CRIB_INVALID, 0, "image ID prefix '%s' matches several images",
                             id_prefix);
        }
    }
    if (n == 0)
        return crib_fail(err, CRIB_NOT_FOUND, ENOENT, "no such image");
    *ret_id = xstrdup(v[0]);
    images_strv_free(v, n);
    return 0;
}

int images_find(struct store *s, const char *const *names, size_t n_names, const char *id_prefix,
                struct image_record **ret_image, struct crib_err *err)
{
    _cleanup_free_ char *id = NULL;
    struct store_tx tx;
    int r = store_tx_begin(s, false, &tx, err);

    if (r < 0)
        return r;
    r = resolve_id(&tx, names, n_names, id_prefix, &id, err);
    if (r >= 0)
        r = load_image(&tx, id, ret_image, err);
    store_tx_done(&tx);
    return r;
}

int images_list(struct store *s, struct image_record ***ret_images, size_t *ret_n,
                struct crib_err *err)
{
    struct image_record **list = NULL;
    struct store_tx tx;
    char **ids = NULL;
    size_t n = 0, got = 0;
    int r = store_tx_begin(s, false, &tx, err);

    if (r < 0)
        return r;
    r = query_strv(&tx, "SELECT id FROM images ORDER BY id", NULL, 0, &ids, &n, err);
    if (r >= 0)
        list = xcalloc(n ? n : 1, sizeof(*list));
    for (size_t i = 0; r >= 0 && i < n; i++, got++)
        r = load_image(&tx, ids[i], &list[i], err);
    store_tx_done(&tx);
    images_strv_free(ids, n);
    if (r < 0) {
        for (size_t i = 0; i < got; i++)
            image_record_free(list[i]);
        free(list);
        return r;
    }
    *ret_images = list;
    *ret_n = n;
    return 0;
}

int images_remove(struct store *s, const char *id, char ***ret_orphans, size_t *ret_n,
                  struct crib_err *err)
{
    static const char orphans_sql[] =
        "SELECT chain_id FROM layers WHERE chain_id NOT IN (SELECT chain_id FROM image_layers)";
    struct store_tx tx;
    char **orphans = NULL;
    size_t n = 0;
    int r = store_tx_begin(s, true, &tx, err);

    if (r < 0)
        return r;
    r = exec_params(&tx, "DELETE FROM images WHERE id = ?1", (const char *[]){id}, 1, NULL, 0, err);
    if (r >= 0 && sqlite3_changes(tx.db) == 0)
        r = crib_fail(err, CRIB_NOT_FOUND, ENOENT, "image %s", id);
    if (r >= 0)
        r = query_strv(&tx, orphans_sql, NULL, 0, &orphans, &n, err);
    if (r >= 0)
        r = exec_params(
            &tx, "DELETE FROM layers WHERE chain_id NOT IN (SELECT chain_id FROM image_layers)",
            NULL, 0, NULL, 0, err);
    if (r >= 0)
        r = store_tx_commit(&tx, "image-remove-commit", err);
    store_tx_done(&tx);
    if (r < 0) {
        images_strv_free(orphans, n);
        return r;
    }
    *ret_orphans = orphans;
    *ret_n = n;
    return 0;
}

int images_layer_info(struct store *s, const char *chain_id, bool *ret_found, int64_t *ret_size,
                      int64_t *ret_inodes, struct crib_err *err)
{
    _cleanup_sqlite_stmt_ sqlite3_stmt *st = NULL;
    struct store_tx tx;
    int r = store_tx_begin(s, false, &tx, err), rc;

    if (r < 0)
        return r;
    r = store_prepare(&tx, "SELECT size, inodes FROM layers WHERE chain_id = ?1", &st, err);
    if (r >= 0) {
        sqlite3_bind_text(st, 1, chain_id, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        *ret_found = rc == SQLITE_ROW;
        if (*ret_found) {
            *ret_size = sqlite3_column_int64(st, 0);
            *ret_inodes = sqlite3_column_int64(st, 1);
        } else if (rc != SQLITE_DONE) {
            r = store_fail(&tx, "read layer", err);
        }
    }
    sqlite3_finalize(TAKE_PTR(st));
    store_tx_done(&tx);
    return r;
}

static int read_all(struct store *s, const char *sql, char ***ret, size_t *ret_n,
                    struct crib_err *err)
{
    struct store_tx tx;
    int r = store_tx_begin(s, false, &tx, err);

    if (r < 0)
        return r;
    r = query_strv(&tx, sql, NULL, 0, ret, ret_n, err);
    store_tx_done(&tx);
    return r;
}

int images_known_layers(struct store *s, char ***ret_ids, size_t *ret_n, struct crib_err *err)
{
    return read_all(s, "SELECT chain_id FROM layers", ret_ids, ret_n, err);
}

int images_known_blobs(struct store *s, char ***ret_digests, size_t *ret_n, struct crib_err *err)
{
    return read_all(s, "SELECT id FROM images UNION SELECT manifest_digest FROM images",
                    ret_digests, ret_n, err);
}

int images_usage(struct store *s, int64_t *ret_bytes, int64_t *ret_inodes, struct crib_err *err)
{
    _cleanup_sqlite_stmt_ sqlite3_stmt *st = NULL;
    struct store_tx tx;
    int r = store_tx_begin(s, false, &tx, err);

    if (r < 0)
        return r;
    r = store_prepare(&tx, "SELECT COALESCE(SUM(size), 0), COALESCE(SUM(inodes), 0) FROM layers",
                      &st, err);
    if (r >= 0 && sqlite3_step(st) == SQLITE_ROW) {
        *ret_bytes = sqlite3_column_int64(st, 0);
        *ret_inodes = sqlite3_column_int64(st, 1);
    } else if (r >= 0) {
        r = store_fail(&tx, "sum layers", err);
    }
    sqlite3_finalize(TAKE_PTR(st));
    store_tx_done(&tx);
    return r;
}
