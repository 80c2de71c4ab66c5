/* chat_bucket.c: token-bucket rate limiter with an injected clock.
 *
 * The bucket holds up to burst tokens and gains rate tokens per second of elapsed time; each
 * message takes one. Time comes from the caller, so tests drive it and nothing here reads a
 * clock. Thread: a bucket belongs to one thread. */
#include "chat_bucket.h"

void chat_bucket_init(chat_bucket_t *b, double rate, double burst, apr_time_t now)
{
    b->rate = rate;
    b->burst = burst;
    b->tokens = burst > 0 ? burst : 0;
    b->last = now;
}

int chat_bucket_is_enabled(const chat_bucket_t *b)
{
    return b->rate > 0 && b->burst > 0;
}

/* Adds what elapsed since b->last; a clock that steps back only moves last. */
static void refill(chat_bucket_t *b, apr_time_t now)
{
    if (now > b->last) {
        b->tokens += (double)(now - b->last) * b->rate / (double)APR_USEC_PER_SEC;
        if (b->tokens > b->burst) {
            b->tokens = b->burst;
        }
    }
    b->last = now;
}

int chat_bucket_take(chat_bucket_t *b, apr_time_t now)
{
    if (!chat_bucket_is_enabled(b)) {
        return 1;
    }
    refill(b, now);
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        return 1;
    }
    return 0;
}

apr_interval_time_t chat_bucket_retry_after(const chat_bucket_t *b, apr_time_t now)
{
    double tokens = b->tokens;
    double missing;

    if (!chat_bucket_is_enabled(b)) {
        return 0;
    }
    if (now > b->last) {
        tokens += (double)(now - b->last) * b->rate / (double)APR_USEC_PER_SEC;
    }
    if (tokens >= 1.0) {
        return 0;
    }
    missing = 1.0 - tokens;
    /* Round up so that waiting the returned time is always enough. */
    return (apr_interval_time_t)(missing * (double)APR_USEC_PER_SEC / b->rate) + 1;
}
