/* chat_err.h: our error codes, in one range of apr_status_t above APR_OS_START_USERERR.
 *
 * Fallible functions return apr_status_t: APR_SUCCESS, an APR/OS status, or one of the
 * CHAT_E* codes below (declared once in chat_err.def). Thread: everything here is pure. */
#ifndef CHAT_ERR_H
#define CHAT_ERR_H

#include <apr_errno.h>

/* httpd uses USERERR+2000..2999; we take the next thousand. */
#define CHAT_ERRSPACE_START (APR_OS_START_USERERR + 3000)

enum chat_err {
    CHAT_E__FIRST = CHAT_ERRSPACE_START,
#define CHAT_ERR(id, code, text) CHAT_E##id,
#include "chat_err.def"
#undef CHAT_ERR
    CHAT_E__END
};

/* 1 if rv is one of our codes. */
int chat_err_is_ours(apr_status_t rv);

/* The stable snake_case code clients see in error frames ("content_too_long"), or
 * "internal" for a status that is not ours. Static storage. */
const char *chat_err_code(apr_status_t rv);

/* A human-readable message. Ours come from chat_err.def; anything else from apr_strerror
 * into buf (which must hold bufsize bytes). Returns a static string or buf. */
const char *chat_err_str(apr_status_t rv, char *buf, apr_size_t bufsize);

#endif
