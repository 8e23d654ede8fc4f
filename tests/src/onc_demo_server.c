/*
 * The C side of onc_demo.x's rules (see tests/src/onc_demo.rs): the procedures rpcgen -N's
 * server skeleton (onc_demo_svc.c, with its main) calls. Results live in static storage, freed
 * with xdr_free before the next call reuses it, as rpcgen's servers do.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include "onc_demo.h"

static int echo(demo_point *p, struct svc_req *rq)
{
    if (p->x == 13 && p->y == 13) {
        svcerr_systemerr(rq->rq_xprt);
        return 0;
    }
    return 1;
}

void *demo_null_1_svc(struct svc_req *rq) { static char r; (void)rq; return &r; }
void *demo_null_2_svc(struct svc_req *rq) { static char r; (void)rq; return &r; }

demo_point *demo_echo_point_1_svc(demo_point arg1, struct svc_req *rq)
{
    static demo_point r;
    if (!echo(&arg1, rq)) return NULL;
    r = arg1;
    return &r;
}

demo_point *demo_echo_point_2_svc(demo_point arg1, struct svc_req *rq)
{
    return demo_echo_point_1_svc(arg1, rq);
}

demo_name *demo_greet_1_svc(demo_name arg1, struct svc_req *rq)
{
    static demo_name r;
    free(r);
    r = NULL;
    if (strcmp(arg1, "garbage") == 0) {
        svcerr_decode(rq->rq_xprt);
        return NULL;
    }
    r = strdup(arg1);
    for (char *c = r; *c; c++) *c = (char)toupper((unsigned char)*c);
    return &r;
}

demo_summary *demo_summarize_2_svc(demo_list arg1, struct svc_req *rq)
{
    static demo_summary r;
    static demo_point corner;
    size_t len = 1;
    (void)rq;
    free(r.names);
    memset(&r, 0, sizeof r);
    for (u_int i = 0; i < arg1.items.items_len; i++)
        len += strlen(arg1.items.items_val[i].name) + 1;
    r.names = calloc(1, len);
    for (u_int i = 0; i < arg1.items.items_len; i++) {
        demo_item *it = &arg1.items.items_val[i];
        r.count++;
        r.total += it->value;
        if (i > 0) strcat(r.names, ",");
        strcat(r.names, it->name);
        if (!r.first_corner && it->figure.kind == DEMO_RECT) {
            corner = it->figure.demo_figure_u.corner;
            r.first_corner = &corner;
        }
    }
    return &r;
}

demo_node *demo_reverse_2_svc(demo_node arg1, struct svc_req *rq)
{
    static demo_node r;
    (void)rq;
    xdr_free((xdrproc_t)xdr_demo_node, (char *)&r);
    memset(&r, 0, sizeof r);
    /* Build the reversed list: each node of the argument becomes the new head. */
    demo_node *head = NULL;
    for (demo_node *n = &arg1; n; n = n->next) {
        demo_node *m = calloc(1, sizeof *m);
        m->value = n->value;
        m->next = head;
        head = m;
    }
    r = *head;
    free(head);
    return &r;
}

demo_lookup_res *demo_find_2_svc(demo_list arg1, demo_name arg2, struct svc_req *rq)
{
    static demo_lookup_res r;
    (void)rq;
    xdr_free((xdrproc_t)xdr_demo_lookup_res, (char *)&r);
    memset(&r, 0, sizeof r);
    r.status = 1;
    for (u_int i = 0; i < arg1.items.items_len; i++) {
        demo_item *it = &arg1.items.items_val[i];
        if (strcmp(it->name, arg2) != 0) continue;
        /* A deep copy through XDR, so that the result owns its memory. */
        char buf[4096];
        XDR x;
        xdrmem_create(&x, buf, sizeof buf, XDR_ENCODE);
        if (!xdr_demo_item(&x, it)) break;
        xdrmem_create(&x, buf, sizeof buf, XDR_DECODE);
        if (!xdr_demo_item(&x, &r.demo_lookup_res_u.item)) break;
        r.status = 0;
        break;
    }
    return &r;
}

quad_t *demo_add3_2_svc(int arg1, quad_t arg2, u_int arg3, struct svc_req *rq)
{
    static quad_t r;
    (void)rq;
    r = (quad_t)arg1 + arg2 + (quad_t)arg3;
    return &r;
}

demo_figure *demo_scale_2_svc(demo_figure arg1, int arg2, struct svc_req *rq)
{
    static demo_figure r;
    (void)rq;
    r = arg1;
    if (r.kind == DEMO_CIRCLE) r.demo_figure_u.radius *= (u_int)arg2;
    if (r.kind == DEMO_RECT) {
        r.demo_figure_u.corner.x *= arg2;
        r.demo_figure_u.corner.y *= arg2;
    }
    return &r;
}

