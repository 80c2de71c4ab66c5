/* fuzz_wsscan.c: libFuzzer harness for the RFC 6455 frame scanner (relay/relay_wsscan.c), which
 * reads every byte a WebSocket client sends before libwebsockets does.
 *
 * The first byte sets a read size (1..256); the rest is the client's byte stream.
 * Properties: the scanner passes at most what it was given; it reaches the same verdict, at the
 * same byte, whether the stream arrives whole or in reads of that size; once broken it passes
 * nothing more. relay_wsscan_frames_start over the same bytes stays in bounds and, when it
 * finds the frames, they follow a blank line. */
#include "fuzz_common.h"

#include <stdlib.h>
#include <string.h>
#include "relay_wsscan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    relay_wsscan_t whole, split;
    apr_size_t step, passed_whole, passed_split = 0, off = 0;
    apr_ssize_t start;

    if (size < 1) {
        return 0;
    }
    step = (apr_size_t)data[0] + 1;
    data++;
    size--;

    relay_wsscan_init(&whole);
    passed_whole = relay_wsscan_feed(&whole, data, size);
    if (passed_whole > size) {
        abort();
    }
    if (whole.code != 0 && relay_wsscan_feed(&whole, data, size) != 0) {
        abort();
    }

    relay_wsscan_init(&split);
    while (off < size) {
        apr_size_t n = size - off < step ? size - off : step;
        apr_size_t ok = relay_wsscan_feed(&split, data + off, n);

        if (ok > n) {
            abort();
        }
        passed_split += ok;
        if (ok < n) {
            break;
        }
        off += n;
    }
    if (split.code != whole.code || passed_split != passed_whole
        || (whole.code == 0) != (passed_whole == size)) {
        abort();
    }

    start = relay_wsscan_frames_start(data, size);
    if (start < -1 || start > (apr_ssize_t)size
        || (start >= 0 && (start < 4 || memcmp(data + start - 4, "\r\n\r\n", 4) != 0))) {
        abort();
    }
    return 0;
}
