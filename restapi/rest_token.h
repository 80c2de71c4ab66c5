/* rest_token.h: GET /api/token, tokens for users Apache authenticated.
 *
 * Apache does the authentication (any auth module: Basic, OIDC, Kerberos ...) and passes
 * REMOTE_USER; we sign a chat token for that user with AUTH_SECRET, valid TOKEN_TTL seconds:
 *   200 {"token","userId","expiresAt"}   (expiresAt: RFC 3339 UTC)
 *   404 when AUTH_SECRET is empty (token auth disabled)
 *   401 when no REMOTE_USER reached us (the location is not protected). No WWW-Authenticate:
 *       the challenge is Apache's to send, and a browser prompt we cannot check would mislead
 *   400 when REMOTE_USER is not a valid chat user id
 *
 * Thread: any REST thread, on its own request. */
#ifndef REST_TOKEN_H
#define REST_TOKEN_H

#include "rest_reply.h"

void rest_token_handle(rest_req_t *r);

#endif
