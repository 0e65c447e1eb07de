/* Unit tests of src/policy.c: the shipped policies load into the model DESIGN.md §2 describes,
 * parameters bind with defaults and precise InvalidParameters errors, and invalid policies fail
 * with InvalidPolicy and a FILE:LINE:COLUMN location. */
#include "error.h"
#include "policy.h"

#include <glib/gstdio.h>
#include <netinet/in.h>
#include <string.h>

/* ---- helpers ---- */

static char *policy_path(const char *name) {
        const char *src = g_getenv("SRCDIR");
        return g_strdup_printf("%s/policy/%s.yaml", src && *src ? src : LEAKGUARD_SOURCE_DIR, name);
}

static LgPolicy *load_shipped(const char *name) {
        g_autofree char *path = policy_path(name);
        g_autoptr(GError) e = NULL;
        LgPolicy *p = lg_policy_load_file(path, &e);
        g_assert_no_error(e);
        g_assert_nonnull(p);
        g_assert_cmpstr(p->path, ==, path);
        return p;
}

static LgPolicy *load_text(const char *text) {
        g_autoptr(GError) e = NULL;
        LgPolicy *p = lg_policy_load_data(text, strlen(text), "t.yaml", &e);
        g_assert_no_error(e);
        g_assert_nonnull(p);
        return p;
}

/* Loads text that must fail; returns the message (InvalidPolicy, "t.yaml:L:C: ..." checked). */
static char *load_error(const char *text) {
        g_autoptr(GError) e = NULL;
        g_autoptr(LgPolicy) p = lg_policy_load_data(text, strlen(text), "t.yaml", &e);
        g_assert_null(p);
        g_assert_error(e, LG_ERROR, LG_ERROR_INVALID_POLICY);
        g_assert_true(g_utf8_validate(e->message, -1, NULL));
        return g_strdup(e->message);
}

static LgSublayer *sublayer(const LgPolicy *p, guint i) {
        g_assert_cmpuint(i, <, p->sublayers->len);
        return p->sublayers->pdata[i];
}

static LgFilter *filter(const LgSublayer *s, guint i) {
        g_assert_cmpuint(i, <, s->filters->len);
        return s->filters->pdata[i];
}

static LgCondition *cond(const LgFilter *f, LgCondKey key, bool negated) {
        for (guint i = 0; i < f->conditions->len; i++) {
                LgCondition *c = f->conditions->pdata[i];
                if (c->key == key && c->negated == negated)
                        return c;
        }
        return NULL;
}

static char *cond_literal(const LgCondition *c) {
        g_assert_nonnull(c->literal);
        return lg_value_to_string(c->literal);
}

static void assert_params(const LgCondition *c, const char *joined) {
        GString *s = g_string_new(NULL);
        for (guint i = 0; i < c->params->len; i++)
                g_string_append_printf(s, "%s%s", i ? "," : "", (const char *) c->params->pdata[i]);
        g_assert_cmpstr(s->str, ==, joined);
        g_string_free(s, TRUE);
}

static void assert_u8s(GArray *a, const uint8_t *want, guint n) {
        g_assert_nonnull(a);
        g_assert_cmpuint(g_array_get_element_size(a), ==, 1);
        g_assert_cmpmem(a->data, a->len, want, n);
}

static const LgParamDecl *param(const LgPolicy *p, guint i, const char *name, LgType type) {
        g_assert_cmpuint(i, <, p->params->len);
        const LgParamDecl *d = p->params->pdata[i];
        g_assert_cmpstr(d->name, ==, name);
        g_assert_cmpint(d->type, ==, type);
        g_assert_true(lg_policy_find_param(p, name) == d);
        return d;
}

#define BOTH ((1u << LG_LAYER_OUTBOUND) | (1u << LG_LAYER_INBOUND))

/* ---- enums and names ---- */

static void test_names(void) {
        g_assert_cmpstr(lg_layer_to_string(LG_LAYER_CONNECT), ==, "connect");
        g_assert_cmpstr(lg_layer_to_string(LG_LAYER_ACCEPT), ==, "accept");
        g_assert_cmpstr(lg_layer_to_string(LG_LAYER_OUTBOUND), ==, "outbound");
        g_assert_cmpstr(lg_layer_to_string(LG_LAYER_INBOUND), ==, "inbound");
        g_assert_cmpstr(lg_layer_to_string(LG_LAYER_FORWARD), ==, "forward");
        g_assert_false(lg_layer_is_inbound(LG_LAYER_CONNECT));
        g_assert_true(lg_layer_is_inbound(LG_LAYER_ACCEPT));
        g_assert_false(lg_layer_is_inbound(LG_LAYER_OUTBOUND));
        g_assert_true(lg_layer_is_inbound(LG_LAYER_INBOUND));
        g_assert_false(lg_layer_is_inbound(LG_LAYER_FORWARD));

        g_assert_cmpstr(lg_action_to_string(LG_ACTION_PERMIT), ==, "permit");
        g_assert_cmpstr(lg_action_to_string(LG_ACTION_HARD_PERMIT), ==, "hard-permit");
        g_assert_cmpstr(lg_action_to_string(LG_ACTION_BLOCK), ==, "block");

        const char *conds[] = {"interface", "family",    "protocol", "remote", "local", "remote_port",
                               "local_port", "user",     "group",    "cgroup", "mark",  "icmp_type"};
        g_assert_cmpint(G_N_ELEMENTS(conds), ==, _LG_COND_MAX);
        for (int i = 0; i < _LG_COND_MAX; i++)
                g_assert_cmpstr(lg_cond_to_string(i), ==, conds[i]);

        g_assert_cmpstr(lg_protocol_name(IPPROTO_TCP), ==, "tcp");
        g_assert_cmpstr(lg_protocol_name(IPPROTO_UDP), ==, "udp");
        g_assert_cmpstr(lg_protocol_name(IPPROTO_ICMPV6), ==, "icmpv6");
        g_assert_null(lg_protocol_name(200));
        g_assert_cmpstr(lg_icmp_type_name(4, 8), ==, "echo-request");
        g_assert_cmpstr(lg_icmp_type_name(6, 128), ==, "echo-request");
        g_assert_cmpstr(lg_icmp_type_name(6, 135), ==, "nd-neighbor-solicit");
        g_assert_cmpstr(lg_icmp_type_name(4, 3), ==, "destination-unreachable");
        g_assert_cmpstr(lg_icmp_type_name(6, 3), ==, "time-exceeded");
        g_assert_null(lg_icmp_type_name(4, 135));
        g_assert_null(lg_icmp_type_name(6, 250));

        const char *good_names[] = {"a", "killswitch", "dns-leak", "0day", "a-", "x1-2-3"};
        for (size_t i = 0; i < G_N_ELEMENTS(good_names); i++)
                g_assert_true(lg_policy_name_valid(good_names[i]));
        g_autofree char *n40 = g_strnfill(LG_MAX_NAME_LEN, 'a');
        g_autofree char *n41 = g_strnfill(LG_MAX_NAME_LEN + 1, 'a');
        g_assert_true(lg_policy_name_valid(n40));
        g_assert_false(lg_policy_name_valid(n41));
        const char *bad_names[] = {"", "-a", "Killswitch", "kill_switch", "kill switch", "é", "a/b", "a.b"};
        for (size_t i = 0; i < G_N_ELEMENTS(bad_names); i++)
                g_assert_false(lg_policy_name_valid(bad_names[i]));

        g_assert_true(lg_cgroup_path_valid("system.slice/foo.service"));
        g_assert_true(lg_cgroup_path_valid("user.slice/user-1000.slice/user@1000.service"));
        const char *bad_cg[] = {"", "/system.slice", "system.slice/", "a//b", "../x", "a/../b", "a b", "a\"b", "a\\b"};
        for (size_t i = 0; i < G_N_ELEMENTS(bad_cg); i++)
                g_assert_false(lg_cgroup_path_valid(bad_cg[i]));
}

/* ---- the shipped policies ---- */

static void test_shipped_killswitch(void) {
        g_autoptr(LgPolicy) p = load_shipped("killswitch");
        g_assert_cmpstr(p->name, ==, "killswitch");
        g_assert_cmpstr(p->description, ==, "Only traffic through the VPN tunnel may leave this machine.");
        g_assert_cmpint(p->lifetime, ==, LG_LIFETIME_PERSISTENT);

        /* DESIGN.md §2: tunnel (interface, required), servers (endpoints, required), allow_lan (bool, false). */
        g_assert_cmpuint(p->params->len, ==, 3);
        const LgParamDecl *tunnel = param(p, 0, "tunnel", LG_TYPE_INTERFACE);
        g_assert_null(tunnel->default_value);
        g_assert_cmpstr(tunnel->description, ==, "VPN tunnel interface");
        g_assert_cmpint(tunnel->line, ==, 5);
        g_assert_cmpint(tunnel->column, ==, 3);
        const LgParamDecl *servers = param(p, 1, "servers", LG_TYPE_ENDPOINTS);
        g_assert_null(servers->default_value);
        const LgParamDecl *lan = param(p, 2, "allow_lan", LG_TYPE_BOOL);
        g_assert_nonnull(lan->default_value);
        g_assert_cmpint(lan->default_value->type, ==, LG_TYPE_BOOL);
        g_assert_false(lan->default_value->boolean);
        g_assert_null(lg_policy_find_param(p, "tunnl"));

        g_assert_cmpuint(p->sublayers->len, ==, 1);
        LgSublayer *s = sublayer(p, 0);
        g_assert_cmpstr(s->name, ==, "killswitch");
        g_assert_cmpuint(s->weight, ==, 65000);
        g_assert_cmpuint(s->index, ==, 0);

        const struct {
                const char *name;
                uint64_t weight;
                LgAction action;
                const char *when;
                guint n_conditions;
        } want[] = {
                {"loopback", 16, LG_ACTION_PERMIT, NULL, 1},
                {"tunnel", 15, LG_ACTION_PERMIT, NULL, 1},
                {"vpn-servers", 14, LG_ACTION_PERMIT, NULL, 1},
                {"dhcpv4", 13, LG_ACTION_PERMIT, NULL, 4},
                {"dhcpv6", 13, LG_ACTION_PERMIT, NULL, 4},
                {"neighbour-discovery", 13, LG_ACTION_PERMIT, NULL, 2},
                {"lan", 12, LG_ACTION_PERMIT, "allow_lan", 1},
                {"everything-else", 0, LG_ACTION_BLOCK, NULL, 0},
        };
        g_assert_cmpuint(s->filters->len, ==, G_N_ELEMENTS(want));
        for (guint i = 0; i < G_N_ELEMENTS(want); i++) {
                LgFilter *f = filter(s, i);
                g_assert_cmpstr(f->name, ==, want[i].name);
                g_assert_cmpuint(f->weight, ==, want[i].weight);
                g_assert_cmpint(f->action, ==, want[i].action);
                g_assert_cmpstr(f->when, ==, want[i].when);
                g_assert_false(f->when_negated);
                g_assert_cmpuint(f->layers, ==, BOTH);
                g_assert_false(f->reject);
                g_assert_false(f->log);
                g_assert_cmpuint(f->index, ==, i);
                g_assert_cmpuint(f->conditions->len, ==, want[i].n_conditions);
        }

        LgCondition *c = cond(filter(s, 0), LG_COND_INTERFACE, false);
        g_assert_nonnull(c);
        g_autofree char *lo = cond_literal(c);
        g_assert_cmpstr(lo, ==, "lo");
        assert_params(c, "");
        g_assert_cmpint(c->line, ==, 20);
        g_assert_cmpint(c->column, ==, 18);

        c = cond(filter(s, 1), LG_COND_INTERFACE, false);
        assert_params(c, "tunnel");
        g_assert_cmpuint(c->literal->names->len, ==, 0);

        c = cond(filter(s, 2), LG_COND_REMOTE, false);
        g_assert_nonnull(c);
        assert_params(c, "servers");
        g_assert_cmpuint(c->literal->endpoints->len, ==, 0);

        LgFilter *dhcp = filter(s, 3);
        g_assert_cmpint(cond(dhcp, LG_COND_FAMILY, false)->family, ==, 4);
        assert_u8s(cond(dhcp, LG_COND_PROTOCOL, false)->numbers, (const uint8_t[]){IPPROTO_UDP}, 1);
        g_autofree char *lp = cond_literal(cond(dhcp, LG_COND_LOCAL_PORT, false));
        g_autofree char *rp = cond_literal(cond(dhcp, LG_COND_REMOTE_PORT, false));
        g_assert_cmpstr(lp, ==, "68");
        g_assert_cmpstr(rp, ==, "67");
        g_assert_cmpint(cond(filter(s, 4), LG_COND_FAMILY, false)->family, ==, 6);

        LgFilter *nd = filter(s, 5);
        assert_u8s(cond(nd, LG_COND_PROTOCOL, false)->numbers, (const uint8_t[]){IPPROTO_ICMPV6}, 1);
        assert_u8s(cond(nd, LG_COND_ICMP_TYPE, false)->numbers, (const uint8_t[]){133, 134, 135, 136, 137}, 5);

        g_autofree char *lan_nets = cond_literal(cond(filter(s, 6), LG_COND_REMOTE, false));
        g_assert_cmpstr(lan_nets, ==,
                        "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,169.254.0.0/16,224.0.0.0/24,239.255.255.250,"
                        "fe80::/10,fc00::/7,ff02::/16");
}

static void test_shipped_dns_leak(void) {
        g_autoptr(LgPolicy) p = load_shipped("dns-leak");
        g_assert_cmpstr(p->name, ==, "dns-leak");
        g_assert_cmpint(p->lifetime, ==, LG_LIFETIME_PERSISTENT);
        g_assert_cmpuint(p->params->len, ==, 2);
        g_assert_null(param(p, 0, "tunnel", LG_TYPE_INTERFACE)->default_value);
        g_assert_null(param(p, 1, "resolvers", LG_TYPE_ADDRESSES)->default_value);

        LgSublayer *s = sublayer(p, 0);
        g_assert_cmpstr(s->name, ==, "dns-leak");
        g_assert_cmpuint(s->weight, ==, 64000);
        g_assert_cmpuint(s->filters->len, ==, 3);

        LgFilter *stub = filter(s, 0);
        g_assert_cmpstr(stub->name, ==, "local-stub");
        g_assert_cmpuint(stub->weight, ==, 3);
        g_assert_cmpuint(stub->layers, ==, 1u << LG_LAYER_OUTBOUND);
        g_assert_cmpint(stub->action, ==, LG_ACTION_PERMIT);

        LgFilter *tr = filter(s, 1);
        g_assert_cmpstr(tr->name, ==, "tunnel-resolvers");
        g_assert_cmpuint(tr->weight, ==, 2);
        g_assert_cmpuint(tr->conditions->len, ==, 4);
        assert_params(cond(tr, LG_COND_INTERFACE, false), "tunnel");
        assert_params(cond(tr, LG_COND_REMOTE, false), "resolvers");
        assert_u8s(cond(tr, LG_COND_PROTOCOL, false)->numbers, (const uint8_t[]){IPPROTO_TCP, IPPROTO_UDP}, 2);
        g_autofree char *ports = cond_literal(cond(tr, LG_COND_REMOTE_PORT, false));
        g_assert_cmpstr(ports, ==, "53,853");

        LgFilter *other = filter(s, 2);
        g_assert_cmpstr(other->name, ==, "other-dns");
        g_assert_cmpuint(other->weight, ==, 0);
        g_assert_cmpint(other->action, ==, LG_ACTION_BLOCK);
        g_assert_true(other->reject);
        g_assert_false(other->log);
}

static void test_shipped_ipv6_leak(void) {
        g_autoptr(LgPolicy) p = load_shipped("ipv6-leak");
        g_assert_cmpstr(p->name, ==, "ipv6-leak");
        g_assert_cmpuint(p->params->len, ==, 3);
        const LgParamDecl *lan = param(p, 0, "allow_lan", LG_TYPE_BOOL);
        g_assert_nonnull(lan->default_value);
        g_assert_false(lan->default_value->boolean);
        /* tunnel and servers are optional: empty by default, so no IPv6 leaves unless given. */
        const LgParamDecl *tun = param(p, 1, "tunnel", LG_TYPE_INTERFACES);
        g_assert_nonnull(tun->default_value);
        g_assert_cmpuint(tun->default_value->names->len, ==, 0);
        const LgParamDecl *srv = param(p, 2, "servers", LG_TYPE_ENDPOINTS);
        g_assert_nonnull(srv->default_value);
        g_assert_cmpuint(srv->default_value->endpoints->len, ==, 0);

        LgSublayer *s = sublayer(p, 0);
        g_assert_cmpstr(s->name, ==, "ipv6-leak");
        g_assert_cmpuint(s->weight, ==, 63000);
        g_assert_cmpuint(s->filters->len, ==, 6);
        /* The tunnel's interface before the servers' endpoint lookup, as in killswitch: soft
         * permits, so the order only decides what a packet costs. */
        g_assert_cmpstr(filter(s, 1)->name, ==, "tunnel");
        g_assert_cmpstr(filter(s, 2)->name, ==, "vpn-servers");
        g_assert_null(filter(s, 1)->when);
        g_assert_null(filter(s, 2)->when);
        /* Neighbour discovery is always permitted: without it no IPv6 reaches the router, not even
         * to an IPv6 VPN server. */
        g_assert_cmpstr(filter(s, 3)->name, ==, "neighbour-discovery");
        g_assert_null(filter(s, 3)->when);
        g_assert_cmpstr(filter(s, 4)->when, ==, "allow_lan");
        g_autofree char *ll = cond_literal(cond(filter(s, 4), LG_COND_REMOTE, false));
        g_assert_cmpstr(ll, ==, "fe80::/10,fc00::/7,ff02::/16");
        LgFilter *all = filter(s, 5);
        g_assert_cmpstr(all->name, ==, "all-ipv6");
        g_assert_cmpint(all->action, ==, LG_ACTION_BLOCK);
        g_assert_cmpint(cond(all, LG_COND_FAMILY, false)->family, ==, 6);
        g_assert_cmpuint(all->conditions->len, ==, 1);

        /* The shipped sublayers are ordered killswitch > dns-leak > ipv6-leak, distinct weights. */
        g_autoptr(LgPolicy) ks = load_shipped("killswitch");
        g_autoptr(LgPolicy) dns = load_shipped("dns-leak");
        g_assert_cmpuint(sublayer(ks, 0)->weight, >, sublayer(dns, 0)->weight);
        g_assert_cmpuint(sublayer(dns, 0)->weight, >, s->weight);
}

/* ---- a policy using every feature ---- */

static const char full_policy[] =
        "policy: full\n"
        "description: every feature\n"
        "lifetime: dynamic\n"
        "parameters:\n"
        "  ifs: { type: interfaces, default: [wg0, tun*] }\n"
        "  nets: { type: addresses, default: 10.0.0.0/8 }\n"
        "  peers: { type: endpoints, default: [\"[2001:db8::1]:51820/udp\"] }\n"
        "  ports: { type: ports, default: [53, 1000-2000] }\n"
        "  on: { type: bool, default: yes }\n"
        "  who: { type: user, default: root }\n"
        "  slice: { type: string, default: system.slice/x.service }\n"
        "  _free: { type: string }\n"
        "sublayers:\n"
        "  - name: high\n"
        "    weight: 65535\n"
        "    description: the top\n"
        "    filters:\n"
        "      - name: hard\n"
        "        weight: 18446744073709551615\n"
        "        layers: [connect, outbound]\n"
        "        action: hard-permit\n"
        "        when: \"!$on\"\n"
        "        match:\n"
        "          user: [$who, 0, root]\n"
        "          group: root\n"
        "          cgroup: $slice\n"
        "          mark: 0x10/0xff\n"
        "          interface: [$ifs, eth0]\n"
        "          remote: [$nets, $peers, 192.0.2.1:53/udp, 192.0.2.0-192.0.2.9]\n"
        "          protocol: [tcp, 17]\n"
        "          remote_port: $ports\n"
        "          not: { local: 127.0.0.0/8, local_port: [0-1023] }\n"
        "      - name: logged\n"
        "        layers: forward\n"
        "        action: block\n"
        "        log: true\n"
        "        reject: no\n"
        "  - name: low\n"
        "    weight: 0\n"
        "    filters:\n"
        "      - name: ping\n"
        "        layers: [accept, inbound]\n"
        "        action: permit\n"
        "        when: $on\n"
        "        match: { protocol: icmp, icmp_type: [echo-request, 0], not: { icmp_type: 3 } }\n"
        "      - name: mark-only\n"
        "        layers: [outbound]\n"
        "        action: block\n"
        "        reject: true\n"
        "        match: { mark: 42, family: ipv4 }\n";

static void test_full_model(void) {
        g_autoptr(LgPolicy) p = load_text(full_policy);
        g_assert_cmpstr(p->name, ==, "full");
        g_assert_cmpstr(p->path, ==, "t.yaml");
        g_assert_cmpint(p->lifetime, ==, LG_LIFETIME_DYNAMIC);
        g_assert_cmpuint(p->params->len, ==, 8);

        const struct {
                const char *name;
                LgType type;
                const char *def; /* canonical default, NULL: required */
        } params[] = {
                {"ifs", LG_TYPE_INTERFACES, "wg0,tun*"},
                {"nets", LG_TYPE_ADDRESSES, "10.0.0.0/8"},
                {"peers", LG_TYPE_ENDPOINTS, "[2001:db8::1]:51820/udp"},
                {"ports", LG_TYPE_PORTS, "53,1000-2000"},
                {"on", LG_TYPE_BOOL, "true"},
                {"who", LG_TYPE_USER, "0"},
                {"slice", LG_TYPE_STRING, "system.slice/x.service"},
                {"_free", LG_TYPE_STRING, NULL},
        };
        for (guint i = 0; i < G_N_ELEMENTS(params); i++) {
                const LgParamDecl *d = param(p, i, params[i].name, params[i].type);
                g_assert_cmpint(d->line, ==, (int) i + 5);
                if (!params[i].def) {
                        g_assert_null(d->default_value);
                        continue;
                }
                g_assert_nonnull(d->default_value);
                g_assert_cmpint(d->default_value->type, ==, params[i].type);
                g_autofree char *def = lg_value_to_string(d->default_value);
                g_assert_cmpstr(def, ==, params[i].def);
        }

        LgSublayer *high = sublayer(p, 0), *low = sublayer(p, 1);
        g_assert_cmpuint(high->weight, ==, 65535);
        g_assert_cmpuint(low->weight, ==, 0);
        g_assert_cmpuint(low->index, ==, 1);

        LgFilter *hard = filter(high, 0);
        g_assert_cmpuint(hard->weight, ==, UINT64_MAX);
        g_assert_cmpuint(hard->layers, ==, (1u << LG_LAYER_CONNECT) | (1u << LG_LAYER_OUTBOUND));
        g_assert_cmpint(hard->action, ==, LG_ACTION_HARD_PERMIT);
        g_assert_cmpstr(hard->when, ==, "on");
        g_assert_true(hard->when_negated);
        g_assert_cmpuint(hard->conditions->len, ==, 10);

        LgCondition *c = cond(hard, LG_COND_USER, false);
        assert_params(c, "who");
        g_assert_cmpuint(c->numbers->len, ==, 2);
        g_assert_cmpuint(g_array_index(c->numbers, guint32, 0), ==, 0);
        g_assert_cmpuint(g_array_index(c->numbers, guint32, 1), ==, 0);
        c = cond(hard, LG_COND_GROUP, false);
        g_assert_cmpuint(c->numbers->len, ==, 1);
        g_assert_cmpuint(g_array_index(c->numbers, guint32, 0), ==, 0);
        assert_params(cond(hard, LG_COND_CGROUP, false), "slice");
        c = cond(hard, LG_COND_MARK, false);
        g_assert_cmpuint(c->mark, ==, 0x10);
        g_assert_cmpuint(c->mask, ==, 0xff);
        c = cond(hard, LG_COND_INTERFACE, false);
        assert_params(c, "ifs");
        g_autofree char *eth = cond_literal(c);
        g_assert_cmpstr(eth, ==, "eth0");
        c = cond(hard, LG_COND_REMOTE, false);
        assert_params(c, "nets,peers");
        g_autofree char *remote = cond_literal(c);
        g_assert_cmpstr(remote, ==, "192.0.2.1:53/udp,192.0.2.0-192.0.2.9");
        assert_u8s(cond(hard, LG_COND_PROTOCOL, false)->numbers, (const uint8_t[]){IPPROTO_TCP, IPPROTO_UDP}, 2);
        assert_params(cond(hard, LG_COND_REMOTE_PORT, false), "ports");
        g_assert_null(cond(hard, LG_COND_LOCAL, false));
        g_autofree char *local = cond_literal(cond(hard, LG_COND_LOCAL, true));
        g_assert_cmpstr(local, ==, "127.0.0.0/8");
        g_autofree char *lport = cond_literal(cond(hard, LG_COND_LOCAL_PORT, true));
        g_assert_cmpstr(lport, ==, "0-1023");

        LgFilter *logged = filter(high, 1);
        g_assert_cmpuint(logged->weight, ==, 0); /* weight defaults to 0 */
        g_assert_cmpuint(logged->layers, ==, 1u << LG_LAYER_FORWARD);
        g_assert_true(logged->log);
        g_assert_false(logged->reject);
        g_assert_cmpuint(logged->conditions->len, ==, 0);

        /* icmp_type and not: { icmp_type } keep their own types. */
        LgFilter *ping = filter(low, 0);
        g_assert_cmpstr(ping->when, ==, "on");
        g_assert_false(ping->when_negated);
        g_assert_cmpuint(ping->layers, ==, (1u << LG_LAYER_ACCEPT) | (1u << LG_LAYER_INBOUND));
        assert_u8s(cond(ping, LG_COND_ICMP_TYPE, false)->numbers, (const uint8_t[]){8, 0}, 2);
        assert_u8s(cond(ping, LG_COND_ICMP_TYPE, true)->numbers, (const uint8_t[]){3}, 1);

        LgFilter *mark = filter(low, 1);
        g_assert_true(mark->reject);
        c = cond(mark, LG_COND_MARK, false);
        g_assert_cmpuint(c->mark, ==, 42);
        g_assert_cmpuint(c->mask, ==, UINT32_MAX);
        g_assert_cmpint(cond(mark, LG_COND_FAMILY, false)->family, ==, 4);
}

/* ICMP type names resolve per protocol: 3 is destination-unreachable for icmp, time-exceeded for
 * icmpv6; echo-request is 8 or 128. */
static void test_icmp_types(void) {
        g_autoptr(LgPolicy) p = load_text("policy: t\n"
                                          "sublayers:\n"
                                          "  - name: s\n"
                                          "    weight: 1\n"
                                          "    filters:\n"
                                          "      - name: v4\n"
                                          "        layers: outbound\n"
                                          "        action: permit\n"
                                          "        match: { protocol: icmp, icmp_type: [echo-request, time-exceeded] }\n"
                                          "      - name: v6\n"
                                          "        layers: outbound\n"
                                          "        action: permit\n"
                                          "        match: { protocol: icmpv6, icmp_type: [echo-request, time-exceeded] }\n"
                                          "      - name: v6-not\n"
                                          "        layers: outbound\n"
                                          "        action: permit\n"
                                          "        match:\n"
                                          "          protocol: 58\n"
                                          "          icmp_type: packet-too-big\n"
                                          "          not: { icmp_type: [echo-request, echo-reply] }\n");
        LgSublayer *s = sublayer(p, 0);
        assert_u8s(cond(filter(s, 0), LG_COND_ICMP_TYPE, false)->numbers, (const uint8_t[]){8, 11}, 2);
        assert_u8s(cond(filter(s, 1), LG_COND_ICMP_TYPE, false)->numbers, (const uint8_t[]){128, 3}, 2);
        assert_u8s(cond(filter(s, 2), LG_COND_ICMP_TYPE, false)->numbers, (const uint8_t[]){2}, 1);
        assert_u8s(cond(filter(s, 2), LG_COND_ICMP_TYPE, true)->numbers, (const uint8_t[]){128, 129}, 2);
}

/* ---- errors while loading ---- */

static void test_load_errors(void) {
        const struct {
                const char *text, *msg;
        } cases[] = {
                {"", "t.yaml:1:1: the file is empty: expected a policy (a mapping with 'policy' and 'sublayers')"},
                {"# nothing\n", "t.yaml:1:1: the file is empty: expected a policy (a mapping with 'policy' and "
                                "'sublayers')"},
                {"policy: t\n  x: [\n", "t.yaml:2:4: YAML syntax error: mapping values are not allowed in this context"},
                {"policy: t\nsublayers:\n\t- name: s\n", "t.yaml:3:1: YAML syntax error: a tab character; YAML "
                                                         "indentation must use spaces"},
                {"policy: t\ndescription: caf\xc3\n", "t.yaml:2:17: YAML syntax error: invalid trailing UTF-8 octet"},
                {"policy: t\ndescription: ok\xe2\x82", "t.yaml:2:16: YAML syntax error: incomplete UTF-8 octet sequence"},
                {"policy: t\n\xff\n", "t.yaml:2:1: YAML syntax error: invalid leading UTF-8 octet"},
                {"policy: t\ndescription: \"\x01\"\n", "t.yaml:2:15: YAML syntax error: control characters are not "
                                                     "allowed"},
                {"policy: t\nsublayers: []\n---\npolicy: u\n",
                 "t.yaml:4:1: a second YAML document: one file holds one policy"},
                {"policy: t\npolicy: u\n", "t.yaml:2:1: duplicate key 'policy' in the policy"},
                {"polcy: t\n", "t.yaml:1:1: unknown key 'polcy' in the policy (did you mean 'policy'?)"},
                {"policy: t\n", "t.yaml:1:1: missing 'sublayers'"},
                {"policy: [t]\n", "t.yaml:1:9: policy name must be a scalar, not a list"},
                {"policy: t\nparameters: [a]\nsublayers: []\n",
                 "t.yaml:2:13: 'parameters' must be a mapping, not a list"},
                {"policy: t\nsublayers: x\n", "t.yaml:2:12: 'sublayers' must be a list, not a scalar"},
                {"policy: t\nsublayers:\n  - name: s\n    weight: 1\n    filters: x\n",
                 "t.yaml:5:14: 'filters' must be a list of filters, not a scalar"},
                {"policy: t\nsublayers:\n  - weight: 1\n    filters: []\n", "t.yaml:3:5: sublayer has no 'name'"},
                {"policy: t\nsublayers:\n  - name: s\n    weight: 1\n", "t.yaml:3:5: sublayer 's' has no 'filters'"},
                {"policy: t\nsublayers:\n  - name: s\n    weight: 1\n    filters: [{layers: outbound}]\n",
                 "t.yaml:5:15: filter has no 'name'"},
                {"policy: t\nsublayers:\n  - name: s\n    weight: 1\n    filters: [{name: f, action: block}]\n",
                 "t.yaml:5:15: filter 'f' has no 'layers'"},
                {"policy: t\nparameters:\n  x: { type: bool }\n  x: { type: bool }\n",
                 "t.yaml:4:3: duplicate key 'x' in 'parameters'"},
                {"policy: t\nparameters: { x: { type: bool, default: [true] } }\nsublayers: []\n",
                 "t.yaml:2:41: the default of 'x' of type bool must be a single value, not a list"},
                {"policy: t\nparameters: { x: { type: ports, default: [1, 99999] } }\nsublayers: []\n",
                 "t.yaml:2:46: the default of 'x': '99999' is not a port: expected a number from 0 to 65535 or a "
                 "range A-B with A <= B"},
                {"policy: t\nparameters: { x: { type: user, default: nobody-leakguard-x } }\nsublayers: []\n",
                 "t.yaml:2:41: the default of 'x': 'nobody-leakguard-x' is not a uid or a known user name"},
                {"policy: &a t\ndescription: *a\n", "t.yaml:1:9: YAML aliases are not supported in policy files"},
                {"policy: t\ndescription: !local x\n",
                 "t.yaml:2:14: YAML tag '!local' is not supported: quote a value that starts with '!', as in "
                 "\"!$name\""},
                {"policy: t\nsublayers:\n  - name: s\n    weight: 1\n    filters:\n      - name: f\n"
                 "        when: !$x\n",
                 "t.yaml:7:15: YAML tag '!$x' is not supported: quote a value that starts with '!', as in \"!$name\""},
        };
        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_autofree char *msg = load_error(cases[i].text);
                g_assert_cmpstr(msg, ==, cases[i].msg);
        }
}

/* Every structural error carries FILE:LINE:COLUMN, and the location is where the problem is. */
static void test_error_locations(void) {
        static const char head[] = "policy: t\n"
                                   "parameters:\n"
                                   "  tun: { type: interface }\n"
                                   "  on: { type: bool, default: false }\n"
                                   "sublayers:\n"
                                   "  - name: s\n"
                                   "    weight: 1\n"
                                   "    filters:\n"
                                   "      - name: f\n"
                                   "        layers: [outbound]\n"
                                   "        action: permit\n";
        const struct {
                const char *tail, *msg;
        } cases[] = {
                {"        match: { remote_prot: 53 }\n",
                 "t.yaml:12:18: unknown condition 'remote_prot' (did you mean 'remote_port'?)"},
                {"        match: { not: { remote_prot: 53 } }\n",
                 "t.yaml:12:25: unknown condition 'remote_prot' (did you mean 'remote_port'?)"},
                {"        match: { not: { not: { remote: 10.0.0.1 } } }\n", "t.yaml:12:25: 'not' cannot be nested"},
                {"        match: { interface: $tunn }\n",
                 "t.yaml:12:29: undefined parameter '$tunn' (did you mean 'tun'?)"},
                {"        match: { interface: $on }\n",
                 "t.yaml:12:29: parameter 'on' is of type bool, which 'interface' cannot use"},
                {"        match: { family: $on }\n",
                 "t.yaml:12:26: parameter 'on' is of type bool, which 'family' cannot use"},
                {"        when: $tun\n", "t.yaml:12:15: 'when' needs a bool parameter, 'tun' is of type interface"},
                {"        when: $of\n", "t.yaml:12:15: undefined parameter '$of' in 'when' (did you mean 'on'?)"},
                {"        reject: true\n", "t.yaml:12:9: filter 'f': 'reject' applies to block filters only, not to "
                                         "permit"},
                {"        log: maybe\n", "t.yaml:12:14: 'maybe' is not a bool: expected true or false"},
                {"        weight: 1.5\n",
                 "t.yaml:12:17: filter weight '1.5' is not a number from 0 to 18446744073709551615"},
                {"        match: { remote: [10.0.0.1, 10.0.0.1/8] }\n",
                 "t.yaml:12:37: '10.0.0.1/8' is not a valid address: host bits are set (did you mean 10.0.0.0/8?)"},
                {"        match: { remote: \"[::1]:99999\" }\n",
                 "t.yaml:12:26: endpoint '[::1]:99999': port '99999' is not a number from 1 to 65535"},
                {"        match: { remote: 10.0.0.1:0/udp }\n",
                 "t.yaml:12:26: endpoint '10.0.0.1:0/udp': port '0' is not a number from 1 to 65535"},
                {"        match: { icmp_type: echo-request, protocol: [icmp, icmpv6] }\n",
                 "t.yaml:12:18: 'icmp_type' needs 'protocol: icmp' or 'protocol: icmpv6' in the same filter"},
                {"        match: { protocol: icmpv6, icmp_type: [echo-request, redirect] }\n",
                 "t.yaml:12:62: 'redirect' is not an icmpv6 type"},
                {"        match: { protocol: [tcp, gre], local_port: 1 }\n",
                 "t.yaml:12:40: 'local_port' needs a protocol with ports (tcp, udp, udplite, sctp, dccp), but the "
                 "filter also matches protocol 47"},
                {"        match: { protocol: 256 }\n",
                 "t.yaml:12:28: unknown protocol '256': expected tcp, udp, icmp, icmpv6, udplite, sctp, dccp, gre, "
                 "esp, ah or a number from 0 to 255"},
                {"        match: { mark: [1, 2] }\n", "t.yaml:12:28: mark takes one VALUE or VALUE/MASK"},
                {"        match: { cgroup: [a, b] }\n", "t.yaml:12:30: cgroup takes one path"},
                {"        match: { remote: [] }\n",
                 "t.yaml:12:26: 'remote' has an empty list: a condition needs at least one value"},
                {"        match: { interface: [[lo]] }\n", "t.yaml:12:30: interface must be a scalar, not a list"},
                {"      - name: f\n        layers: [outbound]\n        action: block\n",
                 "t.yaml:12:9: duplicate filter name 'f' in sublayer 's'"},
                {"  - name: s\n    weight: 2\n    filters: []\n", "t.yaml:12:5: duplicate sublayer name 's'"},
                {"  - name: S\n    weight: 2\n    filters: []\n",
                 "t.yaml:12:11: sublayer name 'S' is not valid: expected [a-z0-9][a-z0-9-]*, at most 40 characters"},
        };
        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_autofree char *text = g_strconcat(head, cases[i].tail, NULL);
                g_autofree char *msg = load_error(text);
                g_assert_cmpstr(msg, ==, cases[i].msg);
        }
        /* The head alone is valid. */
        g_autoptr(LgPolicy) p = load_text(head);
        g_assert_nonnull(p);
}

static char *many_filters(guint n) {
        GString *s = g_string_new("policy: many\nsublayers:\n");
        for (guint i = 0; i < n; i++) {
                if (i % 1000 == 0)
                        g_string_append_printf(s, "- name: s%u\n  weight: %u\n  filters:\n", i / 1000, i / 1000);
                g_string_append_printf(s, "  - {name: f%u, layers: outbound, action: block}\n", i % 1000);
        }
        return g_string_free(s, FALSE);
}

static void test_limits(void) {
        /* Size: refused before parsing, from load_data and from load_file. */
        gsize big = LG_MAX_POLICY_FILE_SIZE + 1;
        g_autofree char *data = g_malloc(big);
        memset(data, '#', big);
        g_autoptr(GError) e = NULL;
        g_assert_null(lg_policy_load_data(data, big, "big.yaml", &e));
        g_assert_error(e, LG_ERROR, LG_ERROR_INVALID_POLICY);
        g_assert_cmpstr(e->message, ==, "big.yaml: file is 4194305 bytes, a policy file may have at most 4194304 bytes");

        g_autofree char *dir = g_dir_make_tmp("test-policy-XXXXXX", NULL);
        g_assert_nonnull(dir);
        g_autofree char *path = g_build_filename(dir, "big.yaml", NULL);
        g_assert_true(g_file_set_contents(path, data, (gssize) big, NULL));
        g_autoptr(GError) e2 = NULL;
        g_assert_null(lg_policy_load_file(path, &e2));
        g_assert_error(e2, LG_ERROR, LG_ERROR_INVALID_POLICY);
        g_assert_true(g_str_has_suffix(e2->message, "big.yaml: file is 4194305 bytes, a policy file may have at most "
                                                    "4194304 bytes"));
        g_unlink(path);
        g_rmdir(dir);

        /* A device has no size to check: the read itself is bounded. */
        g_autoptr(GError) e3 = NULL;
        g_assert_null(lg_policy_load_file("/dev/zero", &e3));
        g_assert_error(e3, LG_ERROR, LG_ERROR_INVALID_POLICY);
        g_assert_cmpstr(e3->message, ==,
                        "/dev/zero: more than 4194304 bytes, a policy file may have at most 4194304 bytes");

        g_autoptr(GError) e4 = NULL;
        g_assert_null(lg_policy_load_file("/nonexistent/leakguard.yaml", &e4));
        g_assert_error(e4, LG_ERROR, LG_ERROR_INVALID_POLICY);
        g_assert_true(g_str_has_prefix(e4->message, "/nonexistent/leakguard.yaml: "));

        /* Names: at most LG_MAX_NAME_LEN characters. */
        g_autofree char *n41 = g_strnfill(LG_MAX_NAME_LEN + 1, 'a');
        g_autofree char *text = g_strdup_printf("policy: %s\n", n41);
        g_autofree char *msg = load_error(text);
        g_assert_true(g_str_has_prefix(msg, "t.yaml:1:9: policy name 'aaaa"));

        /* Filters: at most LG_MAX_FILTERS in one policy (spread over sublayers of 1000). */
        g_autofree char *many = many_filters(LG_MAX_FILTERS + 1);
        g_assert_cmpuint(strlen(many), <=, LG_MAX_POLICY_FILE_SIZE);
        g_autofree char *many_msg = load_error(many);
        g_assert_true(g_str_has_suffix(many_msg, ": more than 20000 filters in one policy"));
        g_autofree char *enough = many_filters(LG_MAX_FILTERS);
        g_autoptr(LgPolicy) ok = load_text(enough);
        g_assert_cmpuint(ok->sublayers->len, ==, 20);

        /* All of them in one sublayer, and a duplicate name found at the very end. */
        GString *one = g_string_new("policy: one\nsublayers:\n- name: s\n  weight: 1\n  filters:\n");
        for (guint i = 0; i < LG_MAX_FILTERS; i++)
                g_string_append_printf(one, "  - {name: f%u, layers: outbound, action: block}\n", i);
        g_autoptr(LgPolicy) single = load_text(one->str);
        g_assert_cmpuint(sublayer(single, 0)->filters->len, ==, LG_MAX_FILTERS);
        g_string_truncate(one, strrchr(one->str, '\n') - one->str);
        g_string_truncate(one, strrchr(one->str, '\n') - one->str + 1);
        g_string_append(one, "  - {name: f7, layers: outbound, action: block}\n");
        g_autofree char *dup = load_error(one->str);
        g_assert_true(g_str_has_suffix(dup, ":20005:5: duplicate filter name 'f7' in sublayer 's'"));
        g_string_free(one, TRUE);

        /* Many sublayers (no limit but the file size), a duplicate at the end. */
        GString *subs = g_string_new("policy: subs\nsublayers:\n");
        for (guint i = 0; i < 20000; i++)
                g_string_append_printf(subs, "- {name: s%u, weight: 1, filters: []}\n", i);
        g_autoptr(LgPolicy) wide = load_text(subs->str);
        g_assert_cmpuint(wide->sublayers->len, ==, 20000);
        g_string_append(subs, "- {name: s3, weight: 2, filters: []}\n");
        g_autofree char *dup2 = load_error(subs->str);
        g_assert_true(g_str_has_suffix(dup2, ":20003:3: duplicate sublayer name 's3'"));
        g_string_free(subs, TRUE);
}

/* ---- binding parameters ---- */

static GHashTable *kv(const LgPolicy *p, const char *const *items, size_t n, GError **error) {
        return lg_policy_parse_kv(p, items, n, error);
}

static void test_bind(void) {
        g_autoptr(LgPolicy) p = load_shipped("killswitch");

        /* Defaults are filled in; given values are copied. */
        const char *args[] = {"tunnel=wg0", "servers=198.51.100.7:51820/udp [2001:db8::1]:51820/udp"};
        g_autoptr(GError) e = NULL;
        g_autoptr(GHashTable) given = kv(p, args, G_N_ELEMENTS(args), &e);
        g_assert_no_error(e);
        g_assert_cmpuint(g_hash_table_size(given), ==, 2);
        g_autoptr(GHashTable) bound = lg_policy_bind_params(p, given, &e);
        g_assert_no_error(e);
        g_assert_nonnull(bound);
        g_assert_cmpuint(g_hash_table_size(bound), ==, 3);
        LgValue *tunnel = g_hash_table_lookup(bound, "tunnel");
        g_assert_cmpint(tunnel->type, ==, LG_TYPE_INTERFACE);
        g_assert_cmpstr(tunnel->names->pdata[0], ==, "wg0");
        g_assert_true(tunnel != g_hash_table_lookup(given, "tunnel"));
        LgValue *servers = g_hash_table_lookup(bound, "servers");
        g_autofree char *st = lg_value_to_string(servers);
        g_assert_cmpstr(st, ==, "198.51.100.7:51820/udp,[2001:db8::1]:51820/udp");
        LgValue *lan = g_hash_table_lookup(bound, "allow_lan");
        g_assert_cmpint(lan->type, ==, LG_TYPE_BOOL);
        g_assert_false(lan->boolean);
        g_assert_true(lan != lg_policy_find_param(p, "allow_lan")->default_value);
        g_assert_true(lg_value_equal(lan, lg_policy_find_param(p, "allow_lan")->default_value));
        /* The bound table does not depend on the given one. */
        g_hash_table_remove_all(given);
        g_assert_cmpstr(((LgValue *) g_hash_table_lookup(bound, "tunnel"))->names->pdata[0], ==, "wg0");

        /* A given value overrides the default. */
        const char *args2[] = {"tunnel=wg*", "servers=198.51.100.7", "allow_lan=yes"};
        g_autoptr(GHashTable) given2 = kv(p, args2, G_N_ELEMENTS(args2), &e);
        g_assert_no_error(e);
        g_autoptr(GHashTable) bound2 = lg_policy_bind_params(p, given2, &e);
        g_assert_no_error(e);
        g_assert_true(((LgValue *) g_hash_table_lookup(bound2, "allow_lan"))->boolean);

        /* An empty list is a value (the caller said "no servers"). */
        const char *args3[] = {"tunnel=wg0", "servers="};
        g_autoptr(GHashTable) given3 = kv(p, args3, G_N_ELEMENTS(args3), &e);
        g_assert_no_error(e);
        g_assert_cmpuint(((LgValue *) g_hash_table_lookup(given3, "servers"))->endpoints->len, ==, 0);

        /* ipv6-leak needs nothing. */
        g_autoptr(LgPolicy) v6 = load_shipped("ipv6-leak");
        g_autoptr(GHashTable) none = lg_params_table_new();
        g_autoptr(GHashTable) b6 = lg_policy_bind_params(v6, none, &e);
        g_assert_no_error(e);
        g_assert_cmpuint(g_hash_table_size(b6), ==, 3);
        g_assert_false(((LgValue *) g_hash_table_lookup(b6, "allow_lan"))->boolean);
        g_assert_cmpuint(((LgValue *) g_hash_table_lookup(b6, "tunnel"))->names->len, ==, 0);
}

static void test_bind_errors(void) {
        g_autoptr(LgPolicy) p = load_shipped("killswitch");

        /* Missing required parameters, in declaration order. */
        g_autoptr(GHashTable) empty = lg_params_table_new();
        g_autoptr(GError) e = NULL;
        g_assert_null(lg_policy_bind_params(p, empty, &e));
        g_assert_error(e, LG_ERROR, LG_ERROR_INVALID_PARAMETERS);
        g_assert_cmpstr(e->message, ==, "policy 'killswitch' needs parameter 'tunnel' (interface: VPN tunnel interface)");
        g_clear_error(&e);

        g_autoptr(GHashTable) only_tunnel = lg_params_table_new();
        g_hash_table_insert(only_tunnel, g_strdup("tunnel"), lg_value_parse_text(LG_TYPE_INTERFACE, "wg0", NULL));
        g_assert_null(lg_policy_bind_params(p, only_tunnel, &e));
        g_assert_error(e, LG_ERROR, LG_ERROR_INVALID_PARAMETERS);
        g_assert_cmpstr(e->message, ==,
                        "policy 'killswitch' needs parameter 'servers' (endpoints: VPN servers, "
                        "ADDRESS[:PORT][/udp|/tcp])");
        g_clear_error(&e);

        /* Unknown, with a suggestion when one is close. */
        g_hash_table_insert(only_tunnel, g_strdup("tunnl"), lg_value_parse_text(LG_TYPE_INTERFACE, "wg0", NULL));
        g_assert_null(lg_policy_bind_params(p, only_tunnel, &e));
        g_assert_error(e, LG_ERROR, LG_ERROR_INVALID_PARAMETERS);
        g_assert_cmpstr(e->message, ==, "policy 'killswitch' has no parameter 'tunnl' (did you mean 'tunnel'?)");
        g_clear_error(&e);
        g_hash_table_remove(only_tunnel, "tunnl");
        g_hash_table_insert(only_tunnel, g_strdup("bogus\n"), lg_value_new(LG_TYPE_BOOL));
        g_assert_null(lg_policy_bind_params(p, only_tunnel, &e));
        g_assert_error(e, LG_ERROR, LG_ERROR_INVALID_PARAMETERS);
        g_assert_cmpstr(e->message, ==, "policy 'killswitch' has no parameter 'bogus\\n'");
        g_clear_error(&e);
        g_hash_table_remove(only_tunnel, "bogus\n");

        /* Mistyped: an interfaces list where one interface is declared, a string for a bool. */
        g_hash_table_insert(only_tunnel, g_strdup("tunnel"), lg_value_parse_text(LG_TYPE_INTERFACES, "wg0", NULL));
        g_assert_null(lg_policy_bind_params(p, only_tunnel, &e));
        g_assert_error(e, LG_ERROR, LG_ERROR_INVALID_PARAMETERS);
        g_assert_cmpstr(e->message, ==, "parameter 'tunnel' of policy 'killswitch' is of type interface, got interfaces");
        g_clear_error(&e);
        g_autoptr(GHashTable) wrong = lg_params_table_new();
        g_hash_table_insert(wrong, g_strdup("allow_lan"), lg_value_parse_text(LG_TYPE_STRING, "true", NULL));
        g_assert_null(lg_policy_bind_params(p, wrong, &e));
        g_assert_error(e, LG_ERROR, LG_ERROR_INVALID_PARAMETERS);
        g_assert_cmpstr(e->message, ==, "parameter 'allow_lan' of policy 'killswitch' is of type bool, got string");
}

static void test_parse_kv(void) {
        g_autoptr(LgPolicy) p = load_shipped("killswitch");
        const struct {
                const char *arg, *msg;
        } bad[] = {
                {"tunnel", "'tunnel' is not a parameter: expected key=value"},
                {"tunnl=wg0", "policy 'killswitch' has no parameter 'tunnl' (did you mean 'tunnel'?)"},
                {"=wg0", "policy 'killswitch' has no parameter ''"},
                {"allow_lan=maybe", "parameter 'allow_lan': 'maybe' is not a bool: expected true or false"},
                {"tunnel=wg0\"; flush ruleset",
                 "parameter 'tunnel': interface name 'wg0\\\"; flush ruleset' is 19 bytes long, the kernel allows at "
                 "most 15"},
                {"tunnel=a\";x", "parameter 'tunnel': interface name 'a\\\";x' contains '\"'; allowed are letters, "
                                 "digits and _-.@+ (and a trailing '*')"},
                {"tunnel=*", "parameter 'tunnel': interface name '*' would match every interface: a wildcard needs a "
                             "prefix, such as wg*"},
                {"tunnel=", "parameter 'tunnel': empty interface name"},
                {"servers=198.51.100.7:51820/udp,10.0.0.0/8",
                 "parameter 'servers': endpoint '10.0.0.0/8': expected ADDRESS[:PORT][/udp|/tcp], '8' is not udp or "
                 "tcp (an endpoint is one address, not a prefix)"},
        };
        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                g_autoptr(GError) e = NULL;
                const char *one[] = {bad[i].arg};
                g_assert_null(kv(p, one, 1, &e));
                g_assert_error(e, LG_ERROR, LG_ERROR_INVALID_PARAMETERS);
                g_assert_cmpstr(e->message, ==, bad[i].msg);
        }

        const char *twice[] = {"tunnel=wg0", "tunnel=wg1"};
        g_autoptr(GError) e = NULL;
        g_assert_null(kv(p, twice, 2, &e));
        g_assert_error(e, LG_ERROR, LG_ERROR_INVALID_PARAMETERS);
        g_assert_cmpstr(e->message, ==, "parameter 'tunnel' given twice");
        g_clear_error(&e);

        /* The value is everything after the first '='. */
        g_autoptr(LgPolicy) s = load_text("policy: t\nparameters: { note: { type: string } }\n"
                                          "sublayers: [{name: s, weight: 1, filters: []}]\n");
        const char *eq[] = {"note=a=b, c"};
        g_autoptr(GHashTable) t = kv(s, eq, 1, &e);
        g_assert_no_error(e);
        g_assert_cmpstr(((LgValue *) g_hash_table_lookup(t, "note"))->string, ==, "a=b, c");

        g_autoptr(GHashTable) none = kv(p, NULL, 0, &e);
        g_assert_no_error(e);
        g_assert_cmpuint(g_hash_table_size(none), ==, 0);
}

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/policy/names", test_names);
        g_test_add_func("/policy/shipped/killswitch", test_shipped_killswitch);
        g_test_add_func("/policy/shipped/dns-leak", test_shipped_dns_leak);
        g_test_add_func("/policy/shipped/ipv6-leak", test_shipped_ipv6_leak);
        g_test_add_func("/policy/model/full", test_full_model);
        g_test_add_func("/policy/model/icmp-types", test_icmp_types);
        g_test_add_func("/policy/errors/load", test_load_errors);
        g_test_add_func("/policy/errors/locations", test_error_locations);
        g_test_add_func("/policy/errors/limits", test_limits);
        g_test_add_func("/policy/params/bind", test_bind);
        g_test_add_func("/policy/params/bind-errors", test_bind_errors);
        g_test_add_func("/policy/params/parse-kv", test_parse_kv);
        return g_test_run();
}
