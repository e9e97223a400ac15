/* The method table against the protocol: every RPC of both services has one
 * row, with the right message types. */
#include "common/cleanup.h"
#include "common/testing.h"
#include "cri/internal.h"

static const ProtobufCServiceDescriptor *const services[] = {
    &runtime__v1__runtime_service__descriptor,
    &runtime__v1__image_service__descriptor,
};

static const struct cri_method *find(const char *path)
{
    for (size_t i = 0; i < cri_n_methods; i++)
        if (strcmp(cri_methods[i].path, path) == 0)
            return &cri_methods[i];
    return NULL;
}

static int test_every_rpc_has_exactly_one_row(void)
{
    size_t n = 0;

    for (size_t s = 0; s < ARRAY_SIZE(services); s++) {
        for (unsigned i = 0; i < services[s]->n_methods; i++) {
            const ProtobufCMethodDescriptor *md = &services[s]->methods[i];
            char path[256];
            const struct cri_method *m;

            snprintf(path, sizeof(path), "/%s/%s", services[s]->name, md->name);
            m = find(path);
            CHECK(m != NULL);
            if (!m)
                continue;
            CHECK(m->request == md->input);
            CHECK(m->response == md->output);
            CHECK_STR(m->name, md->name);
            CHECK(m->handler != NULL);
            n++;
        }
    }
    CHECK_INT(n, cri_n_methods);
    return 0;
}

static int test_status_mapping(void)
{
    CHECK_INT(cri_status_from_code(CRIB_INVALID), GRPC_STATUS_INVALID_ARGUMENT);
    CHECK_INT(cri_status_from_code(CRIB_NOT_FOUND), GRPC_STATUS_NOT_FOUND);
    CHECK_INT(cri_status_from_code(CRIB_EXISTS), GRPC_STATUS_ALREADY_EXISTS);
    CHECK_INT(cri_status_from_code(CRIB_STATE), GRPC_STATUS_FAILED_PRECONDITION);
    CHECK_INT(cri_status_from_code(CRIB_TIMEOUT), GRPC_STATUS_DEADLINE_EXCEEDED);
    CHECK_INT(cri_status_from_code(CRIB_UNAVAILABLE), GRPC_STATUS_UNAVAILABLE);
    CHECK_INT(cri_status_from_code(CRIB_LIMIT), GRPC_STATUS_RESOURCE_EXHAUSTED);
    CHECK_INT(cri_status_from_code(CRIB_UNIMPLEMENTED), GRPC_STATUS_UNIMPLEMENTED);
    CHECK_INT(cri_status_from_code(CRIB_DENIED), GRPC_STATUS_PERMISSION_DENIED);
    CHECK_INT(cri_status_from_code(CRIB_INTERNAL), GRPC_STATUS_INTERNAL);
    return 0;
}

TEST_MAIN(TEST(test_every_rpc_has_exactly_one_row), TEST(test_status_mapping))
