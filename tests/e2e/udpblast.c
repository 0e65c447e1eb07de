/* udpblast HOST PORT SECONDS: sends 18-byte UDP datagrams to HOST:PORT with sendmmsg() (64 a
 * call) for SECONDS and prints datagrams per second. The packet-path cost of a ruleset shows up
 * here, where per-packet work dominates (tests/e2e/bench-guard.sh). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
        double secs = atof(argv[3]);
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in d = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2]))};
        inet_pton(AF_INET, argv[1], &d.sin_addr);
        connect(s, (void *) &d, sizeof d);
        char buf[18] = "leakguard-bench";
        struct mmsghdr m[64];
        struct iovec iov = {buf, sizeof buf};
        memset(m, 0, sizeof m);
        for (int i = 0; i < 64; i++) { m[i].msg_hdr.msg_iov = &iov; m[i].msg_hdr.msg_iovlen = 1; }
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        long n = 0, loops = 0;
        for (;;) {
                int r = sendmmsg(s, m, 64, 0);
                if (r > 0) n += r;
                if (++loops % 64 == 0) {
                        clock_gettime(CLOCK_MONOTONIC, &b);
                        if (b.tv_sec - a.tv_sec + (b.tv_nsec - a.tv_nsec) / 1e9 >= secs) break;
                }
        }
        double t = b.tv_sec - a.tv_sec + (b.tv_nsec - a.tv_nsec) / 1e9;
        printf("%.0f\n", n / t);
        return 0;
}
