/*
 * What both C drivers (driver_body.c, bench_body.c) need: big-endian words and exact reads on
 * stdin/stdout. Placed after the generated table and before a driver's body.
 */
#include <stdint.h>
#include <stdio.h>

static int read_full(void *buf, size_t n)
{
    return fread(buf, 1, n, stdin) == n;
}

static int read_u32(uint32_t *v)
{
    unsigned char b[4];
    if (!read_full(b, 4))
        return 0;
    *v = ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
    return 1;
}

static void write_u32(uint32_t v)
{
    unsigned char b[4] = { v >> 24, v >> 16, v >> 8, v };
    fwrite(b, 1, 4, stdout);
}
