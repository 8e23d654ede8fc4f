/*
 * The C side of onc_typedefs.x's checks (see tests/src/onc_typedefs.rs): rpcgen's client stubs
 * (onc_typedefs_clnt.c) call the server at 127.0.0.1:PORT and check every answer by the same
 * rules; then a list of numbers over the bound, which the server must refuse (GARBAGE_ARGS).
 *
 * usage: onc_typedefs_client PORT tcp|udp. Prints one line per check; exits with the number of
 * failed checks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "onc_typedefs.h"

static int failures;

static void check(int ok, const char *what)
{
    printf("%s %s\n", ok ? "ok" : "FAIL", what);
    if (!ok) failures++;
}

/* td_ints without its bound, to send more numbers than the server accepts. */
static bool_t xdr_unbounded_ints(XDR *xdrs, td_ints *v)
{
    return xdr_array(xdrs, (char **)&v->td_ints_val, &v->td_ints_len, ~0u, sizeof(int),
                     (xdrproc_t)xdr_int);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s PORT tcp|udp\n", argv[0]);
        return 100;
    }
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)atoi(argv[1]));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tmo = {10, 0};
    int sock = RPC_ANYSOCK;
    CLIENT *c = strcmp(argv[2], "tcp") == 0
                    ? clnttcp_create(&addr, TD_PROG, TD_V1, &sock, 0, 0)
                    : clntudp_create(&addr, TD_PROG, TD_V1, tmo, &sock);
    if (!c) {
        clnt_pcreateerror("127.0.0.1");
        return 100;
    }

    check(td_null_1(NULL, c) != NULL, "null");

    int nums[] = {5, -3, 9, 0, -3, 2147483647, -2147483647 - 1};
    int sorted[] = {-2147483647 - 1, -3, -3, 0, 5, 9, 2147483647};
    td_ints in = {7, nums};
    td_ints *s = td_sort_1(&in, c);
    check(s && s->td_ints_len == 7 && memcmp(s->td_ints_val, sorted, sizeof sorted) == 0, "sort");
    td_ints empty = {0, NULL};
    s = td_sort_1(&empty, c);
    check(s && s->td_ints_len == 0, "sort empty");

    td_key key = {'a', 'b', 'c', 'd', 'e', 'f', 'g', (char)0xff};
    char *f = td_flip_1(key, c);
    check(f && memcmp(f, "\377gfedcba", 8) == 0, "flip");

    td_pair pair = {{-4, 10}, {8, 3}};
    td_maybe *m = td_midpoint_1(pair, c);
    check(m && *m && (*m)->x == 2 && (*m)->y == 6, "midpoint");
    td_pair same = {{1, 1}, {1, 1}};
    m = td_midpoint_1(same, c);
    check(m && !*m, "midpoint none");

    td_point p = {3, -7};
    td_maybe some = &p, none = NULL;
    td_point *mr = td_mirror_1(&some, c);
    check(mr && mr[0].x == 3 && mr[0].y == -7 && mr[1].x == -3 && mr[1].y == 7, "mirror");
    mr = td_mirror_1(&none, c);
    check(mr && mr[0].x == 0 && mr[0].y == 0 && mr[1].x == 0 && mr[1].y == 0, "mirror none");

    quad_t hs[3] = {0x0102030405060708LL, -1, 0};
    td_keys *k = td_split_1(hs, c);
    check(k && k->td_keys_len == 3 && memcmp(k->td_keys_val[0], "\1\2\3\4\5\6\7\10", 8) == 0 &&
              memcmp(k->td_keys_val[1], "\377\377\377\377\377\377\377\377", 8) == 0 &&
              memcmp(k->td_keys_val[2], "\0\0\0\0\0\0\0\0", 8) == 0,
          "split");

    int many[TD_INTS_MAX + 1];
    memset(many, 0, sizeof many);
    td_ints big = {TD_INTS_MAX + 1, many};
    struct timeval call_tmo = {10, 0};
    enum clnt_stat st = clnt_call(c, TD_SORT, (xdrproc_t)xdr_unbounded_ints, (caddr_t)&big,
                                  (xdrproc_t)xdr_void, NULL, call_tmo);
    if (st != RPC_CANTDECODEARGS) printf("17 numbers: %s\n", clnt_sperrno(st));
    check(st == RPC_CANTDECODEARGS, "17 numbers refused");

    clnt_destroy(c);
    printf("%d failures\n", failures);
    return failures;
}
