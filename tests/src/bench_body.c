/*
 * The fixed part of the C benchmark driver (xdrgen-tests' `codec_vs_c` bench). It follows a
 * generated `table[]` of { name, sizeof(T), xdr_T } entries, like the echo driver.
 *
 * The timing loops run here, in C, so that only the codec is timed: no pipe, no process switch.
 *
 * Protocol on stdin/stdout, all words big-endian u32:
 *   request:  [type index][mode][iterations][length][bytes]
 *   response: [status][elapsed ns, high word][elapsed ns, low word]
 * The input is placed at offset 28 of a page-aligned buffer, as a packet's payload is.
 * mode 0 (decode): `iterations` times: zero the struct, xdrmem_create(XDR_DECODE), xdr_T,
 *   xdr_free. The first decode must succeed and consume every byte.
 * mode 1 (encode): decode once (untimed), then `iterations` times: xdrmem_create(XDR_ENCODE)
 *   over one buffer allocated up front, xdr_T. The encoding must equal the input bytes.
 * status 0: ok; 1: decode failed or left bytes over; 2: encode failed; 3: the encoding differs
 * from the input; 4: unknown type index or mode. End of input ends the driver.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* read_full, read_u32 and write_u32 come from driver_io.c, placed before this body. */

static void reply(uint32_t status, uint64_t ns)
{
    write_u32(status);
    write_u32((uint32_t)(ns >> 32));
    write_u32((uint32_t)ns);
    fflush(stdout);
}

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* One decode into `obj` (zeroed first, as rpcgen's routines allocate only into NULL pointers);
 * returns the bytes consumed, or -1 when xdr_T fails (having freed what it allocated). */
static long decode_once(const struct entry *e, void *obj, char *input, uint32_t len)
{
    XDR x;
    memset(obj, 0, e->size);
    xdrmem_create(&x, input, len, XDR_DECODE);
    bool_t ok = e->proc(&x, obj, 0);
    long consumed = xdr_getpos(&x);
    xdr_destroy(&x);
    if (!ok) {
        xdr_free(e->proc, obj);
        return -1;
    }
    return consumed;
}

static uint32_t bench_decode(const struct entry *e, char *input, uint32_t len, uint32_t iters,
                             uint64_t *ns)
{
    void *obj = calloc(1, e->size);
    /* Checked once, untimed: the bytes are a whole value of this type. */
    long consumed = decode_once(e, obj, input, len);
    if (consumed < 0 || (uint32_t)consumed != len) {
        free(obj);
        return 1;
    }
    xdr_free(e->proc, obj);
    uint64_t start = now_ns();
    for (uint32_t i = 0; i < iters; i++) {
        if (decode_once(e, obj, input, len) < 0) {
            free(obj);
            return 1;
        }
        xdr_free(e->proc, obj);
    }
    *ns = now_ns() - start;
    free(obj);
    return 0;
}

static uint32_t bench_encode(const struct entry *e, char *input, uint32_t len, uint32_t iters,
                             uint64_t *ns)
{
    void *obj = calloc(1, e->size);
    long consumed = decode_once(e, obj, input, len);
    if (consumed < 0 || (uint32_t)consumed != len) {
        free(obj);
        return 1;
    }
    char *out = malloc(len ? len : 1);
    uint32_t status = 0;
    uint64_t start = now_ns();
    for (uint32_t i = 0; i < iters; i++) {
        XDR x;
        xdrmem_create(&x, out, len, XDR_ENCODE);
        if (!e->proc(&x, obj, 0)) {
            status = 2;
            break;
        }
        xdr_destroy(&x);
    }
    *ns = now_ns() - start;
    /* Checked after the loop, untimed: C wrote the very bytes Rust wrote. */
    if (status == 0 && memcmp(out, input, len) != 0)
        status = 3;
    free(out);
    xdr_free(e->proc, obj);
    free(obj);
    return status;
}

int main(void)
{
    for (;;) {
        uint32_t index, mode, iters, len;
        if (!read_u32(&index) || !read_u32(&mode) || !read_u32(&iters) || !read_u32(&len))
            return 0;
        /* Placed as a received packet places its payload: after the 4-byte length word and
         * the 24-byte header, at offset 28 of a page-aligned buffer (memcpy and decode speed
         * vary with placement). */
        char *page = NULL;
        if (posix_memalign((void **)&page, 4096, (size_t)len + 28) != 0)
            return 1;
        char *input = page + 28;
        if (!read_full(input, len))
            return 1;
        uint64_t ns = 0;
        uint32_t status;
        if (index >= table_len)
            status = 4;
        else if (mode == 0)
            status = bench_decode(&table[index], input, len, iters, &ns);
        else if (mode == 1)
            status = bench_encode(&table[index], input, len, iters, &ns);
        else
            status = 4;
        free(page);
        reply(status, ns);
    }
}
