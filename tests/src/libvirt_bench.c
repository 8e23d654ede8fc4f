/* The C side of the client_vs_c benchmark: libvirt's own client (libvirt.so) calling
 * virDomainGetInfo on the test driver's domain "test", from THREADS threads at once (each call
 * blocks its thread, so THREADS is the number in flight). Prints calls per second and the
 * process's CPU time (user + system, all threads) per call, set-up excluded.
 *
 * usage: libvirt_bench URI THREADS CALLS */
#include <libvirt/libvirt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static virDomainPtr dom;
static int per_thread;

static void *worker(void *arg)
{
    virDomainInfo info;
    (void)arg;
    for (int i = 0; i < per_thread; i++) {
        if (virDomainGetInfo(dom, &info) < 0 || info.nrVirtCpu != 2) {
            fprintf(stderr, "virDomainGetInfo failed\n");
            exit(1);
        }
    }
    return NULL;
}

static double cpu_seconds(void)
{
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return r.ru_utime.tv_sec + r.ru_stime.tv_sec + (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s URI THREADS CALLS\n", argv[0]);
        return 2;
    }
    int threads = atoi(argv[2]);
    int calls = atoi(argv[3]);
    virConnectPtr conn = virConnectOpen(argv[1]);
    if (!conn || !(dom = virDomainLookupByName(conn, "test")))
        return 1;
    per_thread = calls / threads;
    pthread_t *t = calloc(threads, sizeof(*t));
    struct timespec a, b;
    double cpu0 = cpu_seconds();
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double cpu = cpu_seconds() - cpu0;
    double wall = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
    int done = per_thread * threads;
    printf("%.1f %.2f\n", done / wall, cpu / done * 1e6);
    virDomainFree(dom);
    virConnectClose(conn);
    return 0;
}
