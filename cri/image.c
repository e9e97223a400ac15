/* ImageService: PullImage, ListImages, StreamImages, ImageStatus,
 * RemoveImage, ImageFsInfo. */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "cri/internal.h"
#include "oci/container.h"
#include "imagestore/imagestore.h"

/* StreamImages sends the list in messages of at most this many images. */
#define CRI_IMAGES_PER_MESSAGE 256

static int need_image(const Runtime__V1__ImageSpec *spec, const char *field, struct crib_err *err)
{
    if (!spec || !spec->image || !*spec->image)
        return crib_fail(err, CRIB_INVALID, 0, "%s is empty", field);
    return 0;
}

int cri_validate_image_request(const ProtobufCMessage *req, struct crib_err *err)
{
    const ProtobufCMessageDescriptor *d = req->descriptor;

    if (d == &runtime__v1__pull_image_request__descriptor)
        return need_image(((const Runtime__V1__PullImageRequest *)req)->image, "image.image", err);
    if (d == &runtime__v1__image_status_request__descriptor)
        return need_image(((const Runtime__V1__ImageStatusRequest *)req)->image, "image.image",
                          err);
    if (d == &runtime__v1__remove_image_request__descriptor)
        return need_image(((const Runtime__V1__RemoveImageRequest *)req)->image, "image.image",
                          err);
    return 0;
}

static bool call_cancelled(void *ctx)
{
    return cri_call_cancelled(ctx);
}

static void log_progress(const struct pull_progress *p, void *ctx)
{
    (void)ctx;
    log_info("pulling %s: %llu of %llu MB, %u of %u layers", p->image,
             (unsigned long long)(p->done_bytes >> 20), (unsigned long long)(p->total_bytes >> 20),
             p->layers_done, p->layers_total);
}

int cri_pull_image(struct cri_call *call, const ProtobufCMessage *req, ProtobufCMessage **ret_resp,
                   struct crib_err *err)
{
    const Runtime__V1__PullImageRequest *in = (const Runtime__V1__PullImageRequest *)req;
    const Runtime__V1__AuthConfig *a = in->auth;
    struct registry_auth auth = {0};
    struct registry_cancel cancel = {call_cancelled, call};
    struct pull_request pr = {
        .image = in->image->image, .cancel = &cancel, .progress = log_progress};
    Runtime__V1__PullImageResponse *resp;
    _cleanup_free_ char *id = NULL;
    int r;

    if (a) {
        auth = (struct registry_auth){a->username, a->password, a->auth, a->identity_token,
                                      a->registry_token};
        pr.auth = &auth;
    }
    r = imagestore_pull(call->rt->images, &pr, &id, err);
    if (r < 0)
        return r;
    resp = CRI_NEW(call, Runtime__V1__PullImageResponse, runtime__v1__pull_image_response__init);
    resp->image_ref = arena_strdup(&call->arena, id);
    *ret_resp = &resp->base;
    return 0;
}

/* The config's User as the kubelet reads it: a numeric user is a uid, a name
 * is a username; a group after ':' is not part of it. */
static void set_user(struct cri_call *call, Runtime__V1__Image *out, const char *user)
{
    size_t len = user ? strcspn(user, ":") : 0;
    char *end;
    long long uid;

    if (len == 0)
        return;
    uid = strtoll(user, &end, 10);
    if (end == user + len && uid >= 0) {
        out->uid = CRI_NEW(call, Runtime__V1__Int64Value, runtime__v1__int64_value__init);
        out->uid->value = uid;
    } else {
        out->username = arena_strndup(&call->arena, user, len);
    }
}

static Runtime__V1__Image *to_cri(struct cri_call *call, const struct image_record *img)
{
    Runtime__V1__Image *out = CRI_NEW(call, Runtime__V1__Image, runtime__v1__image__init);

    out->id = arena_strdup(&call->arena, img->id);
    out->n_repo_tags = img->n_tags;
    out->repo_tags = (char **)arena_strv(&call->arena, img->tags, img->n_tags);
    out->n_repo_digests = img->n_digests;
    out->repo_digests = (char **)arena_strv(&call->arena, img->digests, img->n_digests);
    out->size = (uint64_t)img->size;
    out->pinned = img->pinned;
    out->spec = CRI_NEW(call, Runtime__V1__ImageSpec, runtime__v1__image_spec__init);
    out->spec->image = out->id;
    set_user(call, out, img->user);
    return out;
}

static void free_records(struct image_record **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        image_record_free(list[i]);
    free(list);
}

/* The images a filter selects: all, or the one its image spec names. */
static int select_images(struct cri_call *call, const Runtime__V1__ImageFilter *filter,
                         struct image_record ***ret_list, size_t *ret_n, struct crib_err *err)
{
    struct image_record *one = NULL;
    int r;

    if (!filter || !filter->image || !filter->image->image || !*filter->image->image)
        return imagestore_list(call->rt->images, ret_list, ret_n, err);
    r = imagestore_find(call->rt->images, filter->image->image, &one, err);
    *ret_list = xcalloc(1, sizeof(**ret_list));
    *ret_n = 0;
    if (r < 0)
        return err->code == CRIB_NOT_FOUND ? 0 : r;
    (*ret_list)[(*ret_n)++] = one;
    return 0;
}

int cri_list_images(struct cri_call *call, const ProtobufCMessage *req, ProtobufCMessage **ret_resp,
                    struct crib_err *err)
{
    const Runtime__V1__ListImagesRequest *in = (const Runtime__V1__ListImagesRequest *)req;
    Runtime__V1__ListImagesResponse *resp =
        CRI_NEW(call, Runtime__V1__ListImagesResponse, runtime__v1__list_images_response__init);
    struct image_record **list;
    size_t n;
    int r = select_images(call, in->filter, &list, &n, err);

    if (r < 0)
        return r;
    resp->images = arena_alloc(&call->arena, (n ? n : 1) * sizeof(*resp->images));
    for (size_t i = 0; i < n; i++)
        resp->images[resp->n_images++] = to_cri(call, list[i]);
    free_records(list, n);
    *ret_resp = &resp->base;
    return 0;
}

int cri_stream_images(struct cri_call *call, const ProtobufCMessage *req,
                      ProtobufCMessage **ret_resp, struct crib_err *err)
{
    const Runtime__V1__StreamImagesRequest *in = (const Runtime__V1__StreamImagesRequest *)req;
    struct image_record **list = NULL;
    size_t n = 0;
    int r = select_images(call, in->filter, &list, &n, err);

    (void)ret_resp;
    for (size_t i = 0; r >= 0 && i < n; i += CRI_IMAGES_PER_MESSAGE) {
        Runtime__V1__StreamImagesResponse msg = RUNTIME__V1__STREAM_IMAGES_RESPONSE__INIT;
        Runtime__V1__Image *batch[CRI_IMAGES_PER_MESSAGE];

        for (size_t j = i; j < n && j < i + CRI_IMAGES_PER_MESSAGE; j++)
            batch[msg.n_images++] = to_cri(call, list[j]);
        msg.images = batch;
        r = cri_call_send(call, &msg.base, err);
    }
    free_records(list, n);
    return r;
}

/* Verbose ImageStatus: the config and what crib knows of the image. */
static char *verbose_info(struct cri_call *call, const struct image_record *img,
                          struct crib_err *err)
{
    _cleanup_free_ char *config = NULL;
    struct json_object *o, *spec;
    char *text;
    int r = imagestore_config(call->rt->images, img, NULL, &config, err);

    if (r < 0)
        return NULL;
    o = json_object_new_object();
    spec = json_tokener_parse(config);
    json_object_object_add(o, "id", json_object_new_string(img->id));
    json_object_object_add(o, "manifestDigest", json_object_new_string(img->manifest_digest));
    json_object_object_add(
        o, "chainID",
        json_object_new_string(img->n_layers ? img->layers[img->n_layers - 1].chain_id : ""));
    json_object_object_add(o, "size", json_object_new_int64(img->size));
    json_object_object_add(o, "pinned", json_object_new_boolean(img->pinned));
    json_object_object_add(o, "imageSpec", spec);
    text = arena_strdup(&call->arena, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return text;
}

int cri_image_status(struct cri_call *call, const ProtobufCMessage *req,
                     ProtobufCMessage **ret_resp, struct crib_err *err)
{
    const Runtime__V1__ImageStatusRequest *in = (const Runtime__V1__ImageStatusRequest *)req;
    Runtime__V1__ImageStatusResponse *resp =
        CRI_NEW(call, Runtime__V1__ImageStatusResponse, runtime__v1__image_status_response__init);
    struct image_record *img = NULL;
    int r = imagestore_find(call->rt->images, in->image->image, &img, err);

    /* An unknown image is an empty answer, not an error (CRI). */
    if (r < 0 && err->code != CRIB_NOT_FOUND)
        return r;
    if (r >= 0) {
        resp->image = to_cri(call, img);
        if (in->verbose) {
            char *info = verbose_info(call, img, err);

            if (!info) {
                image_record_free(img);
                return crib_err_ret(err);
            }
            resp->n_info = 1;
            resp->info = arena_alloc(&call->arena, sizeof(*resp->info));
            resp->info[0] = CRI_NEW(call, Runtime__V1__ImageStatusResponse__InfoEntry,
                                    runtime__v1__image_status_response__info_entry__init);
            resp->info[0]->key = "info";
            resp->info[0]->value = info;
        }
        image_record_free(img);
    }
    *ret_resp = &resp->base;
    return 0;
}

int cri_remove_image(struct cri_call *call, const ProtobufCMessage *req,
                     ProtobufCMessage **ret_resp, struct crib_err *err)
{
    const Runtime__V1__RemoveImageRequest *in = (const Runtime__V1__RemoveImageRequest *)req;
    struct image_record *img = NULL;
    bool removed = false;
    int r = imagestore_find(call->rt->images, in->image->image, &img, err);

    if (r >= 0 && ctr_image_in_use(call->rt->containers, img->id))
        r = crib_fail(err, CRIB_STATE, 0, "image %s is in use by a container", in->image->image);
    else if (r >= 0 || err->code == CRIB_NOT_FOUND)
        r = imagestore_remove(call->rt->images, in->image->image, &removed, err);
    image_record_free(img);
    if (r < 0)
        return r;
    if (removed)
        log_info("removed image %s", in->image->image);
    *ret_resp =
        &CRI_NEW(call, Runtime__V1__RemoveImageResponse, runtime__v1__remove_image_response__init)
             ->base;
    return 0;
}

static Runtime__V1__FilesystemUsage *fs_usage(struct cri_call *call, const char *mountpoint,
                                              int64_t bytes, int64_t inodes)
{
    Runtime__V1__FilesystemUsage *u =
        CRI_NEW(call, Runtime__V1__FilesystemUsage, runtime__v1__filesystem_usage__init);
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    u->timestamp = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    u->fs_id =
        CRI_NEW(call, Runtime__V1__FilesystemIdentifier, runtime__v1__filesystem_identifier__init);
    u->fs_id->mountpoint = arena_strdup(&call->arena, mountpoint);
    u->used_bytes = CRI_NEW(call, Runtime__V1__UInt64Value, runtime__v1__uint64_value__init);
    u->used_bytes->value = (uint64_t)bytes;
    u->inodes_used = CRI_NEW(call, Runtime__V1__UInt64Value, runtime__v1__uint64_value__init);
    u->inodes_used->value = (uint64_t)inodes;
    return u;
}

int cri_image_fs_info(struct cri_call *call, const ProtobufCMessage *req,
                      ProtobufCMessage **ret_resp, struct crib_err *err)
{
    Runtime__V1__ImageFsInfoResponse *resp =
        CRI_NEW(call, Runtime__V1__ImageFsInfoResponse, runtime__v1__image_fs_info_response__init);
    struct fs_usage usage;
    int64_t bytes = 0, inodes = 0;
    size_t n_layers;
    int r = imagestore_usage(call->rt->images, &usage, err);

    (void)req;
    if (r < 0)
        return r;
    r = ctr_usage(call->rt->containers, &bytes, &inodes, &n_layers, err);
    if (r < 0) {
        free(usage.mountpoint);
        return r;
    }
    resp->n_image_filesystems = 1;
    resp->image_filesystems = arena_alloc(&call->arena, sizeof(*resp->image_filesystems));
    resp->image_filesystems[0] =
        fs_usage(call, usage.mountpoint, usage.used_bytes, usage.inodes_used);
    /* Writable layers live on the same filesystem as the image layers. */
    resp->n_container_filesystems = 1;
    resp->container_filesystems = arena_alloc(&call->arena, sizeof(*resp->container_filesystems));
    resp->container_filesystems[0] = fs_usage(call, usage.mountpoint, bytes, inodes);
    free(usage.mountpoint);
    *ret_resp = &resp->base;
    return 0;
}
