/* fuzz_token.c: libFuzzer harness for bearer tokens (common/chat_token.c).
 *
 * The first byte picks how the rest is used:
 *   even: the bytes are a token as a client sends it (?token=, Authorization, the protocol
 *         header) and go to chat_token_verify as they are; almost all stop at the signature;
 *   odd:  the bytes are a payload that the harness signs with the test secret, so the payload
 *         parser behind the signature check (user id, expiry, name) is reached with any bytes.
 * Properties: verify never accepts a token under another secret; a verified token's claims
 * re-sign (chat_token_sign) to a token that verifies to the same claims; base64url decoding
 * is canonical (decode then encode gives the input back). */
#include "fuzz_common.h"

#include <apr_strings.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>
#include "chat_msg.h"
#include "chat_token.h"

#define SECRET "fuzz-secret-0123456789"
#define NOW apr_time_from_sec(1700000000)

static const char *signed_token(const uint8_t *payload, size_t len, apr_pool_t *pool)
{
    unsigned char mac[32];
    unsigned int maclen = sizeof(mac);

    HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), payload, len, mac, &maclen);
    return apr_pstrcat(pool, chat_token_b64url_encode(payload, len, pool), ".",
                       chat_token_b64url_encode(mac, maclen, pool), NULL);
}

static void check_verify(const char *token, apr_pool_t *pool)
{
    chat_token_claims_t claims, again;
    char *resigned = NULL;
    apr_status_t rv;

    memset(&claims, 0, sizeof(claims));
    rv = chat_token_verify(SECRET, token, NOW, &claims, pool);
    FUZZ_CHECK(chat_token_verify("another-secret", token, NOW, &again, pool) != APR_SUCCESS);
    FUZZ_CHECK(chat_token_verify("", token, NOW, &again, pool) != APR_SUCCESS);
    if (rv != APR_SUCCESS) {
        return;
    }
    FUZZ_CHECK(claims.user_id != NULL && chat_msg_validate_userid(claims.user_id) == APR_SUCCESS);
    FUZZ_CHECK(claims.expiry > apr_time_sec(NOW));
    FUZZ_CHECK(claims.name == NULL || chat_msg_validate_username(claims.name) == APR_SUCCESS);
    FUZZ_CHECK(chat_token_sign(SECRET, claims.user_id, claims.expiry, claims.name, &resigned,
                               pool) == APR_SUCCESS);
    FUZZ_CHECK(chat_token_verify(SECRET, resigned, NOW, &again, pool) == APR_SUCCESS);
    FUZZ_CHECK(strcmp(again.user_id, claims.user_id) == 0 && again.expiry == claims.expiry);
    FUZZ_CHECK((again.name == NULL) == (claims.name == NULL)
               && (claims.name == NULL || strcmp(again.name, claims.name) == 0));
}

static void check_b64url(const char *s, size_t len, apr_pool_t *pool)
{
    unsigned char *out = NULL;
    apr_size_t outlen = 0;

    if (chat_token_b64url_decode(s, len, &out, &outlen, pool) == APR_SUCCESS) {
        FUZZ_CHECK(strcmp(chat_token_b64url_encode(out, outlen, pool), s) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *pool = fuzz_pool();

    if (size == 0 || size > 4096) {
        return 0;
    }
    if (data[0] % 2 == 0) {
        char *token = fuzz_strdup(data + 1, size - 1);

        check_verify(token, pool);
        if (strlen(token) == size - 1) {
            check_b64url(token, size - 1, pool);
        }
        free(token);
    }
    else {
        check_verify(signed_token(data + 1, size - 1, pool), pool);
    }
    fuzz_pool_done(pool);
    return 0;
}
