/*
 * The C side of onc_typedefs.x's rules (see tests/src/onc_typedefs.rs): the procedures that
 * rpcgen's dispatch function (onc_typedefs_svc.c, made with -m: no main) calls, and a main that
 * serves it on an ephemeral TCP port and UDP port without registering with rpcbind and prints
 * them ("tcp PORT" and "udp PORT" lines). Results live in static storage, as in rpcgen's
 * servers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "onc_typedefs.h"

void td_prog_1(struct svc_req *rqstp, SVCXPRT *transp);

void *td_null_1_svc(void *argp, struct svc_req *rq)
{
    static char r;
    (void)argp;
    (void)rq;
    return &r;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

td_ints *td_sort_1_svc(td_ints *argp, struct svc_req *rq)
{
    static td_ints r;
    (void)rq;
    free(r.td_ints_val);
    r.td_ints_len = argp->td_ints_len;
    r.td_ints_val = malloc((argp->td_ints_len + 1) * sizeof(int));
    if (argp->td_ints_len)
        memcpy(r.td_ints_val, argp->td_ints_val, argp->td_ints_len * sizeof(int));
    qsort(r.td_ints_val, r.td_ints_len, sizeof(int), cmp_int);
    return &r;
}

/* A td_key argument arrives as the address of its 8 bytes; the result is sent from one. */
char *td_flip_1_svc(char *key, struct svc_req *rq)
{
    static td_key r;
    (void)rq;
    for (int i = 0; i < 8; i++) r[i] = key[7 - i];
    return r;
}

/* Halved towards zero, as Rust's `/` and C99's. */
static int half_sum(int a, int b) { return (int)(((long long)a + b) / 2); }

td_maybe *td_midpoint_1_svc(td_point *pair, struct svc_req *rq)
{
    static td_maybe r;
    static td_point mid;
    (void)rq;
    r = NULL;
    if (pair[0].x != pair[1].x || pair[0].y != pair[1].y) {
        mid.x = half_sum(pair[0].x, pair[1].x);
        mid.y = half_sum(pair[0].y, pair[1].y);
        r = &mid;
    }
    return &r;
}

/* Negation wrapping around, as Rust's `wrapping_neg`. */
static int neg(int v) { return (int)(0u - (unsigned)v); }

td_point *td_mirror_1_svc(td_maybe *argp, struct svc_req *rq)
{
    static td_pair r;
    (void)rq;
    memset(r, 0, sizeof r);
    if (*argp) {
        r[0] = **argp;
        r[1].x = neg((*argp)->x);
        r[1].y = neg((*argp)->y);
    }
    return r;
}

td_keys *td_split_1_svc(quad_t *h, struct svc_req *rq)
{
    static td_keys r;
    static td_key keys[3];
    (void)rq;
    for (int i = 0; i < 3; i++)
        for (int b = 0; b < 8; b++) keys[i][b] = (char)((u_quad_t)h[i] >> (56 - 8 * b));
    r.td_keys_len = 3;
    r.td_keys_val = keys;
    return &r;
}

int main(void)
{
    SVCXPRT *tcp = svctcp_create(RPC_ANYSOCK, 0, 0);
    SVCXPRT *udp = svcudp_create(RPC_ANYSOCK);
    if (!tcp || !udp) {
        fprintf(stderr, "cannot create the transports\n");
        return 1;
    }
    /* Protocol 0: served, not registered with rpcbind. */
    if (!svc_register(tcp, TD_PROG, TD_V1, td_prog_1, 0) ||
        !svc_register(udp, TD_PROG, TD_V1, td_prog_1, 0)) {
        fprintf(stderr, "cannot register the program\n");
        return 1;
    }
    printf("tcp %u\nudp %u\n", (unsigned)tcp->xp_port, (unsigned)udp->xp_port);
    fflush(stdout);
    svc_run();
    return 1;
}
