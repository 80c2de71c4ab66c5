/* chat_err.c: names and messages of our error codes (chat_err.def).
 *
 * Thread: pure; the tables are constant. */
#include "chat_err.h"

#include <apr_strings.h>

static const char *const err_codes[] = {
#define CHAT_ERR(id, code, text) code,
#include "chat_err.def"
#undef CHAT_ERR
};

static const char *const err_texts[] = {
#define CHAT_ERR(id, code, text) text,
#include "chat_err.def"
#undef CHAT_ERR
};

int chat_err_is_ours(apr_status_t rv)
{
    return rv > CHAT_E__FIRST && rv < CHAT_E__END;
}

const char *chat_err_code(apr_status_t rv)
{
    if (!chat_err_is_ours(rv)) {
        return "internal";
    }
    return err_codes[rv - CHAT_E__FIRST - 1];
}

const char *chat_err_str(apr_status_t rv, char *buf, apr_size_t bufsize)
{
    if (chat_err_is_ours(rv)) {
        return err_texts[rv - CHAT_E__FIRST - 1];
    }
    if (buf == NULL || bufsize == 0) {
        return "error";
    }
    return apr_strerror(rv, buf, bufsize);
}
