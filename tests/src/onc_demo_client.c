/*
 * The C side of onc_demo.x's checks (see tests/src/onc_demo.rs): rpcgen -N's client stubs
 * (onc_demo_clnt.c) call a server found through rpcbind, with AUTH_SYS credentials, and check
 * every answer by the same rules; then the server's refusals: an unknown procedure
 * (PROC_UNAVAIL), a version it does not serve (PROG_MISMATCH 1..2), arguments cut short and
 * the name "garbage" (GARBAGE_ARGS), and the point (13, 13) (SYSTEM_ERR).
 *
 * usage: onc_demo_client HOST tcp|udp. Prints one line per check; exits with the number of
 * failed checks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <rpc/pmap_clnt.h>
#include "onc_demo.h"

static int failures;

static void check(int ok, const char *what)
{
    printf("%s %s\n", ok ? "ok" : "FAIL", what);
    if (!ok) failures++;
}

static struct timeval tmo = {10, 0};

/* Calls procedure `proc` of `clnt` and returns the RPC status. */
static enum clnt_stat raw_call(CLIENT *clnt, u_long proc, xdrproc_t xargs, void *args)
{
    return clnt_call(clnt, proc, xargs, args, (xdrproc_t)xdr_void, NULL, tmo);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s HOST tcp|udp\n", argv[0]);
        return 100;
    }
    const char *host = argv[1], *proto = argv[2];
    CLIENT *v1 = clnt_create(host, DEMO_PROG, DEMO_V1, proto);
    CLIENT *v2 = clnt_create(host, DEMO_PROG, DEMO_V2, proto);
    if (!v1 || !v2) {
        clnt_pcreateerror(host);
        return 100;
    }
    auth_destroy(v2->cl_auth);
    v2->cl_auth = authunix_create_default();

    check(demo_null_1(v1) != NULL, "v1 null");
    check(demo_null_2(v2) != NULL, "v2 null");
    demo_point p = {-1, 2};
    demo_point *pr = demo_echo_point_2(p, v2);
    check(pr && pr->x == -1 && pr->y == 2, "v2 echo");
    demo_name *g = demo_greet_1("hello, world", v1);
    check(g && strcmp(*g, "HELLO, WORLD") == 0, "greet");

    demo_item items[3];
    memset(items, 0, sizeof items);
    items[0].name = "alpha"; items[0].value = (quad_t)1 << 40;
    items[0].figure.kind = DEMO_CIRCLE; items[0].figure.demo_figure_u.radius = 7;
    items[0].tag.tag_len = 2; items[0].tag.tag_val = "t1";
    items[1].name = "beta"; items[1].value = -5;
    items[1].figure.kind = DEMO_RECT;
    items[1].figure.demo_figure_u.corner.x = 3; items[1].figure.demo_figure_u.corner.y = -4;
    items[2].name = "gamma"; items[2].value = 12;
    items[2].figure.kind = DEMO_NOSHAPE;
    items[2].tag.tag_len = 8; items[2].tag.tag_val = "12345678";
    demo_list list = {{3, items}};
    demo_summary *s = demo_summarize_2(list, v2);
    check(s && s->count == 3 && s->total == ((quad_t)1 << 40) + 7 &&
              strcmp(s->names, "alpha,beta,gamma") == 0 && s->first_corner &&
              s->first_corner->x == 3 && s->first_corner->y == -4,
          "summarize");
    demo_list empty = {{0, NULL}};
    s = demo_summarize_2(empty, v2);
    check(s && s->count == 0 && s->total == 0 && strcmp(s->names, "") == 0 && !s->first_corner,
          "summarize empty");

    demo_node nodes[5];
    for (int i = 0; i < 5; i++) {
        nodes[i].value = i + 1;
        nodes[i].next = i < 4 ? &nodes[i + 1] : NULL;
    }
    demo_node *rev = demo_reverse_2(nodes[0], v2);
    int want = 5, ok = rev != NULL;
    for (demo_node *n = rev; ok && n; n = n->next) ok = n->value == want--;
    check(ok && want == 0, "reverse");

    demo_lookup_res *f = demo_find_2(list, "beta", v2);
    check(f && f->status == 0 && strcmp(f->demo_lookup_res_u.item.name, "beta") == 0 &&
              f->demo_lookup_res_u.item.value == -5 &&
              f->demo_lookup_res_u.item.figure.kind == DEMO_RECT,
          "find beta");
    f = demo_find_2(list, "delta", v2);
    check(f && f->status == 1, "find delta");

    quad_t *sum = demo_add3_2(-7, (quad_t)1 << 33, 0xffffffffu, v2);
    check(sum && *sum == -7 + ((quad_t)1 << 33) + 0xffffffffLL, "add3");

    demo_figure fig = {DEMO_CIRCLE, {9}};
    demo_figure *sc = demo_scale_2(fig, 3, v2);
    check(sc && sc->kind == DEMO_CIRCLE && sc->demo_figure_u.radius == 27, "scale circle");
    fig.kind = DEMO_RECT;
    fig.demo_figure_u.corner.x = 2; fig.demo_figure_u.corner.y = -3;
    sc = demo_scale_2(fig, 3, v2);
    check(sc && sc->kind == DEMO_RECT && sc->demo_figure_u.corner.x == 6 &&
              sc->demo_figure_u.corner.y == -9,
          "scale rect");

    /* The refusals. */
    struct rpc_err err;
    demo_point bad = {13, 13};
    check(demo_echo_point_2(bad, v2) == NULL && (clnt_geterr(v2, &err), err.re_status == RPC_SYSTEMERROR),
          "system error");
    check(demo_greet_1("garbage", v1) == NULL && (clnt_geterr(v1, &err), err.re_status == RPC_CANTDECODEARGS),
          "garbage name");
    check(raw_call(v2, 99, (xdrproc_t)xdr_void, NULL) == RPC_PROCUNAVAIL, "procedure 99");
    int one = 1;
    enum clnt_stat short_st = raw_call(v2, DEMO_ADD3, (xdrproc_t)xdr_int, &one);
    if (short_st != RPC_CANTDECODEARGS) printf("short args: %s\n", clnt_sperrno(short_st));
    check(short_st == RPC_CANTDECODEARGS, "short args");

    /* Version 3 at the address rpcbind gives for version 2. */
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(0x7f000001);
    int is_tcp = strcmp(proto, "tcp") == 0;
    u_short port = pmap_getport(&addr, DEMO_PROG, DEMO_V2, is_tcp ? IPPROTO_TCP : IPPROTO_UDP);
    addr.sin_port = htons(port);
    int sock = RPC_ANYSOCK;
    CLIENT *v3 = is_tcp ? clnttcp_create(&addr, DEMO_PROG, 3, &sock, 0, 0)
                        : clntudp_create(&addr, DEMO_PROG, 3, tmo, &sock);
    if (!v3) {
        check(0, "version 3 client");
    } else {
        enum clnt_stat st = raw_call(v3, 0, (xdrproc_t)xdr_void, NULL);
        clnt_geterr(v3, &err);
        check(st == RPC_PROGVERSMISMATCH && err.re_vers.low == 1 && err.re_vers.high == 2,
              "version 3 mismatch 1..2");
        clnt_destroy(v3);
    }
    clnt_destroy(v1);
    clnt_destroy(v2);
    printf("%d failures\n", failures);
    return failures;
}
