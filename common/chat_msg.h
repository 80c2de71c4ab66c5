/* chat_msg.h: the message model, its JSON, and input validation.
 *
 * Wire shape (the Go system's, which existing clients parse):
 *   {"messageId","roomId","type","userId","username","content","timestamp"} + "seq" (ours)
 * timestamp is RFC 3339 UTC with milliseconds ("2026-11-30T03:21:13.123Z").
 *
 * chat_msg_t is a plain value type shared by the relay, the stores and the REST app, so its
 * fields are public (like apr_finfo_t). Strings are NUL-terminated and owned by whoever owns
 * the pool they were allocated from. Thread: every function is reentrant; none keeps state. */
#ifndef CHAT_MSG_H
#define CHAT_MSG_H

#include <apr_pools.h>
#include <apr_time.h>
#include "chat_err.h"

#define CHAT_MSG_MAX_CONTENT   1000   /* Unicode characters (code points) */
#define CHAT_MSG_MAX_USERNAME  50     /* Unicode characters */
#define CHAT_MSG_MAX_FRAME     8192   /* bytes of one inbound client frame */
#define CHAT_MSG_MAX_DEPTH     4      /* JSON nesting limit for inbound frames */
#define CHAT_MSG_MAX_NONCE     64     /* characters */
#define CHAT_MSG_MAX_ROOM      64     /* bytes: [A-Za-z0-9._:-] */
#define CHAT_MSG_MAX_USERID    128    /* bytes */
#define CHAT_MSG_ID_LEN        36     /* UUID text form, see chat_id.h */
#define CHAT_MSG_TIME_LEN      24     /* "YYYY-MM-DDTHH:MM:SS.mmmZ" */
/* Upper bound of one encoded message: 6 bytes per escaped content byte plus fixed fields. */
#define CHAT_MSG_MAX_ENCODED   (6 * 4 * CHAT_MSG_MAX_CONTENT + 6 * 4 * CHAT_MSG_MAX_USERNAME \
                                + 6 * CHAT_MSG_MAX_USERID + 512)

typedef enum {
    CHAT_MSG_CHAT = 0,
    CHAT_MSG_SYSTEM,
    CHAT_MSG_JOIN,
    CHAT_MSG_LEAVE
} chat_msg_type_e;

typedef struct chat_msg_t {
    const char *message_id;   /* CHAT_MSG_ID_LEN chars, UUIDv7 (sorts by time) */
    const char *room_id;
    chat_msg_type_e type;
    const char *user_id;
    const char *username;
    const char *content;
    apr_time_t timestamp;     /* microseconds since the epoch; encoded to ms */
    apr_int64_t seq;          /* per-room sequence number; 0 = none (not encoded) */
    const char *nonce;        /* inbound frames only; NULL when absent; never stored */
} chat_msg_t;

/* "chat", "system", "join", "leave". */
const char *chat_msg_type_name(chat_msg_type_e type);
/* Parses a type name. Returns APR_SUCCESS or CHAT_EBAD_TYPE. */
apr_status_t chat_msg_type_parse(const char *name, chat_msg_type_e *out);

/* Decodes an inbound client frame. Only "type", "content" and "nonce" are taken; every other
 * member is ignored (the server sets them). The frame must be a JSON object no deeper than
 * CHAT_MSG_MAX_DEPTH and at most CHAT_MSG_MAX_FRAME bytes; type must be "chat"; content is
 * validated with chat_msg_validate_content; nonce, when present, is 1..64 printable chars.
 * On success *out (allocated from pool) has type, content and nonce set; everything else zero.
 * On failure *out is untouched and the code says why (CHAT_EBAD_JSON, CHAT_ETOO_DEEP,
 * CHAT_EFRAME_TOO_BIG, CHAT_EBAD_TYPE, CHAT_EEMPTY_CONTENT, CHAT_ECONTENT_TOO_LONG,
 * CHAT_EBAD_UTF8, CHAT_ECONTROL_CHAR, CHAT_EBAD_FIELD, CHAT_EBAD_NONCE).
 * When the frame parsed far enough to carry a nonce, *nonce_out (if not NULL) receives it even
 * on failure, so the caller can address an error frame; otherwise it is set to NULL. */
apr_status_t chat_msg_decode(chat_msg_t **out, const char **nonce_out, const char *buf,
                             apr_size_t len, apr_pool_t *pool);

/* Decodes a full message as chat_msg_encode writes it (journal, stores, tests): every field,
 * validated. messageId must pass chat_id_is_valid (CHAT_EBAD_MESSAGE_ID), "seq" is optional
 * (absent = 0). A "system" message may have an empty userId and any username (it speaks as
 * "System"); join/leave/system messages may have empty content. Returns APR_SUCCESS,
 * CHAT_EBAD_JSON, CHAT_EBAD_FIELD (missing member, wrong JSON type, bad timestamp or seq) or
 * a validation code. */
apr_status_t chat_msg_decode_full(chat_msg_t **out, const char *buf, apr_size_t len,
                                  apr_pool_t *pool);

/* Encodes msg as one line of JSON (no trailing newline) into buf of cap bytes, NUL-terminated.
 * Hot path: no allocation. *len receives the length without the NUL. Returns APR_SUCCESS or
 * APR_ENOSPC when cap is too small (CHAT_MSG_MAX_ENCODED always suffices for valid messages). */
apr_status_t chat_msg_encode(const chat_msg_t *msg, char *buf, apr_size_t cap, apr_size_t *len);

/* Same, allocated from pool. Never NULL. */
char *chat_msg_encode_pool(const chat_msg_t *msg, apr_pool_t *pool);

/* Validation. Each returns APR_SUCCESS or the code named. */
/* content: required, valid UTF-8, at most 1000 code points, no C0 or C1 control characters other
 * than \t and \n, no DEL; only whitespace counts as empty. CHAT_EEMPTY_CONTENT,
 * CHAT_EBAD_UTF8, CHAT_ECONTENT_TOO_LONG, CHAT_ECONTROL_CHAR (emptiness first, then the
 * first bad character, then the length). */
apr_status_t chat_msg_validate_content(const char *s, apr_size_t len);
/* username: required, valid UTF-8, at most 50 code points, no control characters, not
 * "System" in any case. CHAT_EEMPTY_USERNAME, CHAT_EBAD_UTF8, CHAT_EUSERNAME_TOO_LONG,
 * CHAT_ECONTROL_CHAR, CHAT_ERESERVED_NAME. */
apr_status_t chat_msg_validate_username(const char *s);
/* room: 1..64 bytes of [A-Za-z0-9._:-]. CHAT_EBAD_ROOM. */
apr_status_t chat_msg_validate_room(const char *s);
/* user id: 1..128 bytes of valid UTF-8, no control characters, no '|', no '/'. CHAT_EBAD_USERID. */
apr_status_t chat_msg_validate_userid(const char *s);

/* Counts the code points of s[0..len) into *chars. APR_SUCCESS or CHAT_EBAD_UTF8 (overlong
 * forms, surrogates, values above U+10FFFF and truncated sequences are all invalid). */
apr_status_t chat_msg_utf8_length(const char *s, apr_size_t len, apr_size_t *chars);

/* Decodes one UTF-8 sequence at s[0..len) (len > 0) into *cp. Returns its length in bytes
 * (1..4), or 0 when it is invalid (overlong, surrogate, above U+10FFFF, truncated, stray
 * continuation byte). */
apr_size_t chat_msg_utf8_decode(const unsigned char *s, apr_size_t len, apr_uint32_t *cp);

/* Writes s[0..len) JSON-escaped (no surrounding quotes, no NUL) into dst, at most cap bytes.
 * Escapes '"', '\\', the C0 controls (\n \r \t \b \f, others as \u00XX), DEL and U+2028/U+2029;
 * invalid UTF-8 bytes become \ufffd, so the output is always valid JSON. Stops before the
 * first character whose escaped form does not fit. Returns the bytes written; *consumed (if
 * not NULL) receives how many input bytes were consumed (len when everything fit). */
apr_size_t chat_msg_json_escape(char *dst, apr_size_t cap, const char *s, apr_size_t len,
                                apr_size_t *consumed);

/* Formats t as RFC 3339 UTC with milliseconds into buf (CHAT_MSG_TIME_LEN + 1 bytes). */
void chat_msg_time_format(apr_time_t t, char *buf);
/* Parses RFC 3339 ("Z" or a numeric offset, 0-9 fractional digits). APR_SUCCESS or
 * CHAT_EBAD_FIELD. */
apr_status_t chat_msg_time_parse(const char *s, apr_time_t *out);

#endif
