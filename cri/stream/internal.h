/* Helpers shared by the streaming codecs (cri/stream/) and no one else. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Base64 text of n bytes, without NUL: 4 characters per 3 bytes, padded. */
#define STREAM_B64_LEN(n) (((n) + 2) / 3 * 4)

/* Encodes in[0..n) as padded standard base64 into out (STREAM_B64_LEN(n) + 1
 * bytes, NUL-terminated). Returns the text length. */
size_t stream_b64_encode(const uint8_t *in, size_t n, char *out);

/* Decodes strict padded standard base64 (RFC 4648 section 4: no whitespace,
 * padding required, unused bits zero) from in[0..n) into out, which may be
 * in itself: the output is never longer than the input. Returns the decoded
 * length, or -1 when in is not such base64. */
long stream_b64_decode(const char *in, size_t n, uint8_t *out);
