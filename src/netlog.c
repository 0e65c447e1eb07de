/* Why libmnl, and not libnetfilter_log or a raw AF_NETLINK socket: libnftables already links
 * libmnl (Debian's libnftables1 depends on libmnl0; the tamper watcher, watch.c, uses it too), so
 * the daemon gains no new run-time library; libnetfilter_log would add two (it and libnfnetlink)
 * for a callback API that saves a few lines of message building. Over a raw socket, libmnl's
 * attribute walker checks every attribute's length against the message before it is read (see
 * netevent.c), and it gives the message iteration and validation the kernel's own tools use.
 *
 * The group is configured so that a flood costs the daemon little: the kernel copies only the
 * first COPY_RANGE bytes of each packet (headers), and queues up to QTHRESH packets (or TIMEOUT)
 * into one netlink message batch; each wake-up reads at most READ_BUDGET datagrams and the io
 * source runs at a lower priority than the bus, so method calls are served between batches.
 * When even that is too slow, the socket buffer overflows, the kernel drops events and the next
 * read says ENOBUFS: counted as an overrun, never fatal. */
#include "netlog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <net/if.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

#define COPY_RANGE 256         /* bytes of each packet: IP and transport headers */
#define QTHRESH 16             /* packets per batch */
#define TIMEOUT_CS 5           /* 1/100 s: an event waits at most 50 ms for its batch */
#define NLBUFSIZ 16384         /* bytes of one batch */
#define RCVBUF_BYTES (2 * 1024 * 1024)
#define READ_BUDGET 32         /* datagrams per wake-up */
#define MAX_FILTER_STATES 4096 /* per-filter buckets kept (enabled `log: true` filters only) */
/* MESSAGE_ID of a blocked-packet entry and of a suppression report (journalctl MESSAGE_ID=…). */
#define MESSAGE_ID_BLOCKED "cdb66a77ce6d4b0ab296caf1fc51b9b3"
#define MESSAGE_ID_SUPPRESSED "f8ab93bfe2f0428296361e4849ac3a6f"

typedef struct {
        LgTokenBucket bucket;
        guint64 suppressed; /* since the last report */
} FilterState;

struct LgNetlog {
        struct mnl_socket *nl;
        uint16_t group;
        sd_event *event;
        sd_event_source *io;
        sd_event_source *report; /* one-shot, armed by the first suppression after a report */
        LgNetlogResolve resolve;
        LgNetlogEmit emit;
        void *userdata;
        LgTokenBucket global;
        GHashTable *filters; /* prefix → FilterState* */
        guint64 suppressed_since_report;
        LgNetlogStats stats;
        char *buf;
        size_t bufsize;
};

/* sd_journal_sendv() succeeds silently when there is no journal (ENOENT); then lines go to
 * stderr, so that they are never lost (tests, containers without journald). */
static bool journal_available(void) {
        return access("/run/systemd/journal/socket", F_OK) == 0;
}

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

/* ---- configuration ---- */

static struct nlmsghdr *config_header(char *buf, uint16_t group, uint32_t seq) {
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
        nlh->nlmsg_seq = seq;
        struct nfgenmsg *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
        g->nfgen_family = AF_UNSPEC;
        g->version = NFNETLINK_V0;
        g->res_id = htons(group);
        return nlh;
}

/* Sends one configuration message and waits (1 s at most: the kernel answers at once) for its
 * acknowledgement. Packet messages that arrive meanwhile are dropped: nothing listens yet. */
static int config_send(LgNetlog *n, struct nlmsghdr *nlh) {
        if (mnl_socket_sendto(n->nl, nlh, nlh->nlmsg_len) < 0)
                return -errno;
        uint32_t seq = nlh->nlmsg_seq, portid = mnl_socket_get_portid(n->nl);
        for (int tries = 0; tries < 100; tries++) {
                struct pollfd pfd = {.fd = mnl_socket_get_fd(n->nl), .events = POLLIN};
                int k = poll(&pfd, 1, 1000);
                if (k == 0)
                        return -ETIMEDOUT;
                if (k < 0)
                        return -errno;
                ssize_t len = mnl_socket_recvfrom(n->nl, n->buf, n->bufsize);
                if (len < 0) {
                        if (errno == EAGAIN || errno == EINTR || errno == ENOBUFS)
                                continue;
                        return -errno;
                }
                int r = mnl_cb_run(n->buf, (size_t) len, seq, portid, NULL, NULL);
                if (r == MNL_CB_STOP)
                        return 0; /* the acknowledgement */
                if (r > 0)
                        continue; /* packet messages only */
                if (errno != ESRCH && errno != EPROTO) /* ESRCH: another sequence number */
                        return -errno;
        }
        return -ETIMEDOUT;
}

static int config_cmd(LgNetlog *n, uint8_t cmd, uint32_t seq) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        memset(buf, 0, sizeof buf); /* valgrind checks every byte sent to the kernel */
        struct nlmsghdr *nlh = config_header(buf, n->group, seq);
        struct nfulnl_msg_config_cmd c = {.command = cmd};
        mnl_attr_put(nlh, NFULA_CFG_CMD, sizeof(c), &c);
        return config_send(n, nlh);
}

static int config_params(LgNetlog *n, uint32_t seq) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        memset(buf, 0, sizeof buf); /* valgrind checks every byte sent to the kernel */
        struct nlmsghdr *nlh = config_header(buf, n->group, seq);
        /* memset, not an initializer: the struct's tail padding is sent too, and valgrind
         * (tests/kernel/test-valgrind.sh) checks every byte that goes to the kernel. */
        struct nfulnl_msg_config_mode mode;
        memset(&mode, 0, sizeof mode);
        mode.copy_range = htonl(COPY_RANGE);
        mode.copy_mode = NFULNL_COPY_PACKET;
        mnl_attr_put(nlh, NFULA_CFG_MODE, sizeof(mode), &mode);
        mnl_attr_put_u32(nlh, NFULA_CFG_NLBUFSIZ, htonl(NLBUFSIZ));
        mnl_attr_put_u32(nlh, NFULA_CFG_QTHRESH, htonl(QTHRESH));
        mnl_attr_put_u32(nlh, NFULA_CFG_TIMEOUT, htonl(TIMEOUT_CS));
        return config_send(n, nlh);
}

/* ---- events ---- */

char *lg_netevent_describe(const LgNetEvent *ev) {
        const LgPacket *p = &ev->packet;
        GString *s = g_string_new(lg_layer_to_string(p->layer));
        g_string_append_c(s, ' ');
        lg_packet_format_protocol(p->proto, s);
        bool in = lg_layer_is_inbound(p->layer);
        g_string_append(s, in ? " from " : " to ");
        lg_packet_format_endpoint(p->family, p->remote, p->remote_port, s);
        g_string_append(s, in ? " to " : " from ");
        lg_packet_format_endpoint(p->family, p->local, p->local_port, s);
        if (p->interface[0])
                g_string_append_printf(s, " %s %s", in ? "in on" : "out on", p->interface);
        if (p->icmp_type >= 0) {
                const char *t = lg_icmp_type_name(p->family, (uint8_t) p->icmp_type);
                if (t)
                        g_string_append_printf(s, ", %s", t);
                else
                        g_string_append_printf(s, ", icmp type %d", p->icmp_type);
        }
        if (p->has_uid)
                g_string_append_printf(s, ", uid %u", p->uid);
        if (p->mark)
                g_string_append_printf(s, ", mark 0x%x", p->mark);
        return g_string_free(s, FALSE);
}

static void journal_event(LgNetlog *n, const LgNetEvent *ev) {
        const LgPacket *p = &ev->packet;
        g_autofree char *what = lg_netevent_describe(ev);
        g_autoptr(GPtrArray) f = g_ptr_array_new_with_free_func(g_free);
        g_ptr_array_add(f, g_strdup_printf("MESSAGE=blocked %s by %s", what, ev->prefix));
        g_ptr_array_add(f, g_strdup("MESSAGE_ID=" MESSAGE_ID_BLOCKED));
        g_ptr_array_add(f, g_strdup("PRIORITY=5"));
        g_ptr_array_add(f, g_strdup_printf("LEAKGUARD_POLICY=%s", ev->policy));
        g_ptr_array_add(f, g_strdup_printf("LEAKGUARD_SUBLAYER=%s", ev->sublayer));
        g_ptr_array_add(f, g_strdup_printf("LEAKGUARD_FILTER=%s", ev->filter));
        g_ptr_array_add(f, g_strdup_printf("LEAKGUARD_LAYER=%s", lg_layer_to_string(p->layer)));
        g_autoptr(GString) v = g_string_new(NULL);
        lg_packet_format_protocol(p->proto, v);
        g_ptr_array_add(f, g_strdup_printf("LEAKGUARD_PROTOCOL=%s", v->str));
        g_string_truncate(v, 0);
        lg_packet_format_endpoint(p->family, p->remote, p->remote_port, v);
        g_ptr_array_add(f, g_strdup_printf("LEAKGUARD_REMOTE=%s", v->str));
        g_string_truncate(v, 0);
        lg_packet_format_endpoint(p->family, p->local, p->local_port, v);
        g_ptr_array_add(f, g_strdup_printf("LEAKGUARD_LOCAL=%s", v->str));
        if (p->interface[0])
                g_ptr_array_add(f, g_strdup_printf("LEAKGUARD_INTERFACE=%s", p->interface));
        if (p->has_uid)
                g_ptr_array_add(f, g_strdup_printf("LEAKGUARD_UID=%u", p->uid));
        if (p->has_gid)
                g_ptr_array_add(f, g_strdup_printf("LEAKGUARD_GID=%u", p->gid));
        g_ptr_array_add(f, g_strdup_printf("LEAKGUARD_MARK=%u", p->mark));
        if (p->icmp_type >= 0)
                g_ptr_array_add(f, g_strdup_printf("LEAKGUARD_ICMP_TYPE=%d", p->icmp_type));
        struct iovec iov[f->len];
        for (guint i = 0; i < f->len; i++)
                iov[i] = (struct iovec){.iov_base = f->pdata[i], .iov_len = strlen(f->pdata[i])};
        /* Without a journal (tests, containers) the line goes to stderr, so it is never lost. */
        if (!journal_available() || sd_journal_sendv(iov, (int) f->len) < 0)
                g_message("blocked %s by %s", what, ev->prefix);
}

static gint by_suppressed(gconstpointer a, gconstpointer b, gpointer filters) {
        const FilterState *x = g_hash_table_lookup(filters, *(char *const *) a);
        const FilterState *y = g_hash_table_lookup(filters, *(char *const *) b);
        if (x->suppressed != y->suppressed)
                return x->suppressed > y->suppressed ? -1 : 1;
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static int on_report(sd_event_source *s, uint64_t usec, void *userdata) {
        LgNetlog *n = userdata;
        if (n->suppressed_since_report == 0)
                return 0;
        /* The filters that lost events, most first (at most 5 named). */
        g_autoptr(GPtrArray) keys = g_ptr_array_new();
        GHashTableIter it;
        gpointer k, v;
        g_hash_table_iter_init(&it, n->filters);
        while (g_hash_table_iter_next(&it, &k, &v))
                if (((FilterState *) v)->suppressed)
                        g_ptr_array_add(keys, k);
        g_ptr_array_sort_with_data(keys, by_suppressed, n->filters);
        g_autoptr(GString) list = g_string_new(NULL);
        for (guint i = 0; i < keys->len && i < 5; i++) {
                FilterState *fs = g_hash_table_lookup(n->filters, keys->pdata[i]);
                g_string_append_printf(list, "%s%s %" G_GUINT64_FORMAT, i ? ", " : "", (char *) keys->pdata[i],
                                       fs->suppressed);
        }
        if (keys->len > 5)
                g_string_append_printf(list, ", and %u more filters", keys->len - 5);
        g_autofree char *msg = g_strdup_printf(
                "suppressed %" G_GUINT64_FORMAT " blocked-packet events in the last %d s (rate limits: %g/s per filter, "
                "%g/s in all): %s",
                n->suppressed_since_report, LG_NETLOG_REPORT_SEC, LG_NETLOG_FILTER_RATE, LG_NETLOG_GLOBAL_RATE,
                list->str);
        g_autofree char *m1 = g_strdup_printf("MESSAGE=%s", msg);
        g_autofree char *m2 = g_strdup_printf("LEAKGUARD_SUPPRESSED=%" G_GUINT64_FORMAT, n->suppressed_since_report);
        g_autofree char *m3 = g_strdup_printf("LEAKGUARD_SUPPRESSED_TOTAL=%" G_GUINT64_FORMAT, n->stats.suppressed);
        g_autofree char *m4 = g_strdup_printf("LEAKGUARD_INTERVAL_SEC=%d", LG_NETLOG_REPORT_SEC);
        struct iovec iov[] = {
                {m1, strlen(m1)},
                {(char *) "MESSAGE_ID=" MESSAGE_ID_SUPPRESSED, strlen("MESSAGE_ID=" MESSAGE_ID_SUPPRESSED)},
                {(char *) "PRIORITY=4", strlen("PRIORITY=4")},
                {m2, strlen(m2)},
                {m3, strlen(m3)},
                {m4, strlen(m4)},
        };
        if (!journal_available() || sd_journal_sendv(iov, G_N_ELEMENTS(iov)) < 0)
                g_message("%s", msg);
        n->stats.reports++;
        n->suppressed_since_report = 0;
        g_hash_table_iter_init(&it, n->filters);
        while (g_hash_table_iter_next(&it, NULL, &v))
                ((FilterState *) v)->suppressed = 0;
        return 0;
}

static void suppress(LgNetlog *n, FilterState *fs) {
        n->stats.suppressed++;
        fs->suppressed++;
        if (n->suppressed_since_report++ > 0)
                return;
        /* The first suppression since the last report arms the next one. */
        uint64_t now;
        if (sd_event_now(n->event, CLOCK_MONOTONIC, &now) < 0)
                return;
        if (!n->report) {
                if (sd_event_add_time(n->event, &n->report, CLOCK_MONOTONIC,
                                      now + (uint64_t) LG_NETLOG_REPORT_SEC * 1000000, 0, on_report, n) < 0)
                        return;
        } else
                sd_event_source_set_time(n->report, now + (uint64_t) LG_NETLOG_REPORT_SEC * 1000000);
        sd_event_source_set_enabled(n->report, SD_EVENT_ONESHOT);
}

static void handle_event(LgNetlog *n, LgNetEvent *ev) {
        n->stats.received++;
        if (!ev->policy || !n->resolve || !n->resolve(ev, n->userdata)) {
                n->stats.unmatched++;
                return;
        }
        uint64_t now = now_usec();
        FilterState *fs = g_hash_table_lookup(n->filters, ev->prefix);
        if (!fs) {
                if (g_hash_table_size(n->filters) >= MAX_FILTER_STATES)
                        g_hash_table_remove_all(n->filters);
                fs = g_new0(FilterState, 1);
                lg_token_bucket_init(&fs->bucket, LG_NETLOG_FILTER_RATE, LG_NETLOG_FILTER_BURST, now);
                g_hash_table_insert(n->filters, g_strdup(ev->prefix), fs);
        }
        /* Both buckets must have a token, and only then is one taken from each: an event the
         * global limit holds back does not use up its filter's share, nor the other way round. */
        if (!lg_token_bucket_peek(&fs->bucket, now) || !lg_token_bucket_peek(&n->global, now)) {
                suppress(n, fs);
                return;
        }
        lg_token_bucket_take(&fs->bucket, now);
        lg_token_bucket_take(&n->global, now);
        /* Names only for what goes out: a flood costs no interface lookups. */
        int ifindex = lg_layer_is_inbound(ev->packet.layer) ? ev->ifindex_in : ev->ifindex_out;
        char name[IF_NAMESIZE];
        if (ifindex > 0 && if_indextoname((unsigned) ifindex, name))
                g_strlcpy(ev->packet.interface, name, sizeof(ev->packet.interface));
        n->stats.emitted++;
        journal_event(n, ev);
        if (n->emit)
                n->emit(ev, n->userdata);
}

static int handle_message(const struct nlmsghdr *nlh, void *data) {
        LgNetlog *n = data;
        LgNetEvent ev;
        if (!lg_netevent_parse(nlh, nlh->nlmsg_len, &ev)) {
                n->stats.malformed++;
                return MNL_CB_OK;
        }
        handle_event(n, &ev);
        lg_packet_clear(&ev.packet);
        return MNL_CB_OK;
}

static int on_readable(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        LgNetlog *n = userdata;
        for (int i = 0; i < READ_BUDGET; i++) {
                ssize_t len = recv(fd, n->buf, n->bufsize, MSG_DONTWAIT);
                if (len < 0) {
                        if (errno == EAGAIN || errno == EWOULDBLOCK)
                                return 0;
                        if (errno == ENOBUFS) {
                                n->stats.overruns++;
                                continue;
                        }
                        if (errno == EINTR)
                                continue;
                        g_warning("reading NFLOG group %u: %s", n->group, g_strerror(errno));
                        return 0;
                }
                /* Packet messages carry sequence 0 and port 0: no checks of either. */
                mnl_cb_run(n->buf, (size_t) len, 0, 0, handle_message, n);
        }
        return 0; /* more may wait: sd-event calls again after serving higher priorities */
}

/* ---- lifetime ---- */

int lg_netlog_new(sd_event *event, uint16_t group, LgNetlog **ret, char **error_text) {
        g_autoptr(LgNetlog) n = g_new0(LgNetlog, 1);
        n->group = group;
        n->event = sd_event_ref(event);
        n->filters = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        n->bufsize = MAX(NLBUFSIZ * 2, MNL_SOCKET_BUFFER_SIZE);
        n->buf = g_malloc(n->bufsize);
        lg_token_bucket_init(&n->global, LG_NETLOG_GLOBAL_RATE, LG_NETLOG_GLOBAL_BURST, now_usec());
        const char *step = "open a netlink socket";
        int k = 0;
        n->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (!n->nl)
                k = -errno;
        if (k >= 0) {
                step = "bind the netlink socket";
                if (mnl_socket_bind(n->nl, 0, MNL_SOCKET_AUTOPID) < 0)
                        k = -errno;
        }
        if (k >= 0) {
                int size = RCVBUF_BYTES;
                /* FORCE needs CAP_NET_ADMIN, which the daemon has; otherwise rmem_max caps it. */
                if (setsockopt(mnl_socket_get_fd(n->nl), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
                        (void) setsockopt(mnl_socket_get_fd(n->nl), SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
                step = "bind the NFLOG group (another program, ulogd for one, may hold it)";
                k = config_cmd(n, NFULNL_CFG_CMD_BIND, 1);
        }
        if (k >= 0) {
                step = "configure the NFLOG group";
                k = config_params(n, 2);
        }
        if (k >= 0) {
                step = "watch the NFLOG socket";
                k = sd_event_add_io(event, &n->io, mnl_socket_get_fd(n->nl), EPOLLIN, on_readable, n);
        }
        if (k >= 0)
                /* Below the bus (priority 0): a flood of events never starves method calls. */
                k = sd_event_source_set_priority(n->io, SD_EVENT_PRIORITY_NORMAL + 10);
        if (k < 0) {
                if (error_text)
                        *error_text = g_strdup_printf("cannot %s %u: %s", step, group, g_strerror(-k));
                return k;
        }
        *ret = g_steal_pointer(&n);
        return 0;
}

void lg_netlog_free(LgNetlog *n) {
        if (!n)
                return;
        sd_event_source_disable_unref(n->io);
        sd_event_source_disable_unref(n->report);
        /* Closing the socket unbinds the group: the kernel drops instances of a released port. */
        if (n->nl)
                mnl_socket_close(n->nl);
        sd_event_unref(n->event);
        g_hash_table_unref(n->filters);
        g_free(n->buf);
        g_free(n);
}

void lg_netlog_set_handlers(LgNetlog *n, LgNetlogResolve resolve, LgNetlogEmit emit, void *userdata) {
        n->resolve = resolve;
        n->emit = emit;
        n->userdata = userdata;
}

void lg_netlog_get_stats(const LgNetlog *n, LgNetlogStats *ret) {
        *ret = n->stats;
}

uint16_t lg_netlog_group(const LgNetlog *n) {
        return n->group;
}
