/* chat_msg.c: the message model, its JSON, and input validation.
 *
 * Inbound frames are untrusted and parsed with json-c under a depth limit; outbound messages
 * are written by hand into the caller's buffer, because the relay encodes one per broadcast
 * and json-c would allocate a tree per message. UTF-8 is validated here rather than trusted
 * to the parser: overlong forms, surrogates, values above U+10FFFF and truncated sequences are
 * all rejected. Thread: every function is reentrant. */
#include "chat_msg.h"
#include "chat_id.h"

#include <apr_strings.h>
#include <json-c/json.h>
#include <string.h>
#include <strings.h>

/* json-c before 0.14 lacks UTF-8 validation (ours runs anyway) and before 0.15 the parse-end
 * accessor; configure accepts 0.13. */
#ifndef JSON_TOKENER_VALIDATE_UTF8
#define JSON_TOKENER_VALIDATE_UTF8 0
#endif
#if JSON_C_VERSION_NUM < ((0 << 16) | (15 << 8))
#define json_tokener_get_parse_end(tok) ((size_t)(tok)->char_offset)
#endif

static const char *const type_names[] = { "chat", "system", "join", "leave" };

const char *chat_msg_type_name(chat_msg_type_e type)
{
    if ((int)type < CHAT_MSG_CHAT || (int)type > CHAT_MSG_LEAVE) {
        return "chat";
    }
    return type_names[type];
}

apr_status_t chat_msg_type_parse(const char *name, chat_msg_type_e *out)
{
    for (int i = CHAT_MSG_CHAT; i <= CHAT_MSG_LEAVE; i++) {
        if (name != NULL && strcmp(name, type_names[i]) == 0) {
            *out = (chat_msg_type_e)i;
            return APR_SUCCESS;
        }
    }
    return CHAT_EBAD_TYPE;
}

/* ---- UTF-8 ---------------------------------------------------------------------------- */

apr_size_t chat_msg_utf8_decode(const unsigned char *s, apr_size_t len, apr_uint32_t *cp)
{
    apr_uint32_t c = s[0];
    apr_uint32_t min;
    apr_size_t n;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2, c &= 0x1F, min = 0x80;
    }
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3, c &= 0x0F, min = 0x800;
    }
    else if (c >= 0xF0 && c <= 0xF4) {
        n = 4, c &= 0x07, min = 0x10000;
    }
    else {
        return 0;   /* continuation byte, C0/C1 (always overlong) or F5..FF */
    }
    if (len < n) {
        return 0;
    }
    for (apr_size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            return 0;
        }
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
        return 0;
    }
    *cp = c;
    return n;
}

apr_status_t chat_msg_utf8_length(const char *s, apr_size_t len, apr_size_t *chars)
{
    const unsigned char *p = (const unsigned char *)s;
    apr_size_t count = 0;
    apr_size_t i = 0;
    apr_uint32_t cp;

    while (i < len) {
        if (p[i] < 0x80) {
            i++;
        }
        else {
            apr_size_t n = chat_msg_utf8_decode(p + i, len - i, &cp);

            if (n == 0) {
                return CHAT_EBAD_UTF8;
            }
            i += n;
        }
        count++;
    }
    *chars = count;
    return APR_SUCCESS;
}

/* ---- JSON escaping -------------------------------------------------------------------- */

static const char hex_digits[] = "0123456789abcdef";

/* The escaped form of a byte below 0x80 that needs one, into out; returns its length or 0
 * when the byte is written as itself. */
static apr_size_t escape_ascii(unsigned char c, char out[6])
{
    switch (c) {
    case '"':  out[0] = '\\'; out[1] = '"';  return 2;
    case '\\': out[0] = '\\'; out[1] = '\\'; return 2;
    case '\n': out[0] = '\\'; out[1] = 'n';  return 2;
    case '\r': out[0] = '\\'; out[1] = 'r';  return 2;
    case '\t': out[0] = '\\'; out[1] = 't';  return 2;
    case '\b': out[0] = '\\'; out[1] = 'b';  return 2;
    case '\f': out[0] = '\\'; out[1] = 'f';  return 2;
    default:
        break;
    }
    if (c >= 0x20 && c != 0x7F) {
        return 0;
    }
    memcpy(out, "\\u00", 4);
    out[4] = hex_digits[c >> 4];
    out[5] = hex_digits[c & 0xF];
    return 6;
}

apr_size_t chat_msg_json_escape(char *dst, apr_size_t cap, const char *s, apr_size_t len,
                                apr_size_t *consumed)
{
    const unsigned char *p = (const unsigned char *)s;
    apr_size_t o = 0;
    apr_size_t i = 0;

    while (i < len) {
        unsigned char c = p[i];
        const char *src;
        char esc[6];
        apr_size_t in = 1;
        apr_size_t out;
        apr_size_t run = i;

        /* Fast path: copy a run of printable ASCII that needs no escape in one go. */
        while (run < len && p[run] >= 0x20 && p[run] < 0x7F && p[run] != '"' && p[run] != '\\') {
            run++;
        }
        if (run > i) {
            apr_size_t n = run - i < cap - o ? run - i : cap - o;

            memcpy(dst + o, p + i, n);
            o += n;
            i += n;
            if (i < run) {
                break;   /* out of room */
            }
            continue;
        }
        if (c < 0x80) {
            out = escape_ascii(c, esc);
            src = out ? esc : (const char *)p + i;
            out = out ? out : 1;
        }
        else {
            apr_uint32_t cp;

            in = chat_msg_utf8_decode(p + i, len - i, &cp);
            if (in == 0) {
                in = 1;
                src = "\\ufffd";
                out = 6;
            }
            else if (cp == 0x2028 || cp == 0x2029) {
                src = cp == 0x2028 ? "\\u2028" : "\\u2029";
                out = 6;
            }
            else {
                src = (const char *)p + i;
                out = in;
            }
        }
        if (out > cap - o) {
            break;
        }
        memcpy(dst + o, src, out);
        o += out;
        i += in;
    }
    if (consumed != NULL) {
        *consumed = i;
    }
    return o;
}

/* ---- time ----------------------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static apr_int64_t days_from_civil(apr_int64_t y, unsigned m, unsigned d)
{
    apr_int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (apr_int64_t)doe - 719468;
}

static void civil_from_days(apr_int64_t z, apr_int64_t *y, unsigned *m, unsigned *d)
{
    apr_int64_t era;
    unsigned doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (apr_int64_t)yoe + era * 400 + (*m <= 2);
}

static void put_digits(char *out, unsigned v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        out[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

void chat_msg_time_format(apr_time_t t, char *buf)
{
    apr_int64_t ms = t / 1000;
    apr_int64_t days, secs, year;
    unsigned month, day;

    if (t < 0) {
        ms = 0;   /* before 1970 cannot come from our clock; keep the format valid */
    }
    if (ms > (apr_int64_t)253402300799999) {
        ms = 253402300799999;   /* 9999-12-31T23:59:59.999Z: four-digit years only */
    }
    days = ms / 86400000;
    secs = (ms % 86400000) / 1000;
    civil_from_days(days, &year, &month, &day);
    put_digits(buf, (unsigned)year, 4);
    buf[4] = '-';
    put_digits(buf + 5, month, 2);
    buf[7] = '-';
    put_digits(buf + 8, day, 2);
    buf[10] = 'T';
    put_digits(buf + 11, (unsigned)(secs / 3600), 2);
    buf[13] = ':';
    put_digits(buf + 14, (unsigned)(secs / 60 % 60), 2);
    buf[16] = ':';
    put_digits(buf + 17, (unsigned)(secs % 60), 2);
    buf[19] = '.';
    put_digits(buf + 20, (unsigned)(ms % 1000), 3);
    buf[23] = 'Z';
    buf[24] = '\0';
}

/* Reads exactly n digits at *p into *v. */
static int take_digits(const char **p, int n, unsigned *v)
{
    unsigned x = 0;

    for (int i = 0; i < n; i++) {
        if ((*p)[i] < '0' || (*p)[i] > '9') {
            return 0;
        }
        x = x * 10 + (unsigned)((*p)[i] - '0');
    }
    *p += n;
    *v = x;
    return 1;
}

static int take_char(const char **p, char a, char b)
{
    if (**p != a && **p != b) {
        return 0;
    }
    (*p)++;
    return 1;
}

static unsigned days_in_month(unsigned y, unsigned m)
{
    static const unsigned dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return m == 2 && leap ? 29 : dm[m - 1];
}

/* The offset part: "Z" or "+HH:MM"/"-HH:MM", into seconds east of UTC. */
static int take_offset(const char **p, apr_int64_t *offset)
{
    unsigned oh, om;
    int sign;

    if (take_char(p, 'Z', 'z')) {
        *offset = 0;
        return 1;
    }
    if (**p != '+' && **p != '-') {
        return 0;
    }
    sign = **p == '-' ? -1 : 1;
    (*p)++;
    if (!take_digits(p, 2, &oh) || !take_char(p, ':', ':') || !take_digits(p, 2, &om)
        || oh > 23 || om > 59) {
        return 0;
    }
    *offset = sign * (apr_int64_t)(oh * 3600 + om * 60);
    return 1;
}

apr_status_t chat_msg_time_parse(const char *s, apr_time_t *out)
{
    const char *p = s;
    unsigned y, mo, d, h, mi, se;
    apr_int64_t usec = 0, offset, secs;
    int digits = 0;

    if (s == NULL || !take_digits(&p, 4, &y) || !take_char(&p, '-', '-')
        || !take_digits(&p, 2, &mo) || !take_char(&p, '-', '-') || !take_digits(&p, 2, &d)
        || !take_char(&p, 'T', 't') || !take_digits(&p, 2, &h) || !take_char(&p, ':', ':')
        || !take_digits(&p, 2, &mi) || !take_char(&p, ':', ':') || !take_digits(&p, 2, &se)) {
        return CHAT_EBAD_FIELD;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59
        || se > 60) {
        return CHAT_EBAD_FIELD;
    }
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            if (digits < 6) {
                usec = usec * 10 + (*p - '0');
            }
            digits++;
            p++;
        }
        if (digits == 0 || digits > 9) {
            return CHAT_EBAD_FIELD;
        }
        for (int i = digits; i < 6; i++) {
            usec *= 10;
        }
    }
    if (!take_offset(&p, &offset) || *p != '\0') {
        return CHAT_EBAD_FIELD;
    }
    secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset;
    if (secs < 0) {
        return CHAT_EBAD_FIELD;
    }
    *out = (apr_time_t)(secs * APR_USEC_PER_SEC + usec);
    return APR_SUCCESS;
}

/* ---- validation ----------------------------------------------------------------------- */

static int is_control(unsigned char c)
{
    return c < 0x20 || c == 0x7F;
}

static int is_blank(const char *s, apr_size_t len)
{
    for (apr_size_t i = 0; i < len; i++) {
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') {
            return 0;
        }
    }
    return 1;
}

/* One pass over text: UTF-8 first, then C0, DEL and C1 controls (allowing \t and \n when
 * allow_ws), then the length in code points. Returns the first problem found. */
static apr_status_t check_text(const char *s, apr_size_t len, int allow_ws, apr_size_t max,
                               apr_status_t too_long)
{
    const unsigned char *p = (const unsigned char *)s;
    apr_size_t chars = 0;
    apr_size_t i = 0;
    apr_uint32_t cp;

    while (i < len) {
        unsigned char c = p[i];

        if (c < 0x80) {
            if (is_control(c) && !(allow_ws && (c == '\t' || c == '\n'))) {
                return CHAT_ECONTROL_CHAR;
            }
            i++;
        }
        else {
            apr_size_t n = chat_msg_utf8_decode(p + i, len - i, &cp);

            if (n == 0) {
                return CHAT_EBAD_UTF8;
            }
            if (cp >= 0x80 && cp <= 0x9F) {
                return CHAT_ECONTROL_CHAR;   /* C1 controls: NEL, CSI and the like */
            }
            i += n;
        }
        chars++;
    }
    return chars > max ? too_long : APR_SUCCESS;
}

apr_status_t chat_msg_validate_content(const char *s, apr_size_t len)
{
    apr_status_t rv;

    if (s == NULL || len == 0) {
        return CHAT_EEMPTY_CONTENT;
    }
    rv = check_text(s, len, 1, CHAT_MSG_MAX_CONTENT, CHAT_ECONTENT_TOO_LONG);
    if (rv == APR_SUCCESS && is_blank(s, len)) {
        rv = CHAT_EEMPTY_CONTENT;   /* whitespace only shows as an empty line */
    }
    return rv;
}

apr_status_t chat_msg_validate_username(const char *s)
{
    apr_size_t len = s != NULL ? strlen(s) : 0;
    apr_status_t rv;

    if (len == 0 || is_blank(s, len)) {
        return CHAT_EEMPTY_USERNAME;
    }
    rv = check_text(s, len, 0, CHAT_MSG_MAX_USERNAME, CHAT_EUSERNAME_TOO_LONG);
    if (rv == APR_SUCCESS && strcasecmp(s, "System") == 0) {
        rv = CHAT_ERESERVED_NAME;
    }
    return rv;
}

apr_status_t chat_msg_validate_room(const char *s)
{
    apr_size_t len = s != NULL ? strlen(s) : 0;

    if (len == 0 || len > CHAT_MSG_MAX_ROOM) {
        return CHAT_EBAD_ROOM;
    }
    for (apr_size_t i = 0; i < len; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '.' || c == '_' || c == ':' || c == '-')) {
            return CHAT_EBAD_ROOM;
        }
    }
    return APR_SUCCESS;
}

apr_status_t chat_msg_validate_userid(const char *s)
{
    apr_size_t len = s != NULL ? strlen(s) : 0;

    if (len == 0 || len > CHAT_MSG_MAX_USERID || strpbrk(s, "|/") != NULL
        || check_text(s, len, 0, CHAT_MSG_MAX_USERID, CHAT_EBAD_USERID) != APR_SUCCESS) {
        return CHAT_EBAD_USERID;
    }
    return APR_SUCCESS;
}

/* ---- decoding ------------------------------------------------------------------------- */

/* Parses buf[0..len) into a JSON object, or says why not. *root is NULL on failure. */
static apr_status_t parse_object(json_object **root, const char *buf, apr_size_t len)
{
    json_tokener *tok;
    json_object *obj;
    apr_size_t chars;
    apr_status_t rv = APR_SUCCESS;

    *root = NULL;
    if (chat_msg_utf8_length(buf, len, &chars) != APR_SUCCESS) {
        return CHAT_EBAD_UTF8;
    }
    tok = json_tokener_new_ex(CHAT_MSG_MAX_DEPTH);   /* depth guard before any parsing */
    if (tok == NULL) {
        return APR_ENOMEM;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    obj = json_tokener_parse_ex(tok, buf, (int)len);
    if (obj == NULL) {
        rv = json_tokener_get_error(tok) == json_tokener_error_depth ? CHAT_ETOO_DEEP
                                                                     : CHAT_EBAD_JSON;
    }
    else if (json_tokener_get_parse_end(tok) != len
             || !json_object_is_type(obj, json_type_object)) {
        rv = CHAT_EBAD_JSON;
    }
    if (rv == APR_SUCCESS) {
        *root = obj;
    }
    else {
        json_object_put(obj);
    }
    json_tokener_free(tok);
    return rv;
}

/* The string member key of root: APR_SUCCESS with *s and *len, APR_NOTFOUND when absent or
 * null, CHAT_EBAD_FIELD when it is not a string. */
static apr_status_t get_string(json_object *root, const char *key, const char **s,
                               apr_size_t *len)
{
    json_object *v = NULL;

    if (!json_object_object_get_ex(root, key, &v) || v == NULL) {
        return APR_NOTFOUND;
    }
    if (!json_object_is_type(v, json_type_string)) {
        return CHAT_EBAD_FIELD;
    }
    *s = json_object_get_string(v);
    *len = (apr_size_t)json_object_get_string_len(v);
    return APR_SUCCESS;
}

static apr_status_t take_nonce(json_object *root, const char **nonce, apr_pool_t *pool)
{
    const char *s;
    apr_size_t len;
    apr_status_t rv = get_string(root, "nonce", &s, &len);

    *nonce = NULL;
    if (rv == APR_NOTFOUND) {
        return APR_SUCCESS;
    }
    if (rv != APR_SUCCESS || len == 0
        || check_text(s, len, 0, CHAT_MSG_MAX_NONCE, CHAT_EBAD_NONCE) != APR_SUCCESS) {
        return CHAT_EBAD_NONCE;
    }
    *nonce = apr_pstrmemdup(pool, s, len);
    return APR_SUCCESS;
}

/* type and content of a client frame; the server sets everything else. */
static apr_status_t take_client_fields(chat_msg_t *msg, json_object *root, apr_pool_t *pool)
{
    const char *s;
    apr_size_t len;
    apr_status_t rv;

    rv = get_string(root, "type", &s, &len);
    if (rv != APR_SUCCESS) {
        return rv == APR_NOTFOUND ? CHAT_EBAD_TYPE : rv;
    }
    if (len != 4 || memcmp(s, "chat", 4) != 0) {
        return CHAT_EBAD_TYPE;
    }
    msg->type = CHAT_MSG_CHAT;
    rv = get_string(root, "content", &s, &len);
    if (rv != APR_SUCCESS) {
        return rv == APR_NOTFOUND ? CHAT_EEMPTY_CONTENT : rv;
    }
    rv = chat_msg_validate_content(s, len);
    if (rv == APR_SUCCESS) {
        msg->content = apr_pstrmemdup(pool, s, len);
    }
    return rv;
}

apr_status_t chat_msg_decode(chat_msg_t **out, const char **nonce_out, const char *buf,
                             apr_size_t len, apr_pool_t *pool)
{
    json_object *root = NULL;
    const char *nonce = NULL;
    chat_msg_t *msg;
    apr_status_t rv;

    if (nonce_out != NULL) {
        *nonce_out = NULL;
    }
    if (len > CHAT_MSG_MAX_FRAME) {
        return CHAT_EFRAME_TOO_BIG;
    }
    rv = parse_object(&root, buf, len);
    if (rv != APR_SUCCESS) {
        goto done;
    }
    /* The nonce first, so that an error frame about anything else can still carry it. */
    rv = take_nonce(root, &nonce, pool);
    if (rv != APR_SUCCESS) {
        goto done;
    }
    if (nonce_out != NULL) {
        *nonce_out = nonce;
    }
    msg = apr_pcalloc(pool, sizeof(*msg));
    rv = take_client_fields(msg, root, pool);
    if (rv == APR_SUCCESS) {
        msg->nonce = nonce;
        *out = msg;
    }
done:
    json_object_put(root);   /* NULL is fine */
    return rv;
}

/* A required string member, copied into pool. */
static apr_status_t take_required(json_object *root, const char *key, const char **out,
                                  apr_size_t *len, apr_pool_t *pool)
{
    const char *s;
    apr_status_t rv = get_string(root, key, &s, len);

    if (rv != APR_SUCCESS) {
        return CHAT_EBAD_FIELD;
    }
    *out = apr_pstrmemdup(pool, s, *len);
    return APR_SUCCESS;
}

static apr_status_t take_seq(json_object *root, apr_int64_t *seq)
{
    json_object *v = NULL;

    *seq = 0;
    if (!json_object_object_get_ex(root, "seq", &v) || v == NULL) {
        return APR_SUCCESS;
    }
    if (!json_object_is_type(v, json_type_int)) {
        return CHAT_EBAD_FIELD;
    }
    *seq = json_object_get_int64(v);
    return *seq >= 0 ? APR_SUCCESS : CHAT_EBAD_FIELD;
}

/* Every field of a stored message. System messages speak as "System", may carry no user,
 * and non-chat messages may have empty content; everything present is still validated. */
static apr_status_t take_full_fields(chat_msg_t *m, json_object *root, apr_pool_t *pool)
{
    const char *type, *ts;
    apr_size_t len, clen, ulen, nlen;
    apr_status_t rv;

    if (take_required(root, "messageId", &m->message_id, &len, pool) != APR_SUCCESS
        || take_required(root, "roomId", &m->room_id, &len, pool) != APR_SUCCESS
        || take_required(root, "type", &type, &len, pool) != APR_SUCCESS
        || take_required(root, "userId", &m->user_id, &ulen, pool) != APR_SUCCESS
        || take_required(root, "username", &m->username, &nlen, pool) != APR_SUCCESS
        || take_required(root, "content", &m->content, &clen, pool) != APR_SUCCESS
        || take_required(root, "timestamp", &ts, &len, pool) != APR_SUCCESS) {
        return CHAT_EBAD_FIELD;
    }
    if ((rv = chat_msg_type_parse(type, &m->type)) != APR_SUCCESS
        || (rv = take_seq(root, &m->seq)) != APR_SUCCESS
        || (rv = chat_msg_time_parse(ts, &m->timestamp)) != APR_SUCCESS) {
        return rv;
    }
    if (!chat_id_is_valid(m->message_id)) {
        return CHAT_EBAD_MESSAGE_ID;
    }
    if ((rv = chat_msg_validate_room(m->room_id)) != APR_SUCCESS) {
        return rv;
    }
    if (m->type == CHAT_MSG_SYSTEM) {
        if ((ulen > 0 && (rv = chat_msg_validate_userid(m->user_id)) != APR_SUCCESS)
            || (rv = check_text(m->username, nlen, 0, CHAT_MSG_MAX_USERNAME,
                                CHAT_EUSERNAME_TOO_LONG)) != APR_SUCCESS) {
            return rv;
        }
    }
    else if ((rv = chat_msg_validate_userid(m->user_id)) != APR_SUCCESS
             || (rv = chat_msg_validate_username(m->username)) != APR_SUCCESS) {
        return rv;
    }
    if (m->type == CHAT_MSG_CHAT || clen > 0) {
        rv = chat_msg_validate_content(m->content, clen);
    }
    return rv;
}

apr_status_t chat_msg_decode_full(chat_msg_t **out, const char *buf, apr_size_t len,
                                  apr_pool_t *pool)
{
    json_object *root = NULL;
    chat_msg_t *msg;
    apr_status_t rv;

    rv = parse_object(&root, buf, len);
    if (rv == CHAT_ETOO_DEEP) {
        rv = CHAT_EBAD_JSON;   /* a stored message is flat; deeper is simply not one */
    }
    if (rv != APR_SUCCESS) {
        goto done;
    }
    msg = apr_pcalloc(pool, sizeof(*msg));
    rv = take_full_fields(msg, root, pool);
    if (rv == APR_SUCCESS) {
        *out = msg;
    }
done:
    json_object_put(root);
    return rv;
}

/* ---- encoding (hot: once per broadcast, no allocation) -------------------------------- */

typedef struct {
    char *buf;
    apr_size_t cap;   /* usable bytes, the NUL excluded */
    apr_size_t len;
    int full;
} writer_t;

static void put_mem(writer_t *w, const char *s, apr_size_t n)
{
    if (w->full || n > w->cap - w->len) {
        w->full = 1;
        return;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

/* Appends key (a literal with its quotes, colon and leading comma) and "value" escaped. */
static void put_member(writer_t *w, const char *key, apr_size_t klen, const char *value)
{
    apr_size_t n = value != NULL ? strlen(value) : 0;
    apr_size_t used = 0;

    put_mem(w, key, klen);
    put_mem(w, "\"", 1);
    if (!w->full) {
        w->len += chat_msg_json_escape(w->buf + w->len, w->cap - w->len, value, n, &used);
        if (used < n) {
            w->full = 1;
        }
    }
    put_mem(w, "\"", 1);
}

#define PUT_MEMBER(w, lit, value) put_member((w), lit, sizeof(lit) - 1, (value))

static void put_int64(writer_t *w, apr_int64_t v)
{
    char tmp[24];
    int i = (int)sizeof(tmp);
    apr_uint64_t u = v < 0 ? (apr_uint64_t)0 - (apr_uint64_t)v : (apr_uint64_t)v;

    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0) {
        tmp[--i] = '-';
    }
    put_mem(w, tmp + i, sizeof(tmp) - (apr_size_t)i);
}

apr_status_t chat_msg_encode(const chat_msg_t *msg, char *buf, apr_size_t cap, apr_size_t *len)
{
    char ts[CHAT_MSG_TIME_LEN + 1];
    writer_t w = { buf, cap > 0 ? cap - 1 : 0, 0, cap == 0 };

    chat_msg_time_format(msg->timestamp, ts);
    PUT_MEMBER(&w, "{\"messageId\":", msg->message_id);
    PUT_MEMBER(&w, ",\"roomId\":", msg->room_id);
    PUT_MEMBER(&w, ",\"type\":", chat_msg_type_name(msg->type));
    PUT_MEMBER(&w, ",\"userId\":", msg->user_id);
    PUT_MEMBER(&w, ",\"username\":", msg->username);
    PUT_MEMBER(&w, ",\"content\":", msg->content);
    PUT_MEMBER(&w, ",\"timestamp\":", ts);
    if (msg->seq != 0) {
        put_mem(&w, ",\"seq\":", 7);
        put_int64(&w, msg->seq);
    }
    put_mem(&w, "}", 1);
    if (w.full) {
        return APR_ENOSPC;
    }
    buf[w.len] = '\0';
    *len = w.len;
    return APR_SUCCESS;
}

static apr_size_t field_len(const char *s)
{
    return s != NULL ? strlen(s) : 0;
}

char *chat_msg_encode_pool(const chat_msg_t *msg, apr_pool_t *pool)
{
    /* Each byte escapes to at most 6; 256 covers the keys, timestamp and seq. */
    apr_size_t cap = 6 * (field_len(msg->message_id) + field_len(msg->room_id)
                          + field_len(msg->user_id) + field_len(msg->username)
                          + field_len(msg->content)) + 256;
    char *buf = apr_palloc(pool, cap);
    apr_size_t len;

    if (chat_msg_encode(msg, buf, cap, &len) != APR_SUCCESS) {
        buf[0] = '\0';   /* cannot happen: cap is an upper bound */
    }
    return buf;
}
