/* rest_route.h: from a request line to a handler.
 *
 * The route table maps path patterns ("/api/rooms/{id}/messages") to handlers and the methods
 * they allow. GET and HEAD run the handler, OPTIONS answers the CORS preflight (204), any other
 * method gets 405 with Allow, an unknown path 404. The {id} segment is percent-decoded here
 * (a malformed escape, an encoded NUL or '/' is a 400); the handler validates what it means.
 *
 * Thread: any REST thread, on its own request. */
#ifndef REST_ROUTE_H
#define REST_ROUTE_H

#include "rest_reply.h"

/* Parses QUERY_STRING (a=1&b=x%20y, '+' as space) into r->query; sets r->query_bad when an
 * escape is malformed or decodes to NUL. */
void rest_route_parse_query(rest_req_t *r, const char *qs);

/* Percent-decodes one path segment into *out (from pool). APR_SUCCESS, or APR_EINVAL for a
 * malformed escape and APR_BADCH for an encoded NUL or '/'. */
apr_status_t rest_route_decode_segment(const char *seg, apr_size_t len, char **out,
                                       apr_pool_t *pool);

/* Routes r (method, path, query already set) and fills in its reply. */
void rest_route_handle(rest_req_t *r);

#endif
