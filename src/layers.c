#include "layers.h"
#include "error.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <string.h>

typedef struct {
        GHashTable *counters;
        const char *table;
} DumpCtx;

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
                uint32_t len = 0;
                const void *udata = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);
                const struct nftnl_udata *comment = NULL;
                if (udata)
                        nftnl_udata_parse(udata, len, on_udata, &comment);
                if (comment) {
                        /* Bounded by the attribute, whether or not nftables put a NUL there. */
                        g_autofree char *text = g_strndup(nftnl_udata_get(comment), nftnl_udata_len(comment));
                        char *key = g_strdup_printf("%s %s", nftnl_rule_get_str(r, NFTNL_RULE_CHAIN), text);
                        LgCounter *sum = g_hash_table_lookup(d->counters, key);
                        if (!sum) {
                                sum = g_new0(LgCounter, 1);
                                g_hash_table_insert(d->counters, key, sum);
                        } else
                                g_free(key);
                        nftnl_expr_foreach(r, on_expr, sum);
                }
        }
        nftnl_rule_free(r);
        return MNL_CB_OK;
}

GHashTable *lg_layers_read_counters(const char *table, GError **error) {
        g_autoptr(GHashTable) counters = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
        if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
                int err = errno;
                if (nl)
                        mnl_socket_close(nl);
                g_set_error(error, LG_ERROR, LG_ERROR_APPLY_FAILED, "cannot open a netfilter netlink socket: %s",
                            g_strerror(err));
                return NULL;
        }
        char buf[MNL_SOCKET_BUFFER_SIZE];
        memset(buf, 0, sizeof buf); /* libnftnl leaves padding undefined; valgrind checks every byte sent */
        uint32_t seq = 1;
        struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, NFPROTO_INET, NLM_F_DUMP, seq);
        struct nftnl_rule *r = nftnl_rule_alloc();
        nftnl_rule_set_str(r, NFTNL_RULE_TABLE, table);
        nftnl_rule_nlmsg_build_payload(nlh, r);
        nftnl_rule_free(r);
        DumpCtx d = {.counters = counters, .table = table};
        int k = 0;
        if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
                k = -errno;
        uint32_t portid = mnl_socket_get_portid(nl);
        while (k == 0) {
                ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof buf);
                if (n < 0) {
                        k = -errno;
                        break;
                }
                int res = mnl_cb_run(buf, (size_t) n, seq, portid, on_rule, &d);
                if (res < 0)
                        k = errno == ENOENT ? 1 : -errno; /* ENOENT: no such table, nothing counted */
                else if (res == MNL_CB_STOP)
                        k = 1;
        }
        mnl_socket_close(nl);
        if (k < 0) {
                g_set_error(error, LG_ERROR, LG_ERROR_APPLY_FAILED, "cannot read the counters of table %s: %s", table,
                            g_strerror(-k));
                return NULL;
        }
        return g_steal_pointer(&counters);
}
