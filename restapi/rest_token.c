/* rest_token.c: minting tokens for Apache-authenticated users (see rest_token.h).
 * The token itself never reaches a log line. Thread: any REST thread. */
#include "rest_token.h"

#include "chat_token.h"

void rest_token_handle(rest_req_t *r)
{
    const chat_config_t *cfg = r->ctx->cfg;
    const char *user = r->remote_user;
    const char *name = NULL;
    char *token = NULL;
    char ts[CHAT_MSG_TIME_LEN + 1];
    apr_int64_t expiry;
    apr_status_t rv;

    if (cfg->auth_secret == NULL || cfg->auth_secret[0] == '\0') {
        rest_reply_error(r, 404, "token authentication is disabled (AUTH_SECRET is not set)");
        return;
    }
    if (user == NULL || user[0] == '\0') {
        rest_reply_error(r, 401, "not authenticated: protect /api/token with an Apache "
                         "auth module");
        return;
    }
    if (chat_msg_validate_userid(user) != APR_SUCCESS) {
        rest_reply_error(r, 400, "the authenticated user name is not a valid chat user id");
        return;
    }
    if (chat_msg_validate_username(user) == APR_SUCCESS) {
        name = user;                /* the login doubles as the display name when it can */
    }
    expiry = apr_time_sec(r->now) + cfg->token_ttl_s;
    rv = chat_token_sign(cfg->auth_secret, user, expiry, name, &token, r->pool);
    if (rv != APR_SUCCESS) {
        char buf[128];

        CHAT_LOG(r->ctx->log, CHAT_LOG_ERROR, "token signing failed",
                 "err", chat_err_str(rv, buf, sizeof(buf)));
        rest_reply_error(r, 500, "could not sign a token");
        return;
    }
    chat_msg_time_format(apr_time_from_sec(expiry), ts);
    rest_reply_start(r, 200, REST_JSON);
    rest_buf_puts(&r->body, "{\"token\":");
    rest_buf_json_str(&r->body, token);
    rest_buf_puts(&r->body, ",\"userId\":");
    rest_buf_json_str(&r->body, user);
    rest_buf_puts(&r->body, ",\"expiresAt\":");
    rest_buf_json_str(&r->body, ts);
    rest_buf_puts(&r->body, "}\n");
}
