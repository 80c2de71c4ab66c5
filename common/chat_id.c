/* chat_id.c: message ids (UUIDv7) and connection ids ("client-" + UUIDv4).
 *
 * A message id is 48 bits of Unix milliseconds, the version nibble, a 12-bit counter (RFC
 * 9562 "rand_a" used as a counter, method 1), the variant and 62 random bits, written as
 * lowercase hex. Because the layout is big-endian and the hex is lowercase, comparing ids as
 * strings compares (millisecond, counter) first. The counter restarts at a small random value
 * each new millisecond; when it would overflow, or the clock stands still or steps back, the
 * generator borrows the next millisecond, so its ids strictly increase. Random bits come
 * from xorshift128+ seeded by the OS: ids need to be unique, not unguessable.
 * Thread: a generator belongs to one thread. */
#include "chat_id.h"

#include <apr_general.h>
#include <string.h>

#define COUNTER_MAX 0xFFFu

static const char hex[] = "0123456789abcdef";

apr_status_t chat_id_gen_init(chat_id_gen_t *gen)
{
    apr_status_t rv;

    memset(gen, 0, sizeof(*gen));
    rv = apr_generate_random_bytes((unsigned char *)gen->rng, sizeof(gen->rng));
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (gen->rng[0] == 0 && gen->rng[1] == 0) {
        gen->rng[1] = 0x9E3779B97F4A7C15u;   /* xorshift must not start all zero */
    }
    return APR_SUCCESS;
}

static uint64_t next_random(chat_id_gen_t *gen)
{
    uint64_t s1 = gen->rng[0];
    uint64_t s0 = gen->rng[1];

    gen->rng[0] = s0;
    s1 ^= s1 << 23;
    gen->rng[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
    return gen->rng[1] + s0;
}

/* Writes 16 bytes as 8-4-4-4-12 lowercase hex plus NUL. */
static void format_uuid(const unsigned char b[16], char *out)
{
    char *p = out;

    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            *p++ = '-';
        }
        *p++ = hex[b[i] >> 4];
        *p++ = hex[b[i] & 0xF];
    }
    *p = '\0';
}

static void put_random(chat_id_gen_t *gen, unsigned char *b, int n)
{
    while (n > 0) {
        uint64_t r = next_random(gen);

        for (int i = 0; i < 8 && n > 0; i++, n--) {
            *b++ = (unsigned char)(r >> (8 * i));
        }
    }
}

void chat_id_next_message(chat_id_gen_t *gen, apr_time_t now, char *out)
{
    uint64_t ms = now > 0 ? (uint64_t)now / 1000 : 0;
    unsigned char b[16];

    if (ms > gen->last_ms) {
        gen->last_ms = ms;
        gen->counter = (uint32_t)(next_random(gen) & 0x1FF);   /* leaves >= 3583 steps */
    }
    else if (++gen->counter > COUNTER_MAX) {
        gen->last_ms++;   /* borrow the next millisecond rather than repeat or wrap */
        gen->counter = 0;
    }
    ms = gen->last_ms;
    for (int i = 0; i < 6; i++) {
        b[i] = (unsigned char)(ms >> (40 - 8 * i));
    }
    b[6] = (unsigned char)(0x70 | (gen->counter >> 8));
    b[7] = (unsigned char)(gen->counter & 0xFF);
    put_random(gen, b + 8, 8);
    b[8] = (unsigned char)(0x80 | (b[8] & 0x3F));
    format_uuid(b, out);
}

void chat_id_next_client(chat_id_gen_t *gen, char *out)
{
    unsigned char b[16];

    put_random(gen, b, 16);
    b[6] = (unsigned char)(0x40 | (b[6] & 0x0F));
    b[8] = (unsigned char)(0x80 | (b[8] & 0x3F));
    memcpy(out, "client-", 7);
    format_uuid(b, out + 7);
}

int chat_id_is_valid(const char *s)
{
    if (s == NULL) {
        return 0;
    }
    for (int i = 0; i < CHAT_MSG_ID_LEN; i++) {
        char c = s[i];

        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') {
                return 0;
            }
        }
        else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return 0;   /* also stops at an early NUL */
        }
    }
    return s[CHAT_MSG_ID_LEN] == '\0';
}

apr_status_t chat_id_time(const char *id, apr_time_t *out)
{
    uint64_t ms = 0;

    if (!chat_id_is_valid(id) || id[14] != '7') {
        return CHAT_EBAD_MESSAGE_ID;
    }
    for (int i = 0; i < 13; i++) {
        char c = id[i];

        if (c == '-') {
            continue;
        }
        ms = (ms << 4) | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    *out = (apr_time_t)(ms * 1000);
    return APR_SUCCESS;
}
