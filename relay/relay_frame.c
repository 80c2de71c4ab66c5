/* relay_frame.c: reference-counted encoded messages (see relay_frame.h).
 *
 * Thread: lws service thread only; nothing here blocks. */
#include "relay_frame.h"

#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

relay_frame_t *relay_frame_create(const char *json, apr_size_t len)
{
    relay_frame_t *f = malloc(sizeof(*f) + LWS_PRE + len + 1);

    if (f == NULL) {
        return NULL;
    }
    memset(f, 0, sizeof(*f));
    f->refs = 1;
    f->len = len;
    memcpy(f->buf + LWS_PRE, json, len);
    f->buf[LWS_PRE + len] = '\0';
    return f;
}

relay_frame_t *relay_frame_encode(const chat_msg_t *msg, char *enc)
{
    relay_frame_t *f;
    apr_size_t len = 0;

    if (chat_msg_encode(msg, enc, CHAT_MSG_MAX_ENCODED + 1, &len) != APR_SUCCESS) {
        return NULL;
    }
    f = relay_frame_create(enc, len);
    if (f != NULL) {
        f->seq = msg->seq;
        if (msg->message_id != NULL) {
            apr_cpystrn(f->message_id, msg->message_id, sizeof(f->message_id));
        }
    }
    return f;
}

void relay_frame_unref(relay_frame_t *f)
{
    if (f != NULL && --f->refs == 0) {
        free(f);
    }
}

apr_uint64_t relay_frame_nonce_key(const char *user_id, const char *nonce)
{
    apr_uint64_t h = 14695981039346656037ULL;
    const unsigned char *p;

    for (p = (const unsigned char *)user_id; *p; p++) {
        h = (h ^ *p) * 1099511628211ULL;
    }
    h = (h ^ 0) * 1099511628211ULL;
    for (p = (const unsigned char *)nonce; *p; p++) {
        h = (h ^ *p) * 1099511628211ULL;
    }
    return h == 0 ? 1 : h;
}
