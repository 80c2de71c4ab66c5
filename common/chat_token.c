/* chat_token.c: HMAC-SHA256 bearer tokens in the Go system's format.
 *
 *   base64url(payload) "." base64url(HMAC-SHA256(secret, payload)),  no padding
 *   payload = userId "|" expiryUnixSeconds [ "|" displayName ]
 *
 * Verification decodes both halves strictly (canonical base64url only, so one signature has
 * one spelling), recomputes the MAC over the payload bytes as sent and compares in constant
 * time before reading anything in the payload. Thread: pure, reentrant. */
#include "chat_token.h"
#include "chat_msg.h"

#include <apr_strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#define MAC_LEN 32

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *chat_token_b64url_encode(const unsigned char *data, apr_size_t len, apr_pool_t *pool)
{
    char *out = apr_palloc(pool, (len + 2) / 3 * 4 + 1);
    char *p = out;
    apr_size_t i = 0;

    for (; i + 3 <= len; i += 3) {
        apr_uint32_t v = (apr_uint32_t)data[i] << 16 | (apr_uint32_t)data[i + 1] << 8 | data[i + 2];

        *p++ = b64url_alphabet[v >> 18];
        *p++ = b64url_alphabet[(v >> 12) & 63];
        *p++ = b64url_alphabet[(v >> 6) & 63];
        *p++ = b64url_alphabet[v & 63];
    }
    if (len - i == 1) {
        *p++ = b64url_alphabet[data[i] >> 2];
        *p++ = b64url_alphabet[(data[i] & 3) << 4];
    }
    else if (len - i == 2) {
        apr_uint32_t v = (apr_uint32_t)data[i] << 8 | data[i + 1];

        *p++ = b64url_alphabet[v >> 10];
        *p++ = b64url_alphabet[(v >> 4) & 63];
        *p++ = b64url_alphabet[(v & 15) << 2];
    }
    *p = '\0';
    return out;
}

static int b64url_value(char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '-') {
        return 62;
    }
    if (c == '_') {
        return 63;
    }
    return -1;
}

apr_status_t chat_token_b64url_decode(const char *s, apr_size_t slen, unsigned char **out,
                                      apr_size_t *outlen, apr_pool_t *pool)
{
    unsigned char *buf;
    apr_size_t n = 0;
    apr_uint32_t acc = 0;
    int bits = 0;

    if (slen % 4 == 1) {
        return CHAT_ETOKEN_MALFORMED;   /* no byte count encodes to this many characters */
    }
    buf = apr_palloc(pool, slen / 4 * 3 + 3);
    for (apr_size_t i = 0; i < slen; i++) {
        int v = b64url_value(s[i]);

        if (v < 0) {
            return CHAT_ETOKEN_MALFORMED;   /* includes '=' padding and the '+' '/' alphabet */
        }
        acc = (acc << 6) | (apr_uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[n++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) {
        return CHAT_ETOKEN_MALFORMED;   /* non-canonical: leftover bits must be zero */
    }
    *out = buf;
    *outlen = n;
    return APR_SUCCESS;
}

static void mac_payload(const char *secret, const void *payload, apr_size_t len,
                        unsigned char mac[MAC_LEN])
{
    unsigned int maclen = MAC_LEN;

    HMAC(EVP_sha256(), secret, (int)strlen(secret), payload, len, mac, &maclen);
}

apr_status_t chat_token_sign(const char *secret, const char *user_id, apr_int64_t expiry,
                             const char *name, char **out, apr_pool_t *pool)
{
    unsigned char mac[MAC_LEN];
    char *payload;
    apr_status_t rv;

    if (secret == NULL || *secret == '\0') {
        return CHAT_ETOKEN_MISSING;
    }
    if ((rv = chat_msg_validate_userid(user_id)) != APR_SUCCESS) {
        return rv;
    }
    if (name != NULL && (rv = chat_msg_validate_username(name)) != APR_SUCCESS) {
        return rv;
    }
    if (expiry < 0) {
        return APR_EINVAL;
    }
    payload = name != NULL
                  ? apr_psprintf(pool, "%s|%" APR_INT64_T_FMT "|%s", user_id, expiry, name)
                  : apr_psprintf(pool, "%s|%" APR_INT64_T_FMT, user_id, expiry);
    mac_payload(secret, payload, strlen(payload), mac);
    *out = apr_pstrcat(pool, chat_token_b64url_encode((unsigned char *)payload,
                                                      strlen(payload), pool),
                       ".", chat_token_b64url_encode(mac, MAC_LEN, pool), NULL);
    return APR_SUCCESS;
}

/* Strict unsigned decimal that fits in apr_int64_t. */
static int parse_expiry(const char *s, apr_size_t len, apr_int64_t *out)
{
    apr_int64_t v = 0;

    if (len == 0 || len > 18) {
        return 0;   /* 18 digits cannot overflow; expiries that far out are not real */
    }
    for (apr_size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

/* userId "|" expiry [ "|" name ], already authenticated. */
static apr_status_t parse_payload(const char *p, apr_size_t len, apr_time_t now,
                                  chat_token_claims_t *claims, apr_pool_t *pool)
{
    const char *bar1 = memchr(p, '|', len);
    const char *exp, *bar2;
    const char *name = NULL;
    apr_size_t exp_len;
    apr_int64_t expiry;
    char *user;

    if (bar1 == NULL || memchr(p, '\0', len) != NULL) {
        return CHAT_ETOKEN_MALFORMED;
    }
    exp = bar1 + 1;
    bar2 = memchr(exp, '|', len - (apr_size_t)(exp - p));
    exp_len = bar2 != NULL ? (apr_size_t)(bar2 - exp) : len - (apr_size_t)(exp - p);
    if (!parse_expiry(exp, exp_len, &expiry)) {
        return CHAT_ETOKEN_MALFORMED;
    }
    if (bar2 != NULL && bar2 + 1 < p + len) {
        name = apr_pstrmemdup(pool, bar2 + 1, (apr_size_t)(p + len - bar2 - 1));
        if (chat_msg_validate_username(name) != APR_SUCCESS) {
            return CHAT_ETOKEN_MALFORMED;
        }
    }
    if (bar1 == p) {
        return CHAT_ETOKEN_EMPTY_USER;
    }
    user = apr_pstrmemdup(pool, p, (apr_size_t)(bar1 - p));
    if (chat_msg_validate_userid(user) != APR_SUCCESS) {
        return CHAT_ETOKEN_MALFORMED;
    }
    if (expiry <= apr_time_sec(now)) {
        return CHAT_ETOKEN_EXPIRED;
    }
    claims->user_id = user;
    claims->expiry = expiry;
    claims->name = name;
    return APR_SUCCESS;
}

apr_status_t chat_token_verify(const char *secret, const char *token, apr_time_t now,
                               chat_token_claims_t *claims, apr_pool_t *pool)
{
    unsigned char mac[MAC_LEN];
    unsigned char *payload, *sig;
    apr_size_t payload_len, sig_len;
    const char *dot;

    if (token == NULL || *token == '\0') {
        return CHAT_ETOKEN_MISSING;
    }
    dot = strchr(token, '.');
    if (strnlen(token, CHAT_TOKEN_MAX_LEN + 1) > CHAT_TOKEN_MAX_LEN || dot == NULL || dot == token || dot[1] == '\0' || strchr(dot + 1, '.') != NULL
        || chat_token_b64url_decode(token, (apr_size_t)(dot - token), &payload, &payload_len,
                                    pool) != APR_SUCCESS
        || chat_token_b64url_decode(dot + 1, strlen(dot + 1), &sig, &sig_len, pool)
               != APR_SUCCESS
        || sig_len != MAC_LEN) {
        return CHAT_ETOKEN_MALFORMED;
    }
    if (secret == NULL || *secret == '\0') {
        return CHAT_ETOKEN_SIGNATURE;   /* nothing verifies against an empty secret */
    }
    mac_payload(secret, payload, payload_len, mac);
    if (CRYPTO_memcmp(mac, sig, MAC_LEN) != 0) {
        return CHAT_ETOKEN_SIGNATURE;
    }
    return parse_payload((const char *)payload, payload_len, now, claims, pool);
}
