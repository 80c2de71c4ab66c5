/* chat_bucket.h: token-bucket rate limiter with an injected clock.
 *
 * capacity = burst, refilled at rate tokens per second. A rate or burst <= 0 disables the
 * limit (every take succeeds). The struct is public so it can live inline in the relay's
 * fixed-size per-connection data. Thread: owned by one thread; no locking. */
#ifndef CHAT_BUCKET_H
#define CHAT_BUCKET_H

#include <apr_time.h>

typedef struct chat_bucket_t {
    double tokens;
    double rate;          /* tokens per second */
    double burst;         /* capacity */
    apr_time_t last;      /* time of the last refill */
} chat_bucket_t;

/* Starts full. */
void chat_bucket_init(chat_bucket_t *b, double rate, double burst, apr_time_t now);

/* Takes one token at time now: 1 if allowed, 0 if rate limited. A clock that steps back
 * refills nothing. */
int chat_bucket_take(chat_bucket_t *b, apr_time_t now);

/* How long until one token is available (0 if one is now), in microseconds. */
apr_interval_time_t chat_bucket_retry_after(const chat_bucket_t *b, apr_time_t now);

/* 1 when the bucket limits anything (rate and burst both > 0). */
int chat_bucket_is_enabled(const chat_bucket_t *b);

#endif
