#include "nft.h"
#include "error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <string.h>

/* This process's NETLINK_NETFILTER sockets. */
static GArray *netfilter_fds(void) {
        GArray *fds = g_array_new(FALSE, FALSE, sizeof(int));
        g_autoptr(GDir) d = g_dir_open("/proc/self/fd", 0, NULL);
        const char *name;
        while (d && (name = g_dir_read_name(d))) {
                int fd = atoi(name), domain = 0, proto = 0;
                socklen_t len = sizeof domain;
                if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 || domain != AF_NETLINK)
                        continue;
                len = sizeof proto;
                if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) == 0 && proto == NETLINK_NETFILTER)
                        g_array_append_val(fds, fd);
        }
        return fds;
}

LgNft *lg_nft_new(bool dry_run, GError **error) {
        /* The context opens its one netlink socket when it is made; libnftables has no call that
         * returns it, so it is the one new NETLINK_NETFILTER socket (or unknown, -1). */
        g_autoptr(GArray) before = netfilter_fds();
        /* nft_ctx_new() exit()s if it cannot open its netlink socket: callers run with AF_NETLINK allowed. */
        struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!ctx) {
                g_set_error(error, LG_ERROR, LG_ERROR_APPLY_FAILED, "cannot create an nftables context");
                return NULL;
        }
        nft_ctx_buffer_output(ctx);
        nft_ctx_buffer_error(ctx);
        nft_ctx_set_dry_run(ctx, dry_run);
        LgNft *n = g_new0(LgNft, 1);
        n->ctx = ctx;
        n->dry_run = dry_run;
        n->ctx_fd = -1;
        g_autoptr(GArray) after = netfilter_fds();
        for (guint i = 0; i < after->len; i++) {
                int fd = g_array_index(after, int, i);
                bool old = false;
                for (guint j = 0; j < before->len; j++)
                        old |= g_array_index(before, int, j) == fd;
                if (!old)
                        n->ctx_fd = n->ctx_fd == -1 ? fd : -2;
        }
        if (n->ctx_fd < 0)
                n->ctx_fd = -1;
        return n;
}

void lg_nft_free(LgNft *n) {
        if (!n)
                return;
        if (n->read_nl)
                mnl_socket_close(n->read_nl);
        nft_ctx_free(n->ctx);
        g_free(n);
}

static void set_nft_error(LgNft *n, const char *what, GError **error) {
        const char *msg = nft_ctx_get_error_buffer(n->ctx);
        g_autofree char *trimmed = g_strstrip(g_strdup(msg ? msg : ""));
        g_set_error(error, LG_ERROR, LG_ERROR_APPLY_FAILED, "%s: %s", what,
                    *trimmed ? trimmed : "nftables reported an error");
}

/* libnftables keeps what it read of the kernel for a command in the context's cache, whose hash
 * tables take 256 KiB each: 1.2 MB of the idle daemon's heap with the guard's table (valgrind
 * massif), and idle RSS of 8.3 MB instead of 7.0 MB. Our own netlink batches move the ruleset
 * generation, after which the next command reads the kernel again anyway. nftables 1.0.6 frees the
 * cache only after a command that failed or was a dry run, so an empty dry run frees it. */
static void release_cache(LgNft *n) {
        if (n->dry_run)
                return;
        nft_ctx_set_dry_run(n->ctx, true);
        (void) nft_run_cmd_from_buffer(n->ctx, "");
        nft_ctx_set_dry_run(n->ctx, false);
}

bool lg_nft_run(LgNft *n, const char *cmds, GError **error) {
        if (nft_run_cmd_from_buffer(n->ctx, cmds) != 0) {
                set_nft_error(n, "nftables refused the transaction", error);
                return false;
        }
        release_cache(n);
        return true;
}

void lg_kernel_table_free(LgKernelTable *k) {
        if (!k)
                return;
        g_hash_table_unref(k->chains);
        g_hash_table_unref(k->base);
        g_hash_table_unref(k->sets);
        g_hash_table_unref(k->counters);
        if (k->chain_counters) /* Status may take it */
                g_hash_table_unref(k->chain_counters);
        g_free(k);
}

/* ---- reading back through netlink dumps ----
 *
 * libnftables' listings populate its cache with every set element of the table: with a
 * 100,000-element set, `list table` takes half a second even when told to be terse, and its JSON
 * printer of nftables 1.0.6 reads a table's flags after freeing them. Reading back only needs the
 * table's flags, chain and set names and each rule's counter and comment, so it dumps those
 * objects with libnftnl, which the nftables project maintains for exactly this, and never asks for
 * set elements. */

typedef struct {
        LgKernelTable *k;
        const char *table;
        bool found;
} DumpCtx;

static int on_table(const struct nlmsghdr *nlh, void *data) {
        DumpCtx *d = data;
        struct nftnl_table *t = nftnl_table_alloc();
        if (t && nftnl_table_nlmsg_parse(nlh, t) >= 0 &&
            g_strcmp0(nftnl_table_get_str(t, NFTNL_TABLE_NAME), d->table) == 0 &&
            nftnl_table_get_u32(t, NFTNL_TABLE_FAMILY) == NFPROTO_INET) {
                d->found = true;
                d->k->owner = (nftnl_table_get_u32(t, NFTNL_TABLE_FLAGS) & NFT_TABLE_F_OWNER) != 0;
        }
        nftnl_table_free(t);
        return MNL_CB_OK;
}

static int on_chain(const struct nlmsghdr *nlh, void *data) {
        DumpCtx *d = data;
        struct nftnl_chain *c = nftnl_chain_alloc();
        if (c && nftnl_chain_nlmsg_parse(nlh, c) >= 0 &&
            g_strcmp0(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE), d->table) == 0) {
                const char *name = nftnl_chain_get_str(c, NFTNL_CHAIN_NAME);
                if (!g_hash_table_contains(d->k->chains, name))
                        g_hash_table_insert(d->k->chains, g_strdup(name), GUINT_TO_POINTER(1));
                if (nftnl_chain_is_set(c, NFTNL_CHAIN_HOOKNUM))
                        g_hash_table_add(d->k->base, g_strdup(name));
        }
        nftnl_chain_free(c);
        return MNL_CB_OK;
}

static int on_set(const struct nlmsghdr *nlh, void *data) {
        DumpCtx *d = data;
        struct nftnl_set *s = nftnl_set_alloc();
        if (s && nftnl_set_nlmsg_parse(nlh, s) >= 0 && g_strcmp0(nftnl_set_get_str(s, NFTNL_SET_TABLE), d->table) == 0 &&
            !(nftnl_set_get_u32(s, NFTNL_SET_FLAGS) & NFT_SET_ANONYMOUS))
                g_hash_table_add(d->k->sets, g_strdup(nftnl_set_get_str(s, NFTNL_SET_NAME)));
        nftnl_set_free(s);
        return MNL_CB_OK;
}

static int on_udata(const struct nftnl_udata *attr, void *data) {
        if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT)
                *(const struct nftnl_udata **) data = attr;
        return 0;
}

static int on_expr(struct nftnl_expr *e, void *data) {
        LgCounter *sum = data;
        if (g_strcmp0(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "counter") == 0) {
                sum->packets += nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
                sum->bytes += nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_BYTES);
        }
        return 0;
}

static int on_rule(const struct nlmsghdr *nlh, void *data) {
        DumpCtx *d = data;
        struct nftnl_rule *r = nftnl_rule_alloc();
        if (r && nftnl_rule_nlmsg_parse(nlh, r) >= 0 && g_strcmp0(nftnl_rule_get_str(r, NFTNL_RULE_TABLE), d->table) == 0) {
                const char *chain = nftnl_rule_get_str(r, NFTNL_RULE_CHAIN);
                guint cnt = GPOINTER_TO_UINT(g_hash_table_lookup(d->k->chains, chain));
                g_hash_table_insert(d->k->chains, g_strdup(chain), GUINT_TO_POINTER(MAX(cnt, 1u) + 1));
                uint32_t len = 0;
                const void *udata = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);
                const struct nftnl_udata *comment = NULL;
                if (udata)
                        nftnl_udata_parse(udata, len, on_udata, &comment);
                if (comment) {
                        /* NUL-terminated by nftables, but bounded by the attribute either way. */
                        g_autofree char *key = g_strndup(nftnl_udata_get(comment), nftnl_udata_len(comment));
                        LgCounter rule = {0};
                        nftnl_expr_foreach(r, on_expr, &rule);
                        g_autofree char *per_chain = g_strdup_printf("%s %s", chain, key);
                        GHashTable *tables[2] = {d->k->counters, d->k->chain_counters};
                        char **keys[2] = {&key, &per_chain};
                        for (int i = 0; i < 2; i++) {
                                LgCounter *sum = g_hash_table_lookup(tables[i], *keys[i]);
                                if (!sum) {
                                        sum = g_new0(LgCounter, 1);
                                        g_hash_table_insert(tables[i], g_steal_pointer(keys[i]), sum);
                                }
                                sum->packets += rule.packets;
                                sum->bytes += rule.bytes;
                        }
                }
        }
        nftnl_rule_free(r);
        return MNL_CB_OK;
}

/* Sequence numbers of the read socket's requests. */
static uint32_t read_seq;

/* Sends `nlh` (built in `buf`) and hands each reply to `cb` until the kernel's last word: the end
 * of a dump, or the acknowledgement. 0, or -errno; ENOENT (no such table) is 0 with no reply. */
static int request(struct mnl_socket *nl, char *buf, size_t size, struct nlmsghdr *nlh, mnl_cb_t cb, void *data) {
        uint32_t seq = nlh->nlmsg_seq, portid = mnl_socket_get_portid(nl);
        if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
                return -errno;
        for (;;) {
                ssize_t n = mnl_socket_recvfrom(nl, buf, size);
                if (n < 0)
                        return -errno;
                int r = mnl_cb_run(buf, (size_t) n, seq, portid, cb, data);
                if (r < 0)
                        return errno == ENOENT ? 0 : -errno;
                if (r == MNL_CB_STOP)
                        return 0;
        }
}

/* One dump request for objects of `type` in `table`; the kernel filters by table where it can. */
static int dump(struct mnl_socket *nl, uint16_t type, const char *table, mnl_cb_t cb, DumpCtx *d) {
        char buf[MNL_SOCKET_BUFFER_SIZE];
        /* All of it defined: the request's padding is sent too, and valgrind checks every byte. */
        memset(buf, 0, sizeof buf);
        struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, type, NFPROTO_INET, NLM_F_DUMP, ++read_seq);
        if (type == NFT_MSG_GETRULE) {
                struct nftnl_rule *r = nftnl_rule_alloc();
                nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
                nftnl_rule_nlmsg_build_payload(nlh, r);
                nftnl_rule_free(r);
        } else if (type == NFT_MSG_GETCHAIN) {
                struct nftnl_chain *c = nftnl_chain_alloc();
                nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table);
                nftnl_chain_nlmsg_build_payload(nlh, c);
                nftnl_chain_free(c);
        } else if (type == NFT_MSG_GETSET) {
                struct nftnl_set *s = nftnl_set_alloc();
                nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
                nftnl_set_nlmsg_build_payload(nlh, s);
                nftnl_set_free(s);
        }
        return request(nl, buf, sizeof buf, nlh, cb, d);
}

static struct mnl_socket *read_socket_open(GError **error) {
        struct mnl_socket *nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
        if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
                int err = errno;
                if (nl)
                        mnl_socket_close(nl);
                g_set_error(error, LG_ERROR, LG_ERROR_APPLY_FAILED, "cannot open a netfilter netlink socket: %s",
                            g_strerror(err));
                return NULL;
        }
        return nl;
}

/* One read of table `table`: its flags, chains, sets and rules, or (`rules_only`) only its rules'
 * counters. 0 with *ret NULL when there is no such table, or -errno. */
static int read_table_once(struct mnl_socket *nl, const char *table, bool rules_only, LgKernelTable **ret) {
        LgKernelTable *k = g_new0(LgKernelTable, 1);
        k->chains = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        k->base = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        k->sets = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        k->counters = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        k->chain_counters = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        DumpCtx d = {.k = k, .table = table, .found = rules_only};
        int r = rules_only ? 0 : dump(nl, NFT_MSG_GETTABLE, table, on_table, &d);
        if (r >= 0 && d.found && !rules_only)
                r = dump(nl, NFT_MSG_GETCHAIN, table, on_chain, &d);
        if (r >= 0 && d.found && !rules_only)
                r = dump(nl, NFT_MSG_GETSET, table, on_set, &d);
        if (r >= 0 && d.found)
                r = dump(nl, NFT_MSG_GETRULE, table, on_rule, &d);
        if (r < 0 || !d.found)
                g_clear_pointer(&k, lg_kernel_table_free);
        *ret = k;
        return r;
}

/* Reads table `table` back as one consistent picture. A dump that a commit interrupts ends flagged
 * NLM_F_DUMP_INTR (EINTR here), and a commit between the separate dumps of chains, sets and rules
 * moves the ruleset generation: either way the read is made again, as libnftables does. Without
 * that, a repair under a stream of foreign changes took a table it could not read for absent. */
#define READ_ATTEMPTS 16
static LgKernelTable *read_table(LgNft *n, const char *table, bool rules_only, GError **error) {
        int r = -EINTR;
        for (int attempt = 0; attempt < READ_ATTEMPTS && r == -EINTR; attempt++) {
                guint32 before = 0, after = 0;
                /* The counters alone are one dump: it is consistent by itself. */
                if (!rules_only && !lg_nft_generation(n, &before, error))
                        return NULL;
                if (!n->read_nl && !(n->read_nl = read_socket_open(error)))
                        return NULL;
                LgKernelTable *k;
                r = read_table_once(n->read_nl, table, rules_only, &k);
                if (r < 0) {
                        /* A dump that failed half way may leave messages behind: start afresh. */
                        mnl_socket_close(n->read_nl);
                        n->read_nl = NULL;
                        continue;
                }
                if (!rules_only && !lg_nft_generation(n, &after, error)) {
                        lg_kernel_table_free(k);
                        return NULL;
                }
                if (before != after) {
                        lg_kernel_table_free(k);
                        r = -EINTR;
                        continue;
                }
                return k; /* NULL, without an error, when there is no such table */
        }
        g_set_error(error, LG_ERROR, LG_ERROR_APPLY_FAILED, "cannot read table %s: %s", table, g_strerror(-r));
        return NULL;
}

LgKernelTable *lg_nft_read_table(LgNft *n, const char *table, GError **error) {
        return read_table(n, table, false, error);
}

LgKernelTable *lg_nft_read_counters(LgNft *n, const char *table, GError **error) {
        return read_table(n, table, true, error);
}

static int on_gen(const struct nlmsghdr *nlh, void *data) {
        struct nlattr *a;
        mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
                if (mnl_attr_get_type(a) == NFTA_GEN_ID && mnl_attr_validate(a, MNL_TYPE_U32) == 0) {
                        *(uint32_t *) data = ntohl(mnl_attr_get_u32(a));
                        return MNL_CB_OK;
                }
        return MNL_CB_OK;
}

bool lg_nft_generation(LgNft *n, guint32 *gen, GError **error) {
        if (!n->read_nl && !(n->read_nl = read_socket_open(error)))
                return false;
        char buf[MNL_SOCKET_BUFFER_SIZE];
        memset(buf, 0, sizeof buf);
        struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, AF_UNSPEC, NLM_F_ACK, ++read_seq);
        uint32_t id = 0;
        int r = request(n->read_nl, buf, sizeof buf, nlh, on_gen, &id);
        if (r < 0 || !id) {
                mnl_socket_close(n->read_nl);
                n->read_nl = NULL;
                g_set_error(error, LG_ERROR, LG_ERROR_APPLY_FAILED, "cannot read the ruleset generation: %s",
                            g_strerror(r < 0 ? -r : EPROTO));
                return false;
        }
        *gen = id;
        return true;
}

bool lg_kernel_table_matches(const LgKernelTable *k, const LgTable *t, GString *why) {
        if (!t || !k) {
                if (!t && !k)
                        return true;
                g_string_append_printf(why, "table %s is %s", t ? t->name : "?",
                                       t ? "missing from the kernel" : "in the kernel but should not be");
                return false;
        }
        bool ok = true;
        if (k->owner != t->owner) {
                g_string_append_printf(why, "table %s: owner flag differs; ", t->name);
                ok = false;
        }
        if (g_hash_table_size(k->chains) != t->chains->len || g_hash_table_size(k->sets) != t->sets->len) {
                g_string_append_printf(why, "table %s holds %u chains and %u sets, expected %u and %u; ", t->name,
                                       g_hash_table_size(k->chains), g_hash_table_size(k->sets), t->chains->len,
                                       t->sets->len);
                ok = false;
        }
        for (guint i = 0; i < t->chains->len; i++) {
                const LgChain *c = t->chains->pdata[i];
                guint have = GPOINTER_TO_UINT(g_hash_table_lookup(k->chains, c->name));
                if (have == 0)
                        g_string_append_printf(why, "chain %s is missing; ", c->name);
                else if (have - 1 != c->rules->len)
                        g_string_append_printf(why, "chain %s has %u rules, expected %u; ", c->name, have - 1,
                                               c->rules->len);
                else if (c->base != g_hash_table_contains(k->base, c->name))
                        g_string_append_printf(why, "chain %s is %sa base chain; ", c->name, c->base ? "not " : "");
                else
                        continue;
                ok = false;
        }
        for (guint i = 0; i < t->sets->len; i++) {
                const LgSet *s = t->sets->pdata[i];
                if (!g_hash_table_contains(k->sets, s->name)) {
                        g_string_append_printf(why, "set %s is missing; ", s->name);
                        ok = false;
                }
        }
        return ok;
}

LgTable *lg_kernel_table_shape(const LgKernelTable *k, const char *table) {
        LgTable *t = lg_table_new(table, k->owner);
        GHashTableIter it;
        gpointer key;
        g_hash_table_iter_init(&it, k->chains);
        while (g_hash_table_iter_next(&it, &key, NULL))
                lg_table_add_chain(t, key, -1, g_hash_table_contains(k->base, key));
        g_hash_table_iter_init(&it, k->sets);
        while (g_hash_table_iter_next(&it, &key, NULL))
                lg_table_add_set(t, key);
        return t;
}

/* ---- set elements through netlink ---- */

typedef struct {
        uint8_t key[64], end[64];
        size_t len;
} ElemKey;

/* end := end + 1 over `len` big-endian bytes; false when it overflows (the range reaches the top). */
static bool increment(uint8_t *b, size_t len) {
        for (size_t i = len; i-- > 0;)
                if (++b[i] != 0)
                        return true;
        return false;
}

/* The inclusive range [key, end] of one canonical element string of a set of `type`. Field widths
 * and padding are nftables': each concatenated field takes a multiple of 4 bytes, ports are big
 * endian, interface names are 16 bytes, a wildcard "pre*" spans "pre\0…" to "pre\xff…". */
static bool element_range(const char *type, const char *elem, ElemKey *k) {
        memset(k, 0, sizeof *k);
        if (g_str_equal(type, "ifname")) {
                size_t n = strlen(elem);
                if (n < 2 || elem[0] != '"' || elem[n - 1] != '"' || n - 2 >= LG_IFNAMSIZ)
                        return false;
                bool wildcard = elem[n - 2] == '*';
                size_t body = n - 2 - wildcard;
                memcpy(k->key, elem + 1, body);
                memcpy(k->end, elem + 1, body);
                if (wildcard)
                        memset(k->end + body, 0xff, LG_IFNAMSIZ - body);
                k->len = LG_IFNAMSIZ;
                return true;
        }
        if (g_str_equal(type, "inet_service")) {
                LgPortRange r;
                if (!lg_parse_port_range(elem, &r, NULL))
                        return false;
                k->key[0] = r.lo >> 8, k->key[1] = r.lo & 0xff;
                k->end[0] = r.hi >> 8, k->end[1] = r.hi & 0xff;
                k->len = 2;
                return true;
        }
        if (g_str_equal(type, "ipv4_addr") || g_str_equal(type, "ipv6_addr")) {
                LgAddr a;
                if (!lg_parse_addr(elem, &a, NULL))
                        return false;
                k->len = a.family == 4 ? 4 : 16;
                memcpy(k->key, a.start, k->len);
                memcpy(k->end, a.end, k->len);
                return true;
        }
        /* ipvX_addr . inet_proto . inet_service */
        g_auto(GStrv) f = g_strsplit(elem, " . ", 3);
        LgAddr a;
        if (g_strv_length(f) != 3 || !lg_parse_addr(f[0], &a, NULL))
                return false;
        size_t alen = a.family == 4 ? 4 : 16;
        memcpy(k->key, a.start, alen);
        memcpy(k->end, a.end, alen);
        if (g_str_equal(f[1], "0-255"))
                k->key[alen] = 0, k->end[alen] = 255;
        else if (g_str_equal(f[1], "tcp") || g_str_equal(f[1], "udp"))
                k->key[alen] = k->end[alen] = g_str_equal(f[1], "tcp") ? IPPROTO_TCP : IPPROTO_UDP;
        else
                return false;
        LgPortRange r;
        if (!lg_parse_port_range(f[2], &r, NULL))
                return false;
        k->key[alen + 4] = r.lo >> 8, k->key[alen + 5] = r.lo & 0xff;
        k->end[alen + 4] = r.hi >> 8, k->end[alen + 5] = r.hi & 0xff;
        k->len = alen + 8;
        return true;
}

/* NFTA_SET_ELEM_KEY or _KEY_END: a nest holding one NFTA_DATA_VALUE. */
static void put_data(struct nlmsghdr *nlh, uint16_t type, const uint8_t *value, size_t len) {
        struct nlattr *nest = mnl_attr_nest_start(nlh, type);
        mnl_attr_put(nlh, NFTA_DATA_VALUE, len, value);
        mnl_attr_nest_end(nlh, nest);
}

/* One element of an NFTA_SET_ELEM_LIST_ELEMENTS nest, numbered as libnftnl numbers them. */
static void put_element(struct nlmsghdr *nlh, uint16_t *index, const uint8_t *key, const uint8_t *end, size_t len,
                        uint32_t flags) {
        struct nlattr *nest = mnl_attr_nest_start(nlh, ++*index);
        if (flags)
                mnl_attr_put_u32(nlh, NFTA_SET_ELEM_FLAGS, htonl(flags));
        put_data(nlh, NFTA_SET_ELEM_KEY, key, len);
        if (end)
                put_data(nlh, NFTA_SET_ELEM_KEY_END, end, len);
        mnl_attr_nest_end(nlh, nest);
}

/* Writes the kernel elements of one element, given as its range: hash sets take the key alone; interval
 * concatenations (pipapo) carry key and key_end; plain interval sets (rbtree) take a start element
 * and an end element at end+1 flagged NFT_SET_ELEM_INTERVAL_END, none when the range reaches the top.
 * The attributes are the ones nftnl_set_elems_nlmsg_build_payload() writes, put straight into the
 * batch: libnftnl's element objects (an allocation, a list node and a free per kernel element) were
 * 10 of the 25 ms that encoding 100,000 prefixes took. */
static bool put_kernel_range(struct nlmsghdr *nlh, uint16_t *index, const LgSet *set, ElemKey *k) {
        if (!set->interval && memcmp(k->key, k->end, k->len) != 0)
                return false; /* a range cannot be a hash set's element */
        bool concat = strchr(set->type, '.') != NULL;
        put_element(nlh, index, k->key, concat && set->interval ? k->end : NULL, k->len, 0);
        if (set->interval && !concat && increment(k->end, k->len))
                put_element(nlh, index, k->end, NULL, k->len, NFT_SET_ELEM_INTERVAL_END);
        return true;
}

/* The same from one element string. */
static bool put_kernel_elements(struct nlmsghdr *nlh, uint16_t *index, const LgSet *set, const char *elem) {
        ElemKey k;
        return element_range(set->type, elem, &k) && put_kernel_range(nlh, index, set, &k);
}

/* The same from the range the compiler printed `elem` from (LgSet.ranges): not parsing 100,000
 * prefixes back took 7 ms off their Enable (A/B, medians of 15). */
static bool put_kernel_addr(struct nlmsghdr *nlh, uint16_t *index, const LgSet *set, const LgAddr *a) {
        ElemKey k = {.len = a->family == 4 ? 4 : 16};
        memcpy(k.key, a->start, k.len);
        memcpy(k.end, a->end, k.len);
        return put_kernel_range(nlh, index, set, &k);
}

/* An element message's header and the set it is for; the elements follow in a nest. */
static struct nlmsghdr *put_elements_header(struct mnl_nlmsg_batch *batch, uint16_t type, uint16_t flags, uint32_t seq,
                                            const char *table, const char *set) {
        struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(batch), type, NFPROTO_INET, flags, seq);
        mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set);
        mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table);
        return nlh;
}

#define ELEMS_PER_MESSAGE 256

bool lg_nft_update_elements(LgNft *n, const LgTable *const *want, const LgTable *const *have, size_t count,
                            bool *sent, GError **error) {
        *sent = false;
        size_t total = 0, nsets = 0;
        bool owner = false;
        /* Per table, per set: the elements to delete and to add. */
        g_autoptr(GPtrArray) dels = g_ptr_array_new_with_free_func((GDestroyNotify) g_ptr_array_unref);
        g_autoptr(GPtrArray) adds = g_ptr_array_new_with_free_func((GDestroyNotify) g_ptr_array_unref);
        g_autoptr(GPtrArray) sets = g_ptr_array_new();
        g_autoptr(GPtrArray) tables = g_ptr_array_new();
        g_autoptr(GArray) flush = g_array_new(FALSE, TRUE, sizeof(gboolean));
        for (size_t t = 0; t < count; t++)
                for (guint i = 0; i < want[t]->sets->len; i++) {
                        const LgSet *s = want[t]->sets->pdata[i], *o = lg_table_find_set(have[t], s->name);
                        GPtrArray *del = g_ptr_array_new(), *add = g_ptr_array_new();
                        /* Unknown elements (a set read back from the kernel): flushed, then refilled. */
                        gboolean unknown = !o || !o->elements;
                        if (unknown)
                                g_ptr_array_extend(add, s->elements, NULL, NULL);
                        else
                                lg_set_diff(s, o, del, add);
                        g_array_append_val(flush, unknown);
                        total += del->len + add->len + (guint) unknown;
                        g_ptr_array_add(dels, del);
                        g_ptr_array_add(adds, add);
                        g_ptr_array_add(sets, (gpointer) s);
                        g_ptr_array_add(tables, (gpointer) want[t]);
                        owner |= want[t]->owner;
                        nsets++;
                }
        if (total == 0)
                return true;
        *sent = true;
        if (owner && n->ctx_fd < 0) {
                g_set_error(error, LG_ERROR, LG_ERROR_APPLY_FAILED,
                            "the nftables context's socket is unknown, so an owner-flagged table cannot be changed");
                return false;
        }
        /* One message per ELEMS_PER_MESSAGE elements; each element needs well under 256 bytes. */
        size_t size = 2 * MNL_SOCKET_BUFFER_SIZE + (total * 2 / ELEMS_PER_MESSAGE + 2 * nsets) * 1024 +
                      total * 2 * 256;
        /* Zeroed: libnftnl leaves attribute padding undefined and valgrind checks every byte sent
         * (calloc of a large block is fresh mmap()ed zero pages: no memset cost). */
        g_autofree char *buf = g_malloc0(size);
        struct mnl_nlmsg_batch *batch = mnl_nlmsg_batch_start(buf, size);
        /* Sequence numbers apart from the context's own (small, counting up from its creation). */
        static uint32_t next_seq = 0x40000000;
        uint32_t seq = next_seq, first = seq;
        nftnl_batch_begin(mnl_nlmsg_batch_current(batch), seq++);
        mnl_nlmsg_batch_next(batch);
        bool ok = true;
        for (int pass = 0; pass < 2 && ok; pass++) /* deletions first, as in the text form */
                for (guint i = 0; i < nsets && ok; i++) {
                        const LgSet *set = sets->pdata[i];
                        const LgTable *table = tables->pdata[i];
                        GPtrArray *elems = (pass == 0 ? dels : adds)->pdata[i];
                        if (pass == 0 && g_array_index(flush, gboolean, i)) {
                                /* NFT_MSG_DELSETELEM without an element list flushes the set. */
                                put_elements_header(batch, NFT_MSG_DELSETELEM, NLM_F_ACK, seq++, table->name, set->name);
                                mnl_nlmsg_batch_next(batch);
                        }
                        for (guint from = 0; from < elems->len && ok; from += ELEMS_PER_MESSAGE) {
                                struct nlmsghdr *nlh = put_elements_header(
                                        batch, pass == 0 ? NFT_MSG_DELSETELEM : NFT_MSG_NEWSETELEM,
                                        (pass == 0 ? 0 : NLM_F_CREATE) | NLM_F_ACK, seq++, table->name, set->name);
                                struct nlattr *list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
                                uint16_t index = 0;
                                /* Additions are a subset of set->elements, in its order: when
                                 * there are as many, they are all of them, one for one with the
                                 * ranges. */
                                const GArray *ranges = pass == 1 && set->ranges &&
                                                                       set->ranges->len == elems->len &&
                                                                       set->elements->len == elems->len
                                                               ? set->ranges
                                                               : NULL;
                                for (guint j = from; j < MIN(elems->len, from + ELEMS_PER_MESSAGE) && ok; j++)
                                        ok = ranges ? put_kernel_addr(nlh, &index, set,
                                                                      &g_array_index(ranges, LgAddr, j))
                                                    : put_kernel_elements(nlh, &index, set, elems->pdata[j]);
                                mnl_attr_nest_end(nlh, list);
                                mnl_nlmsg_batch_next(batch);
                        }
                }
        nftnl_batch_end(mnl_nlmsg_batch_current(batch), seq++);
        mnl_nlmsg_batch_next(batch);
        next_seq = seq;
        if (!ok) {
                mnl_nlmsg_batch_stop(batch);
                g_set_error(error, LG_ERROR, LG_ERROR_APPLY_FAILED, "cannot encode a set element");
                return false;
        }
        struct mnl_socket *own = NULL;
        int fd = n->ctx_fd, err = 0;
        if (fd < 0) {
                own = mnl_socket_open(NETLINK_NETFILTER);
                if (!own || mnl_socket_bind(own, 0, MNL_SOCKET_AUTOPID) < 0)
                        err = errno;
                else
                        fd = mnl_socket_get_fd(own);
        }
        struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
        /* The whole batch goes in one sendto(), which the socket's send buffer must hold: raised as
         * libnftables raises it for its own batches (forced: we run as root). */
        int sndbuf = (int) MIN(mnl_nlmsg_batch_size(batch), (size_t) G_MAXINT / 2);
        if (!err && sndbuf > (int) MNL_SOCKET_BUFFER_SIZE &&
            setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) < 0 &&
            setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf) < 0)
                err = errno;
        /* Every element message is acknowledged, and the kernel queues all the ACKs (about 1 KiB of
         * socket memory each) before we read any. */
        uint32_t messages = seq - 1 - (first + 1);
        int rcvbuf = (int) MIN((size_t) messages * 2048 + MNL_SOCKET_BUFFER_SIZE, (size_t) G_MAXINT / 2);
        if (!err && messages > 64 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0 &&
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) < 0)
                err = errno;
        if (!err && sendto(fd, mnl_nlmsg_batch_head(batch), mnl_nlmsg_batch_size(batch), 0,
                           (struct sockaddr *) &kernel, sizeof kernel) < 0)
                err = errno;
        mnl_nlmsg_batch_stop(batch);
        /* One ACK per element message (first+1 .. seq-2), or the first error, which aborted it all. */
        uint32_t expected = messages, acked = 0;
        char rbuf[MNL_SOCKET_BUFFER_SIZE];
        while (!err && acked < expected) {
                ssize_t r = recv(fd, rbuf, sizeof rbuf, 0);
                if (r < 0) {
                        err = errno;
                        break;
                }
                int left = (int) r;
                for (struct nlmsghdr *h = (struct nlmsghdr *) rbuf; mnl_nlmsg_ok(h, left);
                     h = mnl_nlmsg_next(h, &left)) {
                        if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_seq < first || h->nlmsg_seq >= seq)
                                continue;
                        const struct nlmsgerr *e = mnl_nlmsg_get_payload(h);
                        if (e->error != 0) {
                                err = -e->error;
                                break;
                        }
                        acked++;
                }
        }
        /* Leave the shared socket as libnftables expects it: nothing of ours left to read. */
        while (recv(fd, rbuf, sizeof rbuf, MSG_DONTWAIT) > 0)
                ;
        if (own)
                mnl_socket_close(own);
        if (err) {
                g_set_error(error, LG_ERROR, LG_ERROR_APPLY_FAILED, "the kernel refused the set-element change: %s",
                            g_strerror(err));
                return false;
        }
        return true;
}
