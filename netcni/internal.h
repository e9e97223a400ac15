/* Shared within netcni only. */
#pragma once

#include <json-c/json.h>

/* For _cleanup_(json_putp) on a json-c object. */
static inline void json_putp(struct json_object **o)
{
    if (*o)
        json_object_put(*o);
}
