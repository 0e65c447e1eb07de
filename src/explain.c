#include "explain.h"
#include "error.h"

#include <arpa/inet.h>
#include <linux/netfilter.h>
#include <netinet/in.h>
#include <string.h>

const char *lg_verdict_to_string(LgVerdict v) {
        return v == LG_VERDICT_BLOCK ? "block" : "permit";
}

/* ---- the packet description ---- */

const LgPacketKey lg_packet_keys[] = {
        {"layer", "s"}, {"protocol", "s"}, {"remote", "s"},    {"local", "s"},     {"interface", "s"}, {"uid", "u"},
        {"gid", "u"},   {"mark", "u"},     {"icmp_type", "s"}, {"cgroup", "s"},    {"state", "s"},
};
const size_t lg_packet_n_keys = G_N_ELEMENTS(lg_packet_keys);

void lg_packet_init(LgPacket *p) {
        memset(p, 0, sizeof(*p));
        p->layer = LG_LAYER_OUTBOUND;
        p->proto = -1;
        p->remote_port = p->local_port = -1;
        p->icmp_type = -1;
}

void lg_packet_clear(LgPacket *p) {
        g_clear_pointer(&p->cgroup, g_free);
        g_clear_pointer(&p->icmp_name, g_free);
}

static bool invalid(GError **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static bool invalid(GError **error, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        g_autofree char *msg = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        g_set_error_literal(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS, msg);
        return false;
}

static bool proto_has_ports(int proto) {
        return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_UDPLITE || proto == IPPROTO_SCTP ||
               proto == IPPROTO_DCCP;
}

/* ADDR, ADDR:PORT, [ADDR6]:PORT or [ADDR6]: one address, not a prefix or a range. */
static bool parse_endpoint(const char *key, const char *s, int *family, uint8_t addr[16], int *port, GError **error) {
        g_autofree char *host = NULL;
        const char *portstr = NULL;
        if (s[0] == '[') {
                const char *close = strchr(s, ']');
                if (!close || (close[1] != '\0' && close[1] != ':'))
                        goto bad;
                host = g_strndup(s + 1, close - s - 1);
                if (close[1] == ':')
                        portstr = close + 2;
        } else {
                const char *colon = strchr(s, ':');
                if (colon && colon == strrchr(s, ':')) {
                        host = g_strndup(s, colon - s);
                        portstr = colon + 1;
                } else
                        host = g_strdup(s);
        }
        memset(addr, 0, 16);
        if (inet_pton(AF_INET, host, addr) == 1 && s[0] != '[')
                *family = 4;
        else if (inet_pton(AF_INET6, host, addr) == 1 && (s[0] == '[' || !portstr))
                *family = 6;
        else
                goto bad;
        *port = -1;
        if (portstr) {
                uint64_t v;
                if (!lg_parse_uint64(portstr, 65535, &v))
                        goto bad;
                *port = (int) v;
        }
        return true;
bad:;
        g_autofree char *esc = g_strescape(s, NULL);
        return invalid(error, "packet key '%s': '%.60s' is not an address: expected ADDR, ADDR:PORT or [IPV6]:PORT",
                       key, esc);
}

static int protocol_from_string(const char *s) {
        uint64_t v;
        if (lg_parse_uint64(s, 255, &v))
                return (int) v;
        for (int i = 0; i < 256; i++) {
                const char *n = lg_protocol_name((uint8_t) i);
                if (n && g_str_equal(n, s))
                        return i;
        }
        return -1;
}

static bool set_numeric(LgPacket *p, const char *key, uint32_t v) {
        if (g_str_equal(key, "uid")) {
                p->uid = v;
                p->has_uid = true;
        } else if (g_str_equal(key, "gid")) {
                p->gid = v;
                p->has_gid = true;
        } else if (g_str_equal(key, "mark"))
                p->mark = v;
        else
                return false;
        return true;
}

static bool unknown_key(const char *key, GError **error) {
        const char *names[G_N_ELEMENTS(lg_packet_keys)];
        for (size_t i = 0; i < lg_packet_n_keys; i++)
                names[i] = lg_packet_keys[i].key;
        g_autofree char *hint = lg_suggest(key, names, lg_packet_n_keys);
        g_autofree char *esc = g_strescape(key, NULL);
        return invalid(error,
                       "unknown packet key '%.40s'%s: expected layer, protocol, remote, local, interface, uid, gid, "
                       "mark, icmp_type, cgroup or state",
                       esc, hint);
}

bool lg_packet_set_number(LgPacket *p, const char *key, uint32_t value, GError **error) {
        if (set_numeric(p, key, value))
                return true;
        for (size_t i = 0; i < lg_packet_n_keys; i++)
                if (g_str_equal(lg_packet_keys[i].key, key))
                        return invalid(error, "packet key '%s' is a string (D-Bus s), not a number", key);
        return unknown_key(key, error);
}

bool lg_packet_set_string(LgPacket *p, const char *key, const char *value, GError **error) {
        if (g_str_equal(key, "layer")) {
                for (int l = 0; l < _LG_LAYER_MAX; l++)
                        if (g_str_equal(value, lg_layer_to_string(l))) {
                                p->layer = l;
                                return true;
                        }
                g_autofree char *esc = g_strescape(value, NULL);
                return invalid(error, "unknown layer '%.40s': expected connect, accept, outbound, inbound or forward",
                               esc);
        }
        if (g_str_equal(key, "protocol")) {
                int v = protocol_from_string(value);
                if (v < 0) {
                        g_autofree char *esc = g_strescape(value, NULL);
                        return invalid(error,
                                       "unknown protocol '%.40s': expected tcp, udp, icmp, icmpv6, udplite, sctp, "
                                       "dccp, gre, esp, ah or a number from 0 to 255",
                                       esc);
                }
                p->proto = v;
                return true;
        }
        if (g_str_equal(key, "remote") || g_str_equal(key, "local")) {
                bool remote = g_str_equal(key, "remote");
                int fam = 0;
                if (!parse_endpoint(key, value, &fam, remote ? p->remote : p->local,
                                    remote ? &p->remote_port : &p->local_port, error))
                        return false;
                if ((remote ? p->has_local : p->has_remote) && fam != p->family)
                        return invalid(error, "'remote' and 'local' must be of one address family");
                p->family = fam;
                *(remote ? &p->has_remote : &p->has_local) = true;
                return true;
        }
        if (g_str_equal(key, "interface")) {
                g_autofree char *name = NULL;
                if (!lg_parse_interface(value, false, &name, error)) {
                        g_prefix_error(error, "packet key 'interface': ");
                        return false;
                }
                g_strlcpy(p->interface, name, sizeof(p->interface));
                return true;
        }
        if (g_str_equal(key, "cgroup")) {
                if (!lg_cgroup_path_valid(value)) {
                        g_autofree char *esc = g_strescape(value, NULL);
                        return invalid(error, "packet key 'cgroup': '%.60s' is not a cgroup v2 path (a relative path "
                                              "such as system.slice/foo.service)",
                                       esc);
                }
                g_free(p->cgroup);
                p->cgroup = g_strdup(value);
                return true;
        }
        if (g_str_equal(key, "state")) {
                if (g_str_equal(value, "new"))
                        p->established = false;
                else if (g_str_equal(value, "established"))
                        p->established = true;
                else {
                        g_autofree char *esc = g_strescape(value, NULL);
                        return invalid(error, "unknown state '%.40s': expected new or established", esc);
                }
                return true;
        }
        if (g_str_equal(key, "icmp_type")) {
                uint64_t v;
                if (lg_parse_uint64(value, 255, &v)) {
                        p->icmp_type = (int) v;
                        g_clear_pointer(&p->icmp_name, g_free);
                        return true;
                }
                /* A name: ICMP and ICMPv6 number their types differently, so it is resolved once
                 * the family is known (lg_packet_finish). */
                bool known = false;
                for (int i = 0; i < 256 && !known; i++) {
                        const char *n4 = lg_icmp_type_name(4, (uint8_t) i), *n6 = lg_icmp_type_name(6, (uint8_t) i);
                        known = (n4 && g_str_equal(n4, value)) || (n6 && g_str_equal(n6, value));
                }
                if (!known) {
                        g_autofree char *esc = g_strescape(value, NULL);
                        return invalid(error, "unknown ICMP type '%.40s': expected a number or a name such as "
                                              "echo-request",
                                       esc);
                }
                g_free(p->icmp_name);
                p->icmp_name = g_strdup(value);
                p->icmp_type = -1;
                return true;
        }
        for (size_t i = 0; i < lg_packet_n_keys; i++)
                if (g_str_equal(lg_packet_keys[i].key, key)) {
                        /* A numeric key given as text (the command line): decimal, or 0x hex. */
                        guint64 v;
                        bool hex = value[0] == '0' && (value[1] == 'x' || value[1] == 'X');
                        if (hex ? !g_ascii_isxdigit(value[2]) ||
                                          !g_ascii_string_to_unsigned(value + 2, 16, 0, UINT32_MAX, &v, NULL)
                                : !lg_parse_uint64(value, UINT32_MAX, (uint64_t *) &v)) {
                                g_autofree char *esc = g_strescape(value, NULL);
                                return invalid(error, "packet key '%s': '%.40s' is not a number from 0 to %u", key,
                                               esc, UINT32_MAX);
                        }
                        return set_numeric(p, key, (uint32_t) v);
                }
        return unknown_key(key, error);
}

bool lg_packet_finish(LgPacket *p, GError **error) {
        if (!p->has_remote && !p->has_local)
                return invalid(error, "the packet needs 'remote' (or 'local'): its address decides which rules apply");
        if (p->icmp_name) {
                for (int i = 0; i < 256 && p->icmp_type < 0; i++) {
                        const char *n = lg_icmp_type_name(p->family, (uint8_t) i);
                        if (n && g_str_equal(n, p->icmp_name))
                                p->icmp_type = i;
                }
                if (p->icmp_type < 0)
                        return invalid(error, "packet key 'icmp_type': '%s' is not an %s type", p->icmp_name,
                                       p->family == 6 ? "ICMPv6" : "ICMP");
        }
        if (p->icmp_type >= 0 && p->proto != IPPROTO_ICMP && p->proto != IPPROTO_ICMPV6)
                return invalid(error, "packet key 'icmp_type' needs protocol icmp or icmpv6");
        if (proto_has_ports(p->proto)) {
                /* A port protocol always has ports: one not given is 0. */
                if (p->remote_port < 0)
                        p->remote_port = 0;
                if (p->local_port < 0)
                        p->local_port = 0;
        } else if (p->remote_port >= 0 || p->local_port >= 0) {
                if (p->proto < 0)
                        return invalid(error, "a port needs a 'protocol' with ports (tcp, udp, udplite, sctp, dccp)");
                g_autoptr(GString) name = g_string_new(NULL);
                lg_packet_format_protocol(p->proto, name);
                return invalid(error, "protocol %s has no ports, but the packet gives one", name->str);
        }
        return true;
}

void lg_packet_format_endpoint(int family, const uint8_t addr[16], int port, GString *out) {
        char buf[INET6_ADDRSTRLEN];
        inet_ntop(family == 6 ? AF_INET6 : AF_INET, addr, buf, sizeof(buf));
        if (port < 0)
                g_string_append(out, buf);
        else if (family == 6)
                g_string_append_printf(out, "[%s]:%d", buf, port);
        else
                g_string_append_printf(out, "%s:%d", buf, port);
}

void lg_packet_format_protocol(int proto, GString *out) {
        const char *n = proto >= 0 ? lg_protocol_name((uint8_t) proto) : NULL;
        if (n)
                g_string_append(out, n);
        else
                g_string_append_printf(out, "%d", proto);
}

/* ---- one rule ---- */

typedef enum {
        M_NO,    /* the condition is false */
        M_YES,   /* the condition is true */
        M_BREAK, /* the kernel cannot evaluate it (no socket, no such ancestor): the rule fails, negated or not */
} Match;

static const LgValue *param(const LgRule *r, const char *name) {
        return g_hash_table_lookup(r->params, name);
}

static bool ifname_matches(const char *pattern, const char *name) {
        size_t n = strlen(pattern);
        if (n > 0 && pattern[n - 1] == '*')
                return strncmp(pattern, name, n - 1) == 0;
        return g_str_equal(pattern, name);
}

static Match match_interface(const LgRule *r, const LgCondition *c, LgLayer layer, const LgPacket *p) {
        for (guint i = 0; i < c->literal->names->len; i++)
                if (ifname_matches(c->literal->names->pdata[i], p->interface))
                        return M_YES;
        for (guint i = 0; i < c->params->len; i++) {
                const LgValue *v = param(r, c->params->pdata[i]);
                for (guint j = 0; v && j < v->names->len; j++)
                        if (ifname_matches(v->names->pdata[j], p->interface))
                                return M_YES;
        }
        return M_NO;
}

static bool addr_in(const LgAddr *a, int family, const uint8_t addr[16]) {
        int n = family == 4 ? 4 : 16;
        return a->family == family && memcmp(a->start, addr, n) <= 0 && memcmp(addr, a->end, n) <= 0;
}

/* An endpoint item: the address, and the protocol and port when the item names them. A packet
 * whose protocol has no ports matches only items without a port (the kernel would read some other
 * header field as the "port"; see the header comment of lg_rule_matches()). */
static bool endpoint_matches(const LgEndpoint *e, int family, const uint8_t addr[16], int proto, int port) {
        if (!addr_in(&e->addr, family, addr))
                return false;
        if (e->proto >= 0 && e->proto != proto)
                return false;
        if (e->port >= 0 && e->port != port)
                return false;
        return true;
}

static Match match_address(const LgRule *r, const LgCondition *c, LgLayer layer, const LgPacket *p) {
        bool remote = c->key == LG_COND_REMOTE;
        const uint8_t *addr = remote ? p->remote : p->local;
        int port = remote ? p->remote_port : p->local_port;
        for (guint i = 0; i < c->literal->endpoints->len; i++)
                if (endpoint_matches(&g_array_index(c->literal->endpoints, LgEndpoint, i), p->family, addr, p->proto,
                                     port))
                        return M_YES;
        for (guint i = 0; i < c->params->len; i++) {
                const LgValue *v = param(r, c->params->pdata[i]);
                for (guint j = 0; v && v->endpoints && j < v->endpoints->len; j++)
                        if (endpoint_matches(&g_array_index(v->endpoints, LgEndpoint, j), p->family, addr, p->proto,
                                             port))
                                return M_YES;
                for (guint j = 0; v && v->addrs && j < v->addrs->len; j++)
                        if (addr_in(&g_array_index(v->addrs, LgAddr, j), p->family, addr))
                                return M_YES;
        }
        return M_NO;
}

static bool port_in(GArray *ports, int port) {
        for (guint i = 0; ports && i < ports->len; i++) {
                const LgPortRange *pr = &g_array_index(ports, LgPortRange, i);
                if (port >= pr->lo && port <= pr->hi)
                        return true;
        }
        return false;
}

static Match match_port(const LgRule *r, const LgCondition *c, const LgPacket *p) {
        int port = c->key == LG_COND_REMOTE_PORT ? p->remote_port : p->local_port;
        if (port < 0)
                return M_BREAK;
        if (port_in(c->literal->ports, port))
                return M_YES;
        for (guint i = 0; i < c->params->len; i++) {
                const LgValue *v = param(r, c->params->pdata[i]);
                if (v && port_in(v->ports, port))
                        return M_YES;
        }
        return M_NO;
}

static bool number_in(GArray *nums, size_t elt, uint32_t v) {
        for (guint i = 0; nums && i < nums->len; i++)
                if ((elt == 1 ? g_array_index(nums, uint8_t, i) : g_array_index(nums, uint32_t, i)) == v)
                        return true;
        return false;
}

/* `socket cgroupv2 level N "PATH"`: the ancestor at depth N of the socket's cgroup is PATH; a
 * cgroup less deep than N has no such ancestor and the expression breaks. */
static Match match_cgroup(const LgRule *r, const LgCondition *c, const LgPacket *p) {
        if (!p->has_uid)
                return M_BREAK;
        const char *path = c->params->len > 0 ? param(r, c->params->pdata[0])->string : c->literal->string;
        if (!path)
                return M_BREAK;
        int level = 1;
        for (const char *s = path; *s; s++)
                level += *s == '/';
        g_auto(GStrv) parts = g_strsplit(p->cgroup ? p->cgroup : "", "/", -1);
        int depth = 0;
        for (char **s = parts; *s; s++)
                depth += **s != '\0';
        if (depth < level)
                return M_BREAK;
        g_autoptr(GString) anc = g_string_new(NULL);
        int n = 0;
        for (char **s = parts; *s && n < level; s++) {
                if (!**s)
                        continue;
                if (n++ > 0)
                        g_string_append_c(anc, '/');
                g_string_append(anc, *s);
        }
        return g_str_equal(anc->str, path) ? M_YES : M_NO;
}

static Match match_condition(const LgRule *r, const LgCondition *c, LgLayer layer, const LgPacket *p) {
        switch (c->key) {
        case LG_COND_INTERFACE:
                return match_interface(r, c, layer, p);
        case LG_COND_FAMILY:
                return M_YES; /* the rule's `meta nfproto` (r->family) already says it */
        case LG_COND_PROTOCOL:
                return p->proto >= 0 && number_in(c->numbers, 1, (uint32_t) p->proto) ? M_YES : M_NO;
        case LG_COND_REMOTE:
        case LG_COND_LOCAL:
                return match_address(r, c, layer, p);
        case LG_COND_REMOTE_PORT:
        case LG_COND_LOCAL_PORT:
                return match_port(r, c, p);
        case LG_COND_USER:
        case LG_COND_GROUP: {
                bool user = c->key == LG_COND_USER;
                if (!(user ? p->has_uid : p->has_gid))
                        return M_BREAK; /* `meta skuid` of a packet without a local socket */
                uint32_t id = user ? p->uid : p->gid;
                if (number_in(c->numbers, 4, id))
                        return M_YES;
                for (guint i = 0; i < c->params->len; i++)
                        if (param(r, c->params->pdata[i])->uid == id)
                                return M_YES;
                return M_NO;
        }
        case LG_COND_CGROUP:
                return match_cgroup(r, c, p);
        case LG_COND_MARK:
                return (p->mark & c->mask) == c->mark ? M_YES : M_NO;
        case LG_COND_ICMP_TYPE: {
                /* `icmp type` / `icmpv6 type` carry an implicit `meta l4proto icmp(v6)`. */
                int want = r->family == 6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
                if (p->proto != want)
                        return M_BREAK;
                int type = p->icmp_type >= 0 ? p->icmp_type : p->family == 6 ? 128 : 8;
                return number_in(c->numbers, 1, (uint32_t) type) ? M_YES : M_NO;
        }
        default:
                return M_BREAK;
        }
}

static bool filter_has_ports(const LgFilter *f) {
        return lg_filter_find_condition(f, LG_COND_REMOTE_PORT, false) || lg_filter_find_condition(f, LG_COND_REMOTE_PORT, true) ||
               lg_filter_find_condition(f, LG_COND_LOCAL_PORT, false) || lg_filter_find_condition(f, LG_COND_LOCAL_PORT, true);
}

/* The conditions compile.c puts into one rule, evaluated as nftables does: every expression must
 * hold; a negated condition is `!=` of the same expression (so a condition the kernel cannot
 * evaluate fails either way). Where compile.c adds expressions of its own, so does this:
 * `meta nfproto` (r->family), `meta l4proto { tcp, udp }` for ports without a protocol, and
 * `meta l4proto tcp` of a rejecting rule's tcp-reset twin.
 * One known difference: for a protocol without ports (ICMP, GRE, …) the kernel's `th dport`
 * reads whatever header bytes sit where ports would be; an endpoint set element with a port then
 * matches by chance only, and this evaluator says it never matches. */
bool lg_rule_matches(const LgRule *r, LgLayer layer, const LgPacket *p) {
        const LgFilter *f = r->model;
        if (!f)
                return false;
        if (r->family && r->family != p->family)
                return false;
        if (r->tcp_only && p->proto != IPPROTO_TCP)
                return false;
        if (filter_has_ports(f) && !lg_filter_find_condition(f, LG_COND_PROTOCOL, false) && p->proto != IPPROTO_TCP &&
            p->proto != IPPROTO_UDP)
                return false;
        for (guint i = 0; i < f->conditions->len; i++) {
                const LgCondition *c = f->conditions->pdata[i];
                Match m = match_condition(r, c, layer, p);
                if (m == M_BREAK)
                        return false;
                if ((m == M_YES) == c->negated)
                        return false;
        }
        return true;
}

/* ---- chains, layers, tables ---- */

typedef enum {
        CHAIN_NONE,   /* no filter had an opinion (or only soft permits: see `permit`) */
        CHAIN_ACCEPT, /* a hard permit ended the base chain */
        CHAIN_DROP,   /* a block */
} ChainEnd;

typedef struct {
        ChainEnd end;
        const LgRule *decider;      /* the hard permit or the block */
        const LgRule *first_permit; /* the first soft permit that matched */
} LayerResult;

/* One base chain: the sublayer chains of `layer`, in the order its jumps take them (compile.c
 * creates sublayer chains in jump order; tests/unit/test-explain.c checks it). */
static LayerResult eval_layer(const LgTable *t, LgLayer layer, const LgPacket *p) {
        LayerResult res = {CHAIN_NONE, NULL, NULL};
        if (!t)
                return res;
        if ((layer == LG_LAYER_CONNECT || layer == LG_LAYER_ACCEPT) && p->established)
                return res; /* `ct state != new return` */
        for (guint i = 0; i < t->chains->len; i++) {
                const LgChain *c = t->chains->pdata[i];
                if (c->base || c->layer != (int) layer)
                        continue;
                for (guint j = 0; j < c->rules->len; j++) {
                        const LgRule *r = c->rules->pdata[j];
                        if (!lg_rule_matches(r, layer, p))
                                continue;
                        switch (r->model->action) {
                        case LG_ACTION_PERMIT:
                                if (!res.first_permit)
                                        res.first_permit = r;
                                break;
                        case LG_ACTION_HARD_PERMIT:
                                res.end = CHAIN_ACCEPT;
                                res.decider = r;
                                return res;
                        case LG_ACTION_BLOCK:
                                res.end = CHAIN_DROP;
                                res.decider = r;
                                return res;
                        }
                        break; /* return: on to the next sublayer chain */
                }
        }
        return res;
}

static int hook_of(LgLayer l) {
        switch (l) {
        case LG_LAYER_CONNECT:
        case LG_LAYER_OUTBOUND:
                return NF_INET_LOCAL_OUT;
        case LG_LAYER_ACCEPT:
        case LG_LAYER_INBOUND:
                return NF_INET_LOCAL_IN;
        default:
                return NF_INET_FORWARD;
        }
}

bool lg_ruleset_explainable(const LgRuleset *rs) {
        if (!rs || (!rs->persistent && !rs->dynamic))
                return false;
        const LgTable *tables[2] = {rs->persistent, rs->dynamic};
        for (int i = 0; i < 2; i++)
                for (guint j = 0; tables[i] && j < tables[i]->chains->len; j++) {
                        const LgChain *c = tables[i]->chains->pdata[j];
                        if (c->rules->len == 0)
                                return false; /* read back from the kernel: names only */
                        for (guint k = 0; !c->base && k < c->rules->len; k++)
                                if (!((const LgRule *) c->rules->pdata[k])->model)
                                        return false;
                }
        return true;
}

static void set_result(LgExplanation *ret, LgVerdict v, const LgRule *r, LgLayer layer) {
        ret->verdict = v;
        ret->rule = r;
        ret->layer = layer;
        ret->policy = r ? r->policy : NULL;
        ret->sublayer = r ? r->sublayer : NULL;
        ret->filter = r ? r->filter : NULL;
}

void lg_explain(const LgRuleset *rs, const LgPacket *p, LgExplanation *ret) {
        set_result(ret, LG_VERDICT_PERMIT, NULL, p->layer);
        if (!rs)
                return;
        /* The layers of the packet's hook, the asked one first. */
        LgLayer layers[2];
        int n = 0;
        layers[n++] = p->layer;
        for (int l = 0; l < _LG_LAYER_MAX; l++)
                if (l != (int) p->layer && hook_of(l) == hook_of(p->layer))
                        layers[n++] = l;
        const LgTable *tables[2] = {rs->persistent, rs->dynamic};
        LayerResult res[2][2];
        for (int i = 0; i < n; i++)
                for (int t = 0; t < 2; t++)
                        res[i][t] = eval_layer(tables[t], layers[i], p);
        /* A drop anywhere on the hook is final. */
        for (int i = 0; i < n; i++)
                for (int t = 0; t < 2; t++)
                        if (res[i][t].end == CHAIN_DROP) {
                                set_result(ret, LG_VERDICT_BLOCK, res[i][t].decider, layers[i]);
                                return;
                        }
        /* Permitted: name what decided in the asked layer. */
        for (int t = 0; t < 2; t++) {
                const LayerResult *r = &res[0][t];
                const LgRule *why = r->end == CHAIN_ACCEPT ? r->decider : r->first_permit;
                if (why) {
                        set_result(ret, LG_VERDICT_PERMIT, why, layers[0]);
                        return;
                }
        }
}

int lg_layer_for_hook(const LgFilter *f, int hook) {
        int found = -1;
        for (int l = 0; l < _LG_LAYER_MAX; l++) {
                if (!(f->layers & (1u << l)) || hook_of(l) != hook)
                        continue;
                /* Prefer the every-packet layer: a packet of an established flow meets only that one. */
                if (found < 0 || l == LG_LAYER_OUTBOUND || l == LG_LAYER_INBOUND)
                        found = l;
        }
        return found;
}
