/*
 * The fixed part of the C peer (xdrgen-tests). It follows a generated `table[]` of
 * { name, sizeof(T), xdr_T } entries.
 *
 * Protocol on stdin/stdout, all words big-endian u32:
 *   request:  [type index][length][bytes]
 *   response: [status][bytes consumed by decode][length][bytes]
 * status 0: decoded and re-encoded (bytes = the re-encoding); 1: decode failed; 2: encode
 * failed; 3: unknown type index. End of input ends the driver.
 *
 * The loop runs on a thread with a large stack: rpcgen's routines recurse once per element of a
 * linked list, and the tests send lists of a million elements.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* read_full, read_u32 and write_u32 come from driver_io.c, placed before this body. */

static void reply(uint32_t status, uint32_t consumed, const char *bytes, uint32_t len)
{
    write_u32(status);
    write_u32(consumed);
    write_u32(len);
    if (len)
        fwrite(bytes, 1, len, stdout);
    fflush(stdout);
}

static void *serve(void *unused)
{
    (void)unused;
    for (;;) {
        uint32_t index, len;
        if (!read_u32(&index) || !read_u32(&len))
            return NULL;
        char *input = malloc(len ? len : 1);
        if (!input || !read_full(input, len))
            return NULL;
        if (index >= table_len) {
            free(input);
            reply(3, 0, NULL, 0);
            continue;
        }
        const struct entry *e = &table[index];
        void *obj = calloc(1, e->size);
        XDR x;
        xdrmem_create(&x, input, len, XDR_DECODE);
        bool_t ok = e->proc(&x, obj, 0);
        uint32_t consumed = xdr_getpos(&x);
        xdr_destroy(&x);
        free(input);
        if (!ok) {
            xdr_free(e->proc, obj);
            free(obj);
            reply(1, consumed, NULL, 0);
            continue;
        }
        /* Encode into a buffer, doubling it until the value fits. */
        size_t cap = (size_t)len + 64;
        char *out = NULL;
        uint32_t out_len = 0;
        int encoded = 0;
        while (cap <= ((size_t)1 << 31)) {
            out = malloc(cap);
            xdrmem_create(&x, out, cap, XDR_ENCODE);
            if (e->proc(&x, obj, 0)) {
                out_len = xdr_getpos(&x);
                xdr_destroy(&x);
                encoded = 1;
                break;
            }
            xdr_destroy(&x);
            free(out);
            out = NULL;
            cap *= 2;
        }
        xdr_free(e->proc, obj);
        free(obj);
        if (encoded)
            reply(0, consumed, out, out_len);
        else
            reply(2, consumed, NULL, 0);
        free(out);
    }
}

int main(void)
{
    pthread_attr_t attr;
    pthread_t thread;
    pthread_attr_init(&attr);
    /* Virtual reservation only: pages are touched as the recursion goes deep. */
    pthread_attr_setstacksize(&attr, (size_t)4 << 30);
    if (pthread_create(&thread, &attr, serve, NULL) != 0) {
        fprintf(stderr, "driver: cannot create the worker thread\n");
        return 1;
    }
    pthread_join(thread, NULL);
    return 0;
}
