#include "cri/internal.h"

grpc_status_code cri_status_from_code(enum crib_code code)
{
    switch (code) {
    case CRIB_INVALID: return GRPC_STATUS_INVALID_ARGUMENT;
    case CRIB_NOT_FOUND: return GRPC_STATUS_NOT_FOUND;
    case CRIB_EXISTS: return GRPC_STATUS_ALREADY_EXISTS;
    case CRIB_STATE: return GRPC_STATUS_FAILED_PRECONDITION;
    case CRIB_TIMEOUT: return GRPC_STATUS_DEADLINE_EXCEEDED;
    case CRIB_UNAVAILABLE: return GRPC_STATUS_UNAVAILABLE;
    case CRIB_LIMIT: return GRPC_STATUS_RESOURCE_EXHAUSTED;
    case CRIB_UNIMPLEMENTED: return GRPC_STATUS_UNIMPLEMENTED;
    case CRIB_DENIED: return GRPC_STATUS_PERMISSION_DENIED;
    case CRIB_INTERNAL: break;
    }
    return GRPC_STATUS_INTERNAL;
}
