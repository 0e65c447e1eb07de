/* Unit tests of src/explain.c: the packet description (keys, forms, errors) and the evaluator over
 * compiled rulesets: sublayer and filter order, permit/hard-permit/block, the layers of one hook,
 * both tables, new vs established flows, negation, sockets, ports implying TCP/UDP, families.
 * tests/kernel/test-explain-differential.sh checks the same evaluator against the kernel. */
#include "compile.h"
#include "error.h"
#include "explain.h"

#include <linux/netfilter.h>
#include <string.h>

typedef struct {
        GPtrArray *policies; /* LgPolicy* */
        GPtrArray *bound;    /* GHashTable* */
        GPtrArray *enabled;  /* LgEnabled* */
        LgRuleset *rs;
} Fixture;

static void fixture_free(Fixture *f) {
        lg_ruleset_free(f->rs);
        g_ptr_array_unref(f->enabled);
        g_ptr_array_unref(f->bound);
        g_ptr_array_unref(f->policies);
        g_free(f);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Fixture, fixture_free)

/* Compiles policies given as YAML texts, each followed by its key=value parameters; NULL ends. */
static Fixture *compile(const char *yaml, ...) {
        Fixture *f = g_new0(Fixture, 1);
        f->policies = g_ptr_array_new_with_free_func((GDestroyNotify) lg_policy_free);
        f->bound = g_ptr_array_new_with_free_func((GDestroyNotify) g_hash_table_unref);
        f->enabled = g_ptr_array_new_with_free_func(g_free);
        va_list ap;
        va_start(ap, yaml);
        for (const char *y = yaml; y; y = va_arg(ap, const char *)) {
                const char *kv = va_arg(ap, const char *);
                g_autoptr(GError) e = NULL;
                LgPolicy *p = lg_policy_load_data(y, strlen(y), "test.yaml", &e);
                g_assert_no_error(e);
                g_ptr_array_add(f->policies, p);
                g_auto(GStrv) kvs = g_strsplit(kv, " ", -1);
                guint n = *kv ? g_strv_length(kvs) : 0;
                g_autoptr(GHashTable) given = lg_policy_parse_kv(p, (const char *const *) kvs, n, &e);
                g_assert_no_error(e);
                GHashTable *bound = lg_policy_bind_params(p, given, &e);
                g_assert_no_error(e);
                g_ptr_array_add(f->bound, bound);
                LgEnabled *en = g_new0(LgEnabled, 1);
                en->policy = p;
                en->params = bound;
                g_ptr_array_add(f->enabled, en);
        }
        va_end(ap);
        g_autoptr(GError) e = NULL;
        f->rs = lg_compile(f->enabled, &e);
        g_assert_no_error(e);
        g_assert_true(lg_ruleset_explainable(f->rs));
        return f;
}

/* "verdict policy/sublayer/filter" (or "verdict -") for a packet given as "key=value …". */
static char *explain(const Fixture *f, const char *desc) {
        LgPacket p;
        lg_packet_init(&p);
        g_auto(GStrv) kvs = g_strsplit(desc, " ", -1);
        g_autoptr(GError) e = NULL;
        for (char **kv = kvs; *kv; kv++) {
                char *eq = strchr(*kv, '=');
                g_assert_nonnull(eq);
                g_autofree char *key = g_strndup(*kv, eq - *kv);
                if (!lg_packet_set_string(&p, key, eq + 1, &e))
                        break;
        }
        if (!e)
                lg_packet_finish(&p, &e);
        if (e) {
                lg_packet_clear(&p);
                return g_strdup_printf("ERROR %s", e->message);
        }
        LgExplanation x;
        lg_explain(f->rs, &p, &x);
        lg_packet_clear(&p);
        if (!x.filter)
                return g_strdup_printf("%s -", lg_verdict_to_string(x.verdict));
        return g_strdup_printf("%s %s/%s/%s", lg_verdict_to_string(x.verdict), x.policy, x.sublayer, x.filter);
}

#define assert_explain(f, desc, want)                                                                            \
        do {                                                                                                     \
                g_autofree char *got_ = explain((f), (desc));                                                    \
                if (!g_str_equal(got_, (want)))                                                                  \
                        g_error("explain %s: got '%s', want '%s'", (desc), got_, (want));                        \
        } while (0)

/* ---- the packet description ---- */

static void test_packet_errors(void) {
        g_autoptr(Fixture) f = compile("policy: p\nsublayers: [{name: s, weight: 1, filters: [{name: f, layers: "
                                       "[outbound], weight: 0, action: block, match: {protocol: udp}}]}]\n",
                                       "", NULL);
        assert_explain(f, "protocol=udp", "ERROR the packet needs 'remote' (or 'local'): its address decides which rules apply");
        assert_explain(f, "remote=1.2.3.4 interfac=eth0",
                       "ERROR unknown packet key 'interfac' (did you mean 'interface'?): expected layer, protocol, "
                       "remote, local, interface, uid, gid, mark, icmp_type, cgroup or state");
        assert_explain(f, "remote=1.2.3.4 layer=sideways",
                       "ERROR unknown layer 'sideways': expected connect, accept, outbound, inbound or forward");
        assert_explain(f, "remote=1.2.3.4/24", "ERROR packet key 'remote': '1.2.3.4/24' is not an address: expected "
                                               "ADDR, ADDR:PORT or [IPV6]:PORT");
        assert_explain(f, "remote=1.2.3.4:65536", "ERROR packet key 'remote': '1.2.3.4:65536' is not an address: "
                                                  "expected ADDR, ADDR:PORT or [IPV6]:PORT");
        /* A bare IPv6 address is an address ("::1:53" is one): ports need brackets. */
        assert_explain(f, "protocol=udp remote=::1:53", "block p/s/f");
        assert_explain(f, "remote=[1.2.3.4]:53", "ERROR packet key 'remote': '[1.2.3.4]:53' is not an address: "
                                                 "expected ADDR, ADDR:PORT or [IPV6]:PORT");
        assert_explain(f, "remote=1.2.3.4 local=::1", "ERROR 'remote' and 'local' must be of one address family");
        assert_explain(f, "remote=1.2.3.4:53", "ERROR a port needs a 'protocol' with ports (tcp, udp, udplite, sctp, dccp)");
        assert_explain(f, "protocol=icmp remote=1.2.3.4:53", "ERROR protocol icmp has no ports, but the packet gives one");
        assert_explain(f, "protocol=tcp remote=1.2.3.4 icmp_type=echo-request",
                       "ERROR packet key 'icmp_type' needs protocol icmp or icmpv6");
        assert_explain(f, "protocol=icmpv6 remote=::2 icmp_type=timestamp-request",
                       "ERROR packet key 'icmp_type': 'timestamp-request' is not an ICMPv6 type");
        assert_explain(f, "protocol=bogus remote=1.2.3.4",
                       "ERROR unknown protocol 'bogus': expected tcp, udp, icmp, icmpv6, udplite, sctp, dccp, gre, "
                       "esp, ah or a number from 0 to 255");
        assert_explain(f, "remote=1.2.3.4 uid=-1", "ERROR packet key 'uid': '-1' is not a number from 0 to 4294967295");
        assert_explain(f, "remote=1.2.3.4 state=old", "ERROR unknown state 'old': expected new or established");
        assert_explain(f, "remote=1.2.3.4 interface=a/b",
                       "ERROR packet key 'interface': interface name 'a/b' contains '/'; allowed are letters, digits "
                       "and _-.@+");
        assert_explain(f, "remote=1.2.3.4 cgroup=/abs", "ERROR packet key 'cgroup': '/abs' is not a cgroup v2 path (a "
                                                        "relative path such as system.slice/foo.service)");
        /* A bare IPv6 address, an IPv6 endpoint, protocol numbers and names. */
        assert_explain(f, "protocol=17 remote=2001:db8::1", "block p/s/f");
        assert_explain(f, "protocol=udp remote=[2001:db8::1]:53", "block p/s/f");
        assert_explain(f, "protocol=tcp remote=1.2.3.4:53", "permit -");
        /* Numeric keys as D-Bus sends them. */
        LgPacket p;
        lg_packet_init(&p);
        g_autoptr(GError) e = NULL;
        g_assert_true(lg_packet_set_number(&p, "uid", 7, &e));
        g_assert_true(lg_packet_set_number(&p, "mark", 0xffffffffu, &e));
        g_assert_false(lg_packet_set_number(&p, "remote", 1, &e));
        g_assert_error(e, LG_ERROR, LG_ERROR_INVALID_PARAMETERS);
        g_assert_cmpstr(e->message, ==, "packet key 'remote' is a string (D-Bus s), not a number");
        g_assert_true(p.has_uid && p.uid == 7 && p.mark == 0xffffffffu);
        lg_packet_clear(&p);
}

static void test_packet_format(void) {
        g_autoptr(GString) s = g_string_new(NULL);
        uint8_t a4[16] = {192, 0, 2, 1}, a6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
        lg_packet_format_endpoint(4, a4, 53, s);
        g_string_append_c(s, ' ');
        lg_packet_format_endpoint(4, a4, -1, s);
        g_string_append_c(s, ' ');
        lg_packet_format_endpoint(6, a6, 443, s);
        g_string_append_c(s, ' ');
        lg_packet_format_endpoint(6, a6, -1, s);
        g_string_append_c(s, ' ');
        lg_packet_format_protocol(6, s);
        g_string_append_c(s, ' ');
        lg_packet_format_protocol(253, s);
        g_assert_cmpstr(s->str, ==, "192.0.2.1:53 192.0.2.1 [2001:db8::1]:443 2001:db8::1 tcp 253");
}

/* ---- the evaluator ---- */

static const char *const sublayers_yaml =
        "policy: one\n"
        "sublayers:\n"
        "  - name: low\n    weight: 100\n    filters:\n"
        "      - {name: block-udp, layers: [outbound], weight: 1, action: block, match: {protocol: udp}}\n"
        "      - {name: late-permit, layers: [outbound], weight: 0, action: permit}\n"
        "  - name: high\n    weight: 60000\n    filters:\n"
        "      - {name: permit-peer, layers: [outbound], weight: 1, action: permit, match: {remote: 192.0.2.2}}\n"
        "      - {name: hard, layers: [outbound], weight: 5, action: hard-permit, match: {remote: 192.0.2.3}}\n"
        "      - {name: first-in-file, layers: [outbound], weight: 9, action: permit, match: {remote: 192.0.2.4}}\n"
        "      - {name: second-in-file, layers: [outbound], weight: 9, action: block, match: {remote: 192.0.2.4}}\n";
static const char *const other_yaml =
        "policy: another\n"
        "sublayers:\n"
        "  - name: between\n    weight: 30000\n    filters:\n"
        "      - {name: block-9001, layers: [outbound], weight: 0, action: block, match: {protocol: udp, "
        "remote_port: 9001}}\n"
        "  - name: connect\n    weight: 0\n    filters:\n"
        "      - {name: no-new-tcp, layers: [connect], weight: 0, action: block, match: {protocol: tcp}}\n";

static void test_order(void) {
        g_autoptr(Fixture) f = compile(sublayers_yaml, "", other_yaml, "", NULL);
        /* A soft permit in a higher sublayer does not save a packet a lower one blocks. */
        assert_explain(f, "protocol=udp remote=192.0.2.2:53", "block one/low/block-udp");
        /* Soft permits only: the first one names the verdict. */
        assert_explain(f, "protocol=icmp remote=192.0.2.2", "permit one/high/permit-peer");
        /* Nothing in the high sublayer: the lowest sublayer's permit. */
        assert_explain(f, "protocol=icmp remote=192.0.2.9", "permit one/low/late-permit");
        /* A hard permit skips the lower sublayers of its layer... */
        assert_explain(f, "protocol=udp remote=192.0.2.3:53", "permit one/high/hard");
        /* ...but not the hook's other layer: connect still blocks a new TCP flow, */
        assert_explain(f, "protocol=tcp remote=192.0.2.3:80", "block another/connect/no-new-tcp");
        /* which an established flow does not meet. */
        assert_explain(f, "protocol=tcp remote=192.0.2.3:80 state=established", "permit one/high/hard");
        /* Sublayers of two policies interleave by weight: 'between' (30000) blocks before 'low' (100). */
        assert_explain(f, "protocol=udp remote=192.0.2.9:9001", "block another/between/block-9001");
        /* Equal weights keep file order. */
        assert_explain(f, "protocol=icmp remote=192.0.2.4", "permit one/high/first-in-file");
        /* Asking about the connect layer: its own filters name a permit; a block anywhere on the hook wins. */
        assert_explain(f, "layer=connect protocol=udp remote=192.0.2.9:53", "block one/low/block-udp");
        assert_explain(f, "layer=connect protocol=icmp remote=192.0.2.9", "permit -");
        /* Other hooks do not see outbound filters. */
        assert_explain(f, "layer=inbound protocol=udp remote=192.0.2.2:53", "permit -");
        assert_explain(f, "layer=forward protocol=udp remote=192.0.2.2:53", "permit -");
}

/* compile.c makes the sublayer chains of a layer in the order its base chain jumps to them; the
 * evaluator walks them in that order. */
static void test_chain_order_is_jump_order(void) {
        g_autoptr(Fixture) f = compile(sublayers_yaml, "", other_yaml, "", NULL);
        const LgTable *t = f->rs->persistent;
        for (guint i = 0; i < t->chains->len; i++) {
                const LgChain *base = t->chains->pdata[i];
                if (!base->base)
                        continue;
                g_autoptr(GPtrArray) jumps = g_ptr_array_new();
                for (guint j = 0; j < base->rules->len; j++) {
                        /* "jump NAME", or "meta nfproto ipvN jump NAME" (compile.c's hoist_family()) */
                        const char *text = ((LgRule *) base->rules->pdata[j])->text;
                        const char *jump = g_str_has_prefix(text, "jump ") ? text : strstr(text, " jump ");
                        if (jump)
                                g_ptr_array_add(jumps, (gpointer) (strchr(jump + 1, ' ') + 1));
                }
                guint n = 0;
                for (guint j = 0; j < t->chains->len; j++) {
                        const LgChain *c = t->chains->pdata[j];
                        if (c->base || c->layer != base->layer)
                                continue;
                        g_assert_cmpuint(n, <, jumps->len);
                        g_assert_cmpstr(jumps->pdata[n], ==, c->name);
                        n++;
                }
                g_assert_cmpuint(n, ==, jumps->len);
        }
}

static const char *const conditions_yaml =
        "policy: cond\n"
        "parameters:\n"
        "  tunnel: {type: interface}\n"
        "  servers: {type: endpoints}\n"
        "  nets: {type: addresses}\n"
        "  admin: {type: user, default: 4242}\n"
        "  on: {type: bool, default: true}\n"
        "  off: {type: bool, default: false}\n"
        "sublayers:\n"
        "  - name: s\n    weight: 1\n    filters:\n"
        "      - {name: servers, layers: [outbound, inbound], weight: 100, action: permit, match: {remote: $servers}}\n"
        "      - {name: wg, layers: [outbound], weight: 90, action: block, match: {interface: 'wg*', family: ipv6}}\n"
        "      - {name: not-tunnel-dns, layers: [outbound], weight: 80, action: block, reject: true, "
        "match: {remote_port: 53, not: {interface: $tunnel}}}\n"
        "      - {name: admin, layers: [outbound], weight: 70, action: block, match: {user: $admin}}\n"
        "      - {name: not-admin-9, layers: [outbound], weight: 69, action: block, match: {protocol: udp, "
        "remote_port: 9, not: {user: $admin}}}\n"
        "      - {name: group, layers: [outbound], weight: 68, action: block, match: {group: 100, protocol: tcp}}\n"
        "      - {name: mark, layers: [outbound], weight: 60, action: block, match: {mark: 0x10/0xf0}}\n"
        "      - {name: when-on, when: $on, layers: [outbound], weight: 50, action: block, match: {remote: 198.51.100.1}}\n"
        "      - {name: when-off, when: $off, layers: [outbound], weight: 50, action: block, match: {remote: 198.51.100.2}}\n"
        "      - {name: not-when-off, when: '!$off', layers: [outbound], weight: 49, action: block, match: {remote: 198.51.100.3}}\n"
        "      - {name: ports-range, layers: [outbound], weight: 40, action: block, match: {remote_port: 7000-7009, "
        "local_port: [22, 2222]}}\n"
        "      - {name: local-nets, layers: [outbound], weight: 30, action: block, match: {local: $nets, protocol: 253}}\n"
        "      - {name: v6-ping, layers: [outbound], weight: 20, action: block, match: {protocol: icmpv6, "
        "icmp_type: [echo-request]}}\n"
        "      - {name: not-ping, layers: [outbound], weight: 19, action: block, match: {protocol: icmp, "
        "not: {icmp_type: echo-request}}}\n"
        "      - {name: cgroup, layers: [outbound], weight: 10, action: block, match: {cgroup: system.slice/x.service}}\n"
        "      - {name: in-from, layers: [inbound], weight: 5, action: block, match: {remote: 203.0.113.0/24, "
        "remote_port: 5353}}\n"
        "      - {name: fwd, layers: [forward], weight: 5, action: block, match: {remote: 203.0.113.7, interface: eth1}}\n";

static void test_conditions(void) {
        g_autoptr(Fixture) f = compile(conditions_yaml,
                                       "tunnel=wg0 servers=192.0.2.1:51820/udp,[2001:db8::1]:51820 nets=10.0.0.0/8,fd00::/8",
                                       NULL);
        /* Endpoints: address, protocol and port; an IPv6 endpoint without a protocol matches any. */
        assert_explain(f, "protocol=udp remote=192.0.2.1:51820 interface=eth0", "permit cond/s/servers");
        assert_explain(f, "protocol=tcp remote=192.0.2.1:51820 interface=eth0", "permit -");
        assert_explain(f, "protocol=tcp remote=[2001:db8::1]:51820 interface=eth0", "permit cond/s/servers");
        /* Inbound: the peer is the source. */
        assert_explain(f, "layer=inbound protocol=udp remote=192.0.2.1:51820 local=192.0.2.9:4000", "permit cond/s/servers");
        assert_explain(f, "layer=inbound protocol=udp remote=192.0.2.9:4000 local=192.0.2.1:51820", "permit -");
        assert_explain(f, "layer=inbound protocol=udp remote=203.0.113.5:5353 local=192.0.2.9:4000", "block cond/s/in-from");
        /* Wildcards and families. */
        assert_explain(f, "protocol=icmpv6 remote=2001:db8::2 interface=wg7", "block cond/s/wg");
        assert_explain(f, "protocol=icmp remote=192.0.2.2 interface=wg7", "permit -");
        /* `not: {interface: $tunnel}` with ports that imply TCP and UDP. */
        assert_explain(f, "protocol=udp remote=192.0.2.2:53 interface=eth0", "block cond/s/not-tunnel-dns");
        assert_explain(f, "protocol=tcp remote=192.0.2.2:53 interface=eth0", "block cond/s/not-tunnel-dns");
        assert_explain(f, "protocol=udp remote=192.0.2.2:53 interface=wg0", "permit -");
        assert_explain(f, "protocol=sctp remote=192.0.2.2:53 interface=eth0", "permit -");
        /* Users: without a socket (no uid) neither `user` nor `not: {user}` holds. */
        assert_explain(f, "protocol=udp remote=192.0.2.2:9 uid=4242", "block cond/s/admin");
        assert_explain(f, "protocol=udp remote=192.0.2.2:9 uid=1000", "block cond/s/not-admin-9");
        assert_explain(f, "protocol=udp remote=192.0.2.2:9", "permit -");
        assert_explain(f, "protocol=tcp remote=192.0.2.2:80 uid=1 gid=100", "block cond/s/group");
        assert_explain(f, "protocol=tcp remote=192.0.2.2:80 uid=1", "permit -");
        /* Marks with a mask. */
        assert_explain(f, "protocol=icmp remote=192.0.2.2 mark=0x1f", "block cond/s/mark");
        assert_explain(f, "protocol=icmp remote=192.0.2.2 mark=0x", "ERROR packet key 'mark': '0x' is not a number from 0 to 4294967295");
        assert_explain(f, "protocol=icmp remote=192.0.2.2 mark=31", "block cond/s/mark");
        assert_explain(f, "protocol=icmp remote=192.0.2.2 mark=47", "permit -");
        /* `when`. */
        assert_explain(f, "protocol=icmp remote=198.51.100.1", "block cond/s/when-on");
        assert_explain(f, "protocol=icmp remote=198.51.100.2", "permit -");
        assert_explain(f, "protocol=icmp remote=198.51.100.3", "block cond/s/not-when-off");
        /* Port ranges and lists; a missing port is 0. */
        assert_explain(f, "protocol=udp remote=192.0.2.2:7005 local=192.0.2.9:2222", "block cond/s/ports-range");
        assert_explain(f, "protocol=udp remote=192.0.2.2:7005", "permit -");
        /* Addresses of a parameter, on the local side. */
        assert_explain(f, "protocol=253 remote=192.0.2.2 local=10.1.2.3", "block cond/s/local-nets");
        assert_explain(f, "protocol=253 remote=2001:db8::2 local=fd00::5", "block cond/s/local-nets");
        assert_explain(f, "protocol=253 remote=2001:db8::2 local=fe80::5", "permit -");
        /* ICMP types, by name or number, default echo-request. */
        assert_explain(f, "protocol=icmpv6 remote=2001:db8::2", "block cond/s/v6-ping");
        assert_explain(f, "protocol=icmpv6 remote=2001:db8::2 icmp_type=129", "permit -");
        assert_explain(f, "protocol=icmp remote=192.0.2.2 icmp_type=echo-reply", "block cond/s/not-ping");
        assert_explain(f, "protocol=icmp remote=192.0.2.2 icmp_type=8", "permit -");
        /* cgroup: the ancestor at the path's depth; none without a socket or when less deep. */
        assert_explain(f, "protocol=icmp remote=192.0.2.2 uid=1 cgroup=system.slice/x.service/sub", "block cond/s/cgroup");
        assert_explain(f, "protocol=icmp remote=192.0.2.2 uid=1 cgroup=system.slice/y.service", "permit -");
        assert_explain(f, "protocol=icmp remote=192.0.2.2 uid=1 cgroup=system.slice", "permit -");
        assert_explain(f, "protocol=icmp remote=192.0.2.2 cgroup=system.slice/x.service", "permit -");
        /* Forward: the destination and the output interface. */
        assert_explain(f, "layer=forward protocol=icmp remote=203.0.113.7 interface=eth1", "block cond/s/fwd");
        assert_explain(f, "layer=forward protocol=icmp remote=203.0.113.7 interface=eth0", "permit -");
}

static const char *const dynamic_yaml =
        "policy: dyn\nlifetime: dynamic\n"
        "sublayers:\n  - name: d\n    weight: 1\n    filters:\n"
        "      - {name: block-udp, layers: [outbound], weight: 0, action: block, match: {protocol: udp}}\n"
        "      - {name: hard, layers: [inbound], weight: 0, action: hard-permit}\n";
static const char *const persistent_yaml =
        "policy: pers\n"
        "sublayers:\n  - name: p\n    weight: 65535\n    filters:\n"
        "      - {name: hard, layers: [outbound], weight: 0, action: hard-permit}\n"
        "      - {name: block-in, layers: [inbound], weight: 0, action: block, match: {protocol: tcp}}\n";

static void test_tables(void) {
        g_autoptr(Fixture) f = compile(dynamic_yaml, "", persistent_yaml, "", NULL);
        g_assert_nonnull(f->rs->persistent);
        g_assert_nonnull(f->rs->dynamic);
        /* A hard permit of one table does not stop the other table's drop. */
        assert_explain(f, "protocol=udp remote=192.0.2.2:53", "block dyn/d/block-udp");
        assert_explain(f, "protocol=tcp remote=192.0.2.2:53", "permit pers/p/hard");
        assert_explain(f, "layer=inbound protocol=tcp remote=192.0.2.2:53", "block pers/p/block-in");
        assert_explain(f, "layer=inbound protocol=udp remote=192.0.2.2:53", "permit dyn/d/hard");
}

static void test_explainable(void) {
        g_assert_false(lg_ruleset_explainable(NULL));
        LgRuleset empty = {0};
        g_assert_false(lg_ruleset_explainable(&empty));
        /* What nft.c reads back: names only. */
        LgRuleset shapes = {.persistent = lg_table_new(LG_TABLE_PERSISTENT, false)};
        lg_table_add_chain(shapes.persistent, "outbound-layer", LG_LAYER_OUTBOUND, true);
        lg_table_add_chain(shapes.persistent, "outbound.p.s", LG_LAYER_OUTBOUND, false);
        g_assert_false(lg_ruleset_explainable(&shapes));
        lg_table_free(shapes.persistent);
}

static void test_layer_for_hook(void) {
        LgFilter f = {.layers = (1u << LG_LAYER_CONNECT) | (1u << LG_LAYER_OUTBOUND)};
        g_assert_cmpint(lg_layer_for_hook(&f, NF_INET_LOCAL_OUT), ==, LG_LAYER_OUTBOUND);
        g_assert_cmpint(lg_layer_for_hook(&f, NF_INET_LOCAL_IN), ==, -1);
        f.layers = 1u << LG_LAYER_CONNECT;
        g_assert_cmpint(lg_layer_for_hook(&f, NF_INET_LOCAL_OUT), ==, LG_LAYER_CONNECT);
        f.layers = (1u << LG_LAYER_ACCEPT) | (1u << LG_LAYER_FORWARD);
        g_assert_cmpint(lg_layer_for_hook(&f, NF_INET_LOCAL_IN), ==, LG_LAYER_ACCEPT);
        g_assert_cmpint(lg_layer_for_hook(&f, NF_INET_FORWARD), ==, LG_LAYER_FORWARD);
}

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/explain/packet/errors", test_packet_errors);
        g_test_add_func("/explain/packet/format", test_packet_format);
        g_test_add_func("/explain/order", test_order);
        g_test_add_func("/explain/chain-order-is-jump-order", test_chain_order_is_jump_order);
        g_test_add_func("/explain/conditions", test_conditions);
        g_test_add_func("/explain/tables", test_tables);
        g_test_add_func("/explain/explainable", test_explainable);
        g_test_add_func("/explain/layer-for-hook", test_layer_for_hook);
        return g_test_run();
}
