/* Why libmnl and not a raw AF_NETLINK socket: libnftables already links libmnl (Debian's
 * libnftables1 depends on libmnl0), so the daemon gains no new run-time library, and libmnl's
 * attribute walker checks every attribute's length against the message before we read it:
 * kernel messages parsed by hand are where such code usually goes wrong. Everything else here is
 * plain netlink: one socket, subscribed to NFNLGRP_NFTABLES, read when sd-event says it is
 * readable. No timer polls the kernel.
 *
 * Telling our own changes from foreign ones: every nftables event carries, as nlmsg_pid, the
 * netlink port id of the socket that sent the transaction. The manager keeps one nftables
 * context (one socket) for its whole life (DESIGN.md §1), so its port id is found once, by
 * looking at this process's own NETLINK_NETFILTER sockets. The NEWGEN event that ends every
 * transaction also names the committing process (NFTA_GEN_PROC_PID, a pid of the initial pid
 * namespace); it is used for the log, and as a second, independent sign of "ours" when the daemon
 * runs in the initial pid namespace. */
#include "watch.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* A foreign change that verification cannot see (set elements, the text of a rule) is repaired
 * at most this often, so that a misattributed event can never turn into a busy loop. */
#define FORCED_REPAIR_INTERVAL_USEC (1000 * 1000)
/* Room for bursts: our own transactions of 100,000 set elements send one event per element. */
#define RCVBUF_BYTES (8 * 1024 * 1024)

struct LgWatch {
        LgManager *m;
        struct mnl_socket *nl;
        sd_event *event;
        sd_event_source *io;
        sd_event_source *timer; /* a rate-limited forced repair, when one waits */
        GArray *own_portids;    /* guint32: this process's NETLINK_NETFILTER sockets */
        /* The transaction being read: its object events come first, then NEWGEN ends it. */
        bool batch_touched;     /* it changed one of our tables */
        bool batch_unknown;     /* it held events we could not attribute to a table */
        char *batch_what;       /* the first change to our tables, for the log */
        GPtrArray *batch_sets;  /* "TABLE SET" of our sets whose elements it may have changed */
        bool batch_all_sets;    /* it may have changed any of them (a table event, one unknown) */
        /* Our sets whose elements foreign transactions may have changed since the last repair
         * ("TABLE SET"), or NULL: all of them (events were lost or not listened to). The others
         * still hold what we wrote, so a repair need not send their elements again, which for a
         * large interval set is seconds: the kernel refills an rbtree slowly over its flushed nodes. */
        GHashTable *dirty;
        /* What the events read so far call for, done once they are all read (note_check()). */
        char *check_reason;
        bool check_force;
        guint64 last_forced;    /* CLOCK_MONOTONIC µs of the last forced repair */
        char *pending_reason;   /* the reason of the forced repair the timer will make */
        /* Not listening while the manager sends a large batch of its own (LgManagerQuiet). */
        bool deaf;
        guint32 deaf_generation; /* the kernel's ruleset generation when we stopped listening */
        sd_event_source *deferred; /* a repair once the manager's change is done */
        char *deferred_reason;
        LgWatchStats stats;
};

static const char *const our_tables[] = {LG_TABLE_PERSISTENT, LG_TABLE_DYNAMIC, LG_TABLE_GUARD};

static void notify(LgManager *m) {
        if (m->changed)
                m->changed(m, m->changed_userdata);
}

/* The manager runs on the last saved ruleset when the saved state no longer applies
 * (lg_manager_restore): it has nothing enabled, so lg_manager_repair() would delete the rules it
 * deliberately kept. Then a foreign change is answered by applying that saved ruleset again (its
 * text replaces the whole table in one transaction), until the next Enable makes the kernel known. */
static bool manager_in_fallback(LgManager *m) {
        return g_hash_table_size(m->enabled) == 0 && (m->applied->persistent || m->applied->dynamic);
}

static void repair_fallback(LgWatch *w, const char *reason) {
        g_autoptr(GError) e = NULL;
        g_autofree char *text = lg_state_load_ruleset(w->m->state_dir, &e);
        if (!text || !lg_nft_run(w->m->nft, text, &e)) {
                g_warning("%s; cannot apply the last saved ruleset again: %s", reason,
                          e ? e->message : "there is none");
                return;
        }
        w->stats.repairs++;
        g_message("%s; applied the last saved ruleset again (the saved state is unusable)", reason);
        if (lg_manager_verify(w->m))
                notify(w->m);
}

static void set_degraded(LgManager *m, const char *reason) {
        g_warning("degraded: %s", reason);
        g_free(m->reason);
        m->reason = g_strdup(reason);
        m->state = LG_RUN_DEGRADED;
}

static void all_sets_dirty(LgWatch *w) {
        g_clear_pointer(&w->dirty, g_hash_table_unref);
}

static void repair(LgWatch *w) {
        g_autoptr(GError) e = NULL;
        w->stats.repairs++;
        bool ok = lg_manager_repair(w->m, w->dirty, &e);
        if (ok) /* every set is known again: what the repair sent, or what it kept */
                w->dirty = w->dirty ? (g_hash_table_remove_all(w->dirty), w->dirty)
                                    : g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        if (!ok) {
                /* The kernel refused: the state stays degraded (already announced) and the next
                 * event, or Enable, tries again. */
                g_warning("cannot repair the tables: %s", e->message);
                return;
        }
        g_message("tables repaired: %s, generation %" G_GUINT64_FORMAT, lg_run_state_to_string(w->m->state),
                  w->m->generation);
}

static guint64 now_usec(void) {
        return g_get_monotonic_time();
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        LgWatch *w = userdata;
        g_autofree char *reason = g_steal_pointer(&w->pending_reason);
        w->timer = sd_event_source_unref(w->timer);
        if (!reason)
                return 0;
        if (manager_in_fallback(w->m)) {
                repair_fallback(w, reason);
                return 0;
        }
        /* Degraded was announced when the change was seen; an Enable since then does not undo a
         * foreign element (it changes elements relative to what we wrote), so repair regardless. */
        w->last_forced = now_usec();
        repair(w);
        return 0;
}

/* Something changed our tables behind our back, or events were lost (`reason` says which). */
static void check(LgWatch *w, const char *reason, bool force) {
        LgManager *m = w->m;
        if (manager_in_fallback(m)) {
                if (force)
                        repair_fallback(w, reason);
                return;
        }
        bool changed = lg_manager_verify(m);
        if (m->state != LG_RUN_DEGRADED) {
                /* Verification compares chains, rule counts and set names; a foreign change of set
                 * elements or of a rule's text passes it, so a foreign change is repaired anyway. */
                if (!force) {
                        if (changed)
                                notify(m);
                        return;
                }
                guint64 now = now_usec();
                if (w->last_forced && now - w->last_forced < FORCED_REPAIR_INTERVAL_USEC) {
                        set_degraded(m, reason);
                        notify(m);
                        g_free(w->pending_reason);
                        w->pending_reason = g_strdup(reason);
                        if (!w->timer &&
                            sd_event_add_time(w->event, &w->timer, CLOCK_MONOTONIC,
                                              w->last_forced + FORCED_REPAIR_INTERVAL_USEC, 0, on_timer, w) < 0)
                                g_warning("cannot schedule a repair");
                        return;
                }
                w->last_forced = now;
                set_degraded(m, reason);
                changed = true;
        }
        if (changed)
                notify(m);
        repair(w);
}

static int on_deferred(sd_event_source *s, void *userdata) {
        LgWatch *w = userdata;
        g_autofree char *reason = g_steal_pointer(&w->deferred_reason);
        w->deferred = sd_event_source_disable_unref(w->deferred);
        if (reason)
                check(w, reason, true);
        return 0;
}

static void check_later(LgWatch *w, const char *reason) {
        g_warning("%s", reason);
        all_sets_dirty(w);
        g_free(w->deferred_reason);
        w->deferred_reason = g_strdup(reason);
        if (!w->deferred && sd_event_add_defer(w->event, &w->deferred, on_deferred, w) < 0) {
                g_warning("cannot schedule a repair");
                set_degraded(w->m, reason);
        }
}

/* LgManagerQuiet: the kernel builds an event for every element of a batch for each listener (half
 * a second for 100,000 prefixes), and we would only read and discard ours. So we leave the group
 * for the batch, and the ruleset generation tells whether anything else was committed meanwhile:
 * it moves by one per transaction, so it must have moved by exactly our batch. If not, another
 * process changed something we did not see, and the tables are repaired as after a foreign event. */
static void on_quiet(LgManager *m, bool begin, bool committed, void *userdata) {
        LgWatch *w = userdata;
        int group = NFNLGRP_NFTABLES;
        g_autoptr(GError) e = NULL;
        if (begin) {
                if (mnl_socket_setsockopt(w->nl, NETLINK_DROP_MEMBERSHIP, &group, sizeof group) < 0)
                        return; /* listening through it costs time, not safety */
                w->deaf = true;
                if (!lg_nft_generation(m->nft, &w->deaf_generation, &e)) {
                        g_warning("%s; listening to the whole batch", e->message);
                        on_quiet(m, false, false, w);
                }
                return;
        }
        if (!w->deaf)
                return;
        w->deaf = false;
        if (mnl_socket_setsockopt(w->nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0) {
                /* Left deaf, the watcher would miss every later change: nothing else may stand in. */
                g_error("cannot listen to nftables events again: %s", g_strerror(errno));
        }
        guint32 now;
        if (!lg_nft_generation(m->nft, &now, &e))
                check_later(w, "the ruleset generation is unknown after a batch sent while not listening");
        else if (now != w->deaf_generation + (committed ? 1 : 0)) {
                w->stats.foreign_changes++;
                g_autofree char *why = g_strdup_printf(
                        "another transaction was committed while our batch was (ruleset generation %u, then %u)",
                        w->deaf_generation, now);
                check_later(w, why);
        }
}

static void find_own_portids(LgWatch *w);

static bool portid_known(const LgWatch *w, guint32 portid) {
        for (guint i = 0; i < w->own_portids->len; i++)
                if (g_array_index(w->own_portids, guint32, i) == portid)
                        return true;
        return false;
}

/* A netlink socket gets its port id when it first sends (autobind), so the nftables context's is
 * known only after its first transaction: an unknown port id makes us look again. */
static bool is_own_portid(LgWatch *w, guint32 portid) {
        if (portid_known(w, portid))
                return true;
        find_own_portids(w);
        return portid_known(w, portid);
}

static const char *event_name(int type) {
        switch (type) {
        case NFT_MSG_NEWTABLE: return "add table";
        case NFT_MSG_DELTABLE: return "delete table";
        case NFT_MSG_NEWCHAIN: return "add chain";
        case NFT_MSG_DELCHAIN: return "delete chain";
        case NFT_MSG_NEWRULE: return "add rule";
        case NFT_MSG_DELRULE: return "delete rule";
        case NFT_MSG_NEWSET: return "add set";
        case NFT_MSG_DELSET: return "delete set";
        case NFT_MSG_NEWSETELEM: return "add element";
        case NFT_MSG_DELSETELEM: return "delete element";
        case NFT_MSG_NEWOBJ: return "add object";
        case NFT_MSG_DELOBJ: return "delete object";
        case NFT_MSG_NEWFLOWTABLE: return "add flowtable";
        case NFT_MSG_DELFLOWTABLE: return "delete flowtable";
        default: return "change";
        }
}

typedef struct {
        const struct nlattr *tb[NFTA_GEN_MAX + 1];
} Attrs;

static int attr_cb(const struct nlattr *a, void *data) {
        Attrs *t = data;
        int type = mnl_attr_get_type(a);
        if (type > NFTA_GEN_MAX)
                return MNL_CB_OK;
        t->tb[type] = a;
        return MNL_CB_OK;
}

static void batch_reset(LgWatch *w) {
        w->batch_touched = w->batch_unknown = w->batch_all_sets = false;
        g_clear_pointer(&w->batch_what, g_free);
        g_ptr_array_set_size(w->batch_sets, 0);
}

/* Which of our sets' elements an event of our table `table` may have changed. */
static void note_sets(LgWatch *w, int type, const char *table, const Attrs *t) {
        switch (type) {
        case NFT_MSG_NEWCHAIN: case NFT_MSG_DELCHAIN: case NFT_MSG_NEWRULE: case NFT_MSG_DELRULE:
        case NFT_MSG_NEWOBJ: case NFT_MSG_DELOBJ: case NFT_MSG_NEWFLOWTABLE: case NFT_MSG_DELFLOWTABLE:
                return;
        case NFT_MSG_NEWSET: case NFT_MSG_DELSET: case NFT_MSG_NEWSETELEM: case NFT_MSG_DELSETELEM: {
                /* Attribute 2 is the set's name in set and element messages alike. */
                const struct nlattr *set = t->tb[NFTA_SET_NAME];
                if (set && mnl_attr_validate(set, MNL_TYPE_NUL_STRING) >= 0) {
                        g_ptr_array_add(w->batch_sets, g_strdup_printf("%s %s", table, mnl_attr_get_str(set)));
                        return;
                }
                break;
        }
        default: /* a table event, or a kind this code does not know */
                break;
        }
        w->batch_all_sets = true;
}

/* One check (and repair) for all the foreign transactions read in one go: repairing after each
 * would never return to the event loop while another process commits faster than we repair, and
 * D-Bus calls would wait for as long as it keeps on. */
static void note_check(LgWatch *w, const char *reason, bool force) {
        g_free(w->check_reason);
        w->check_reason = g_strdup(reason);
        w->check_force |= force;
}

static void run_noted_check(LgWatch *w) {
        g_autofree char *reason = g_steal_pointer(&w->check_reason);
        bool force = w->check_force;
        w->check_force = false;
        if (reason)
                check(w, reason, force);
}

static int on_message(const struct nlmsghdr *nlh, void *data) {
        LgWatch *w = data;
        if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES)
                return MNL_CB_OK;
        if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct nfgenmsg)))
                return MNL_CB_OK;
        int type = NFNL_MSG_TYPE(nlh->nlmsg_type);
        const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
        Attrs t = {{0}};
        if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), attr_cb, &t) < 0)
                t = (Attrs){{0}};

        if (type != NFT_MSG_NEWGEN) {
                /* In every nftables object message (table, chain, rule, set, element, object,
                 * flowtable; also the DESTROY* kinds newer kernels send) attribute 1 is the name of
                 * the table the object belongs to. */
                const struct nlattr *name = t.tb[NFTA_TABLE_NAME];
                if (!name || mnl_attr_validate(name, MNL_TYPE_NUL_STRING) < 0) {
                        w->batch_unknown = true;
                        return MNL_CB_OK;
                }
                if (g->nfgen_family != NFPROTO_INET)
                        return MNL_CB_OK;
                const char *table = mnl_attr_get_str(name);
                for (size_t i = 0; i < G_N_ELEMENTS(our_tables); i++)
                        if (g_str_equal(table, our_tables[i])) {
                                if (!w->batch_touched)
                                        w->batch_what = g_strdup_printf("%s in table inet %s", event_name(type), table);
                                w->batch_touched = true;
                                note_sets(w, type, table, &t);
                        }
                return MNL_CB_OK;
        }

        /* NEWGEN: the transaction is complete. */
        guint32 pid = 0;
        const char *comm = "?";
        if (t.tb[NFTA_GEN_PROC_PID] && mnl_attr_validate(t.tb[NFTA_GEN_PROC_PID], MNL_TYPE_U32) >= 0)
                pid = ntohl(mnl_attr_get_u32(t.tb[NFTA_GEN_PROC_PID]));
        if (t.tb[NFTA_GEN_PROC_NAME] && mnl_attr_validate(t.tb[NFTA_GEN_PROC_NAME], MNL_TYPE_NUL_STRING) >= 0)
                comm = mnl_attr_get_str(t.tb[NFTA_GEN_PROC_NAME]);
        if ((w->batch_touched || w->batch_unknown) && !is_own_portid(w, nlh->nlmsg_pid) &&
            !(pid != 0 && pid == (guint32) getpid())) {
                w->stats.foreign_changes++;
                if (w->batch_unknown || w->batch_all_sets)
                        all_sets_dirty(w);
                for (guint i = 0; w->dirty && i < w->batch_sets->len; i++)
                        g_hash_table_add(w->dirty, g_strdup(w->batch_sets->pdata[i]));
                g_autofree char *reason = g_strdup_printf("%s[%u] changed our rules (%s)", comm, pid,
                                                          w->batch_what ? w->batch_what : "unrecognised event");
                g_message("%s", reason);
                /* Unrecognised events may not concern us at all: verify, and repair only what
                 * differs. A change known to touch our tables is repaired in any case. */
                note_check(w, reason, w->batch_touched);
        }
        batch_reset(w);
        return MNL_CB_OK;
}

static int on_readable(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        LgWatch *w = userdata;
        /* Large enough for any skb the kernel multicasts (nf_tables batches events up to one page). */
        static char buf[65536];
        for (;;) {
                ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN) {
                                run_noted_check(w);
                                return 0;
                        }
                        if (errno == ENOBUFS) {
                                /* Events were lost (the buffer overflowed, e.g. during a huge
                                 * transaction): we cannot tell whose they were, so verify. A forced
                                 * repair here could overflow the buffer again with its own events. */
                                w->stats.overruns++;
                                batch_reset(w);
                                all_sets_dirty(w);
                                note_check(w, "nftables events were lost (receive buffer overrun)", false);
                                continue;
                        }
                        g_warning("reading nftables events: %s", g_strerror(errno));
                        run_noted_check(w);
                        return 0;
                }
                if (mnl_cb_run(buf, n, 0, 0, on_message, w) < 0 && errno != ENOENT)
                        g_debug("malformed nftables event: %s", g_strerror(errno));
        }
}

/* The port ids of this process's NETLINK_NETFILTER sockets: the manager's nftables context, and
 * (harmless) our own. */
static void find_own_portids(LgWatch *w) {
        g_array_set_size(w->own_portids, 0);
        g_autoptr(GDir) d = g_dir_open("/proc/self/fd", 0, NULL);
        const char *name;
        while (d && (name = g_dir_read_name(d))) {
                int fd = atoi(name);
                struct stat st;
                int domain = 0, proto = 0;
                socklen_t len = sizeof(int);
                if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
                        continue;
                if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 || domain != AF_NETLINK)
                        continue;
                len = sizeof(int);
                if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) < 0 || proto != NETLINK_NETFILTER)
                        continue;
                struct sockaddr_nl sa = {0};
                len = sizeof(sa);
                if (getsockname(fd, (struct sockaddr *) &sa, &len) < 0 || sa.nl_pid == 0)
                        continue;
                guint32 portid = sa.nl_pid;
                g_array_append_val(w->own_portids, portid);
        }
}

void lg_watch_free(LgWatch *w) {
        if (!w)
                return;
        if (w->stats.foreign_changes || w->stats.overruns)
                g_message("nftables watcher: %" G_GUINT64_FORMAT " foreign changes, %" G_GUINT64_FORMAT
                          " repairs, %" G_GUINT64_FORMAT " event overruns",
                          w->stats.foreign_changes, w->stats.repairs, w->stats.overruns);
        if (w->m && w->m->quiet_userdata == w) {
                w->m->quiet = NULL;
                w->m->quiet_userdata = NULL;
        }
        sd_event_source_disable_unref(w->io);
        sd_event_source_disable_unref(w->timer);
        sd_event_source_disable_unref(w->deferred);
        g_free(w->deferred_reason);
        sd_event_unref(w->event);
        if (w->nl)
                mnl_socket_close(w->nl);
        g_array_unref(w->own_portids);
        g_free(w->batch_what);
        g_free(w->check_reason);
        g_ptr_array_unref(w->batch_sets);
        if (w->dirty)
                g_hash_table_unref(w->dirty);
        g_free(w->pending_reason);
        g_free(w);
}

int lg_watch_new(sd_event *event, LgManager *m, LgWatch **ret) {
        LgWatch *w = g_new0(LgWatch, 1);
        w->m = m;
        w->event = sd_event_ref(event);
        w->own_portids = g_array_new(FALSE, FALSE, sizeof(guint32));
        w->batch_sets = g_ptr_array_new_with_free_func(g_free);
        /* w->dirty NULL: until the first repair, what the kernel's sets hold is not known (the
         * manager started from a read-back of names only). */
        int k = 0;
        w->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (!w->nl || mnl_socket_bind(w->nl, 0, MNL_SOCKET_AUTOPID) < 0)
                k = -errno;
        int group = NFNLGRP_NFTABLES;
        if (k == 0 && mnl_socket_setsockopt(w->nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0)
                k = -errno;
        if (k < 0) {
                lg_watch_free(w);
                return k;
        }
        int fd = mnl_socket_get_fd(w->nl);
        int size = RCVBUF_BYTES;
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
                (void) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
        k = sd_event_add_io(event, &w->io, fd, EPOLLIN, on_readable, w);
        if (k < 0) {
                lg_watch_free(w);
                return k;
        }
        find_own_portids(w);
        m->quiet = on_quiet;
        m->quiet_userdata = w;
        /* Subscribed: a change from now on is seen. One made before (between restore and now) is
         * found by verifying once (not in the restore's fallback, where nothing is known better). */
        if (!manager_in_fallback(m))
                check(w, "the kernel differs from what should be there at start-up", false);
        *ret = w;
        return 0;
}
