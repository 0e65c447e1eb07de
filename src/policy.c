#include "policy.h"
#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

static const char *const layer_names[_LG_LAYER_MAX] = {
        [LG_LAYER_CONNECT] = "connect",   [LG_LAYER_ACCEPT] = "accept",   [LG_LAYER_OUTBOUND] = "outbound",
        [LG_LAYER_INBOUND] = "inbound",   [LG_LAYER_FORWARD] = "forward",
};

const char *lg_layer_to_string(LgLayer l) {
        return layer_names[l];
}

bool lg_layer_is_inbound(LgLayer l) {
        return l == LG_LAYER_ACCEPT || l == LG_LAYER_INBOUND;
}

const char *lg_action_to_string(LgAction a) {
        return a == LG_ACTION_PERMIT ? "permit" : a == LG_ACTION_HARD_PERMIT ? "hard-permit" : "block";
}

static const char *const cond_names[_LG_COND_MAX] = {
        [LG_COND_INTERFACE] = "interface",     [LG_COND_FAMILY] = "family",       [LG_COND_PROTOCOL] = "protocol",
        [LG_COND_REMOTE] = "remote",           [LG_COND_LOCAL] = "local",         [LG_COND_REMOTE_PORT] = "remote_port",
        [LG_COND_LOCAL_PORT] = "local_port",   [LG_COND_USER] = "user",           [LG_COND_GROUP] = "group",
        [LG_COND_CGROUP] = "cgroup",           [LG_COND_MARK] = "mark",           [LG_COND_ICMP_TYPE] = "icmp_type",
};

const char *lg_cond_to_string(LgCondKey k) {
        return cond_names[k];
}

/* ---- parse context and error reporting ---- */

typedef struct {
        const char *filename;
        yaml_document_t doc;
        guint8 *seen; /* node index → visited: aliases are refused (they make input size meaningless) */
        size_t n_nodes;
        GError *error;
        LgPolicy *policy;
} Parser;

G_GNUC_PRINTF(3, 4)
static bool fail_at(Parser *p, const yaml_node_t *n, const char *fmt, ...) {
        if (p->error)
                return false;
        va_list ap;
        va_start(ap, fmt);
        g_autofree char *msg = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        g_set_error(&p->error, LG_ERROR, LG_ERROR_INVALID_POLICY, "%s:%zu:%zu: %s", p->filename,
                    n ? n->start_mark.line + 1 : 1, n ? n->start_mark.column + 1 : 1, msg);
        return false;
}

/* Error from a value parser, prefixed with the location. */
static bool fail_gerror(Parser *p, const yaml_node_t *n, GError *e) {
        fail_at(p, n, "%s", e->message);
        g_error_free(e);
        return false;
}

static size_t edit_distance(const char *a, const char *b) {
        size_t la = strlen(a), lb = strlen(b);
        if (la > 64 || lb > 64)
                return SIZE_MAX;
        size_t row[65];
        for (size_t j = 0; j <= lb; j++)
                row[j] = j;
        for (size_t i = 1; i <= la; i++) {
                size_t prev = row[0];
                row[0] = i;
                for (size_t j = 1; j <= lb; j++) {
                        size_t cur = row[j];
                        size_t sub = prev + (a[i - 1] != b[j - 1]);
                        row[j] = MIN(MIN(row[j] + 1, row[j - 1] + 1), sub);
                        prev = cur;
                }
        }
        return row[lb];
}

/* " (did you mean 'x'?)" or "" */
char *lg_suggest(const char *word, const char *const *known, size_t n) {
        size_t best = SIZE_MAX;
        const char *pick = NULL;
        for (size_t i = 0; i < n; i++) {
                if (!known[i])
                        continue;
                size_t d = edit_distance(word, known[i]);
                if (d < best) {
                        best = d;
                        pick = known[i];
                }
        }
        if (pick && best <= MAX(2u, strlen(word) / 3))
                return g_strdup_printf(" (did you mean '%s'?)", pick);
        return g_strdup("");
}

#define suggest lg_suggest

static char *escaped(const yaml_node_t *n) {
        g_autofree char *raw = g_strndup((const char *) n->data.scalar.value, MIN(n->data.scalar.length, 60));
        char *e = g_strescape(raw, NULL);
        if (n->data.scalar.length > 60) {
                char *t = g_strconcat(e, "…", NULL);
                g_free(e);
                e = t;
        }
        return e;
}

static const char *node_kind(const yaml_node_t *n) {
        return n->type == YAML_SCALAR_NODE ? "a scalar" : n->type == YAML_SEQUENCE_NODE ? "a list" : "a mapping";
}

static yaml_node_t *node(Parser *p, int idx) {
        yaml_node_t *n = yaml_document_get_node(&p->doc, idx);
        size_t i = (size_t) idx;
        if (n && i < p->n_nodes) {
                if (p->seen[i]) {
                        fail_at(p, n, "YAML aliases are not supported in policy files");
                        return NULL;
                }
                p->seen[i] = 1;
                /* An unquoted value that starts with '!' is a YAML tag: `when: !$x` would silently
                 * become an empty value tagged "!$x". Only the standard tags, which untagged
                 * nodes get too, are accepted. */
                const char *tag = (const char *) n->tag;
                if (tag && !g_str_has_prefix(tag, "tag:yaml.org,2002:")) {
                        g_autofree char *esc = g_strescape(tag, NULL);
                        fail_at(p, n, "YAML tag '%.60s' is not supported: quote a value that starts with '!', "
                                      "as in \"!$name\"",
                                esc);
                        return NULL;
                }
        }
        return n;
}

static const char *scalar(Parser *p, const yaml_node_t *n, const char *what) {
        if (!n)
                return NULL;
        if (n->type != YAML_SCALAR_NODE) {
                fail_at(p, n, "%s must be a scalar, not %s", what, node_kind(n));
                return NULL;
        }
        if (strlen((const char *) n->data.scalar.value) != n->data.scalar.length) {
                fail_at(p, n, "%s contains a NUL byte", what);
                return NULL;
        }
        return (const char *) n->data.scalar.value;
}

static bool expect_mapping(Parser *p, const yaml_node_t *n, const char *what) {
        if (n->type != YAML_MAPPING_NODE)
                return fail_at(p, n, "%s must be a mapping, not %s", what, node_kind(n));
        return true;
}

/* The keys of 'match' (and of 'not' inside it): the conditions of DESIGN.md §2. */
static const char *const match_keys[] = {"interface", "family", "protocol", "remote", "local", "remote_port",
                                          "local_port", "user", "group", "cgroup", "mark", "icmp_type", "not"};

/* Calls `fn` for each key/value of a mapping after checking keys against `known` and for duplicates. */
typedef bool (*PairFn)(Parser *p, const char *key, yaml_node_t *k, yaml_node_t *v, void *userdata);

static bool each_pair(Parser *p, yaml_node_t *map, const char *what, const char *const *known, size_t n_known,
                      PairFn fn, void *userdata) {
        if (!expect_mapping(p, map, what))
                return false;
        g_autoptr(GHashTable) keys = g_hash_table_new(g_str_hash, g_str_equal);
        for (yaml_node_pair_t *pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
                yaml_node_t *k = node(p, pair->key);
                yaml_node_t *v = node(p, pair->value);
                if (!k || !v)
                        return false;
                const char *key = scalar(p, k, "a key");
                if (!key)
                        return false;
                if (g_hash_table_contains(keys, key))
                        return fail_at(p, k, "duplicate key '%s' in %s", key, what);
                g_hash_table_add(keys, (gpointer) key);
                if (known) {
                        bool ok = false;
                        for (size_t i = 0; i < n_known; i++)
                                if (g_str_equal(key, known[i]))
                                        ok = true;
                        if (!ok) {
                                g_autofree char *hint = suggest(key, known, n_known);
                                g_autofree char *esc = escaped(k);
                                /* Conditions are named as DESIGN.md §2 words the error:
                                 * "unknown condition 'remote_prot' (did you mean 'remote_port'?)". */
                                if (known == match_keys)
                                        return fail_at(p, k, "unknown condition '%s'%s", esc, hint);
                                return fail_at(p, k, "unknown key '%s' in %s%s", esc, what, hint);
                        }
                }
                if (!fn(p, key, k, v, userdata))
                        return false;
        }
        return true;
}

static yaml_node_t *lookup(Parser *p, yaml_node_t *map, const char *key) {
        for (yaml_node_pair_t *pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
                yaml_node_t *k = yaml_document_get_node(&p->doc, pair->key);
                if (k && k->type == YAML_SCALAR_NODE && g_str_equal((const char *) k->data.scalar.value, key))
                        return yaml_document_get_node(&p->doc, pair->value);
        }
        return NULL;
}

/* Items of a scalar-or-list value, each a scalar node. */
static GPtrArray *items_of(Parser *p, yaml_node_t *n, const char *what) {
        GPtrArray *r = g_ptr_array_new();
        if (n->type == YAML_SCALAR_NODE) {
                g_ptr_array_add(r, n);
                return r;
        }
        if (n->type != YAML_SEQUENCE_NODE) {
                fail_at(p, n, "%s must be a value or a list of values, not a mapping", what);
                g_ptr_array_unref(r);
                return NULL;
        }
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
                yaml_node_t *item = node(p, *it);
                if (!item || !scalar(p, item, what)) {
                        g_ptr_array_unref(r);
                        return NULL;
                }
                g_ptr_array_add(r, item);
        }
        return r;
}

/* ---- names ---- */

bool lg_policy_name_valid(const char *name) {
        size_t n = strlen(name);
        if (n == 0 || n > LG_MAX_NAME_LEN || !(g_ascii_islower(name[0]) || g_ascii_isdigit(name[0])))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!(g_ascii_islower(name[i]) || g_ascii_isdigit(name[i]) || name[i] == '-'))
                        return false;
        return true;
}

bool lg_param_name_valid(const char *name) {
        size_t n = strlen(name);
        if (n == 0 || n > LG_MAX_NAME_LEN || !(g_ascii_islower(name[0]) || name[0] == '_'))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!(g_ascii_islower(name[i]) || g_ascii_isdigit(name[i]) || name[i] == '_'))
                        return false;
        return true;
}

static char *take_name(Parser *p, yaml_node_t *n, const char *what) {
        const char *s = scalar(p, n, what);
        if (!s)
                return NULL;
        if (!lg_policy_name_valid(s)) {
                g_autofree char *esc = escaped(n);
                fail_at(p, n, "%s '%s' is not valid: expected [a-z0-9][a-z0-9-]*, at most %d characters", what, esc,
                        LG_MAX_NAME_LEN);
                return NULL;
        }
        return g_strdup(s);
}

/* ---- model lifetimes ---- */

static void condition_free(LgCondition *c) {
        if (!c)
                return;
        if (c->params)
                g_ptr_array_unref(c->params);
        lg_value_free(c->literal);
        if (c->numbers)
                g_array_unref(c->numbers);
        g_free(c);
}

static void filter_free(LgFilter *f) {
        if (!f)
                return;
        g_free(f->name);
        g_free(f->when);
        g_ptr_array_unref(f->conditions);
        g_free(f);
}

static void sublayer_free(LgSublayer *s) {
        if (!s)
                return;
        g_free(s->name);
        g_ptr_array_unref(s->filters);
        g_free(s);
}

static void param_decl_free(LgParamDecl *d) {
        if (!d)
                return;
        g_free(d->name);
        g_free(d->description);
        lg_value_free(d->default_value);
        g_free(d);
}

void lg_policy_free(LgPolicy *p) {
        if (!p)
                return;
        g_free(p->name);
        g_free(p->description);
        g_free(p->path);
        g_ptr_array_unref(p->params);
        g_ptr_array_unref(p->sublayers);
        g_free(p);
}

const LgParamDecl *lg_policy_find_param(const LgPolicy *p, const char *name) {
        for (guint i = 0; i < p->params->len; i++) {
                LgParamDecl *d = p->params->pdata[i];
                if (g_str_equal(d->name, name))
                        return d;
        }
        return NULL;
}

/* ---- parameters ---- */

static char *param_suggest(const LgPolicy *p, const char *name);

static LgValue *parse_value_node(Parser *p, LgType type, yaml_node_t *n, const char *what) {
        if (!lg_type_is_list(type) && n->type != YAML_SCALAR_NODE) {
                fail_at(p, n, "%s of type %s must be a single value, not %s", what, lg_type_to_string(type),
                        node_kind(n));
                return NULL;
        }
        g_autoptr(GPtrArray) items = items_of(p, n, what);
        if (!items)
                return NULL;
        g_autoptr(LgValue) v = lg_value_new(type);
        for (guint i = 0; i < items->len; i++) {
                yaml_node_t *it = items->pdata[i];
                GError *e = NULL;
                if (!lg_value_add_item(v, (const char *) it->data.scalar.value, &e)) {
                        /* Name what the value is for: "the default of 'allow_lan': 'maybe' is not a bool". */
                        fail_at(p, it, "%s: %s", what, e->message);
                        g_error_free(e);
                        return NULL;
                }
        }
        return g_steal_pointer(&v);
}

static bool parse_param_field(Parser *p, const char *key, yaml_node_t *k, yaml_node_t *v, void *userdata) {
        LgParamDecl *d = userdata;
        if (g_str_equal(key, "type")) {
                const char *t = scalar(p, v, "type");
                if (!t)
                        return false;
                d->type = lg_type_from_string(t);
                if (d->type == _LG_TYPE_INVALID) {
                        g_autofree char *hint = suggest(t, (const char *const[]){"interface", "interfaces", "addresses",
                                                                                   "endpoints", "ports", "bool",
                                                                                   "user", "string"},
                                                        8);
                        g_autofree char *esc = escaped(v);
                        return fail_at(p, v,
                                       "unknown parameter type '%s'%s: expected interface, interfaces, addresses, "
                                       "endpoints, ports, bool, user or string",
                                       esc, hint);
                }
        } else if (g_str_equal(key, "description")) {
                const char *s = scalar(p, v, "description");
                if (!s)
                        return false;
                d->description = g_strdup(s);
        }
        /* `default` is parsed once the type is known, below. */
        return true;
}

static bool parse_param(Parser *p, const char *key, yaml_node_t *k, yaml_node_t *v, void *userdata) {
        static const char *const known[] = {"type", "description", "default"};
        if (!lg_param_name_valid(key)) {
                g_autofree char *esc = escaped(k);
                return fail_at(p, k, "parameter name '%s' is not valid: expected [a-z_][a-z0-9_]*, at most %d characters",
                               esc, LG_MAX_NAME_LEN);
        }
        LgParamDecl *d = g_new0(LgParamDecl, 1);
        d->name = g_strdup(key);
        d->type = _LG_TYPE_INVALID;
        d->line = (int) k->start_mark.line + 1;
        d->column = (int) k->start_mark.column + 1;
        g_ptr_array_add(p->policy->params, d);
        if (!each_pair(p, v, "a parameter", known, G_N_ELEMENTS(known), parse_param_field, d))
                return false;
        if (d->type == _LG_TYPE_INVALID)
                return fail_at(p, v, "parameter '%s' has no type", d->name);
        yaml_node_t *def = lookup(p, v, "default");
        if (def) {
                g_autofree char *what = g_strdup_printf("the default of '%s'", d->name);
                d->default_value = parse_value_node(p, d->type, def, what);
                if (!d->default_value)
                        return false;
        }
        return true;
}

/* ---- conditions ---- */

typedef struct {
        const char *name;
        uint8_t value;
} NamedNumber;

static const NamedNumber protocols[] = {
        {"tcp", IPPROTO_TCP},   {"udp", IPPROTO_UDP},   {"icmp", IPPROTO_ICMP},     {"icmpv6", IPPROTO_ICMPV6},
        {"udplite", IPPROTO_UDPLITE}, {"sctp", IPPROTO_SCTP}, {"dccp", IPPROTO_DCCP}, {"gre", IPPROTO_GRE},
        {"esp", IPPROTO_ESP},   {"ah", IPPROTO_AH},
};

static const NamedNumber icmp_types[] = {
        {"echo-reply", 0},          {"destination-unreachable", 3}, {"source-quench", 4}, {"redirect", 5},
        {"echo-request", 8},        {"router-advertisement", 9},    {"router-solicitation", 10},
        {"time-exceeded", 11},      {"parameter-problem", 12},      {"timestamp-request", 13},
        {"timestamp-reply", 14},    {"info-request", 15},           {"info-reply", 16},
        {"address-mask-request", 17}, {"address-mask-reply", 18},
};

static const NamedNumber icmpv6_types[] = {
        {"destination-unreachable", 1}, {"packet-too-big", 2},   {"time-exceeded", 3},
        {"parameter-problem", 4},       {"echo-request", 128},   {"echo-reply", 129},
        {"mld-listener-query", 130},    {"mld-listener-report", 131}, {"mld-listener-done", 132},
        {"nd-router-solicit", 133},     {"nd-router-advert", 134}, {"nd-neighbor-solicit", 135},
        {"nd-neighbor-advert", 136},    {"nd-redirect", 137},    {"router-renumbering", 138},
        {"ind-neighbor-solicit", 141},  {"ind-neighbor-advert", 142}, {"mld2-listener-report", 143},
};

static bool lookup_named(const NamedNumber *t, size_t n, const char *s, uint8_t *ret) {
        uint64_t v;
        if (lg_parse_uint64(s, 255, &v)) {
                *ret = (uint8_t) v;
                return true;
        }
        for (size_t i = 0; i < n; i++)
                if (g_str_equal(t[i].name, s)) {
                        *ret = t[i].value;
                        return true;
                }
        return false;
}

static char *named_suggest(const NamedNumber *t, size_t n, const char *s) {
        g_autofree const char **names = g_new0(const char *, n);
        for (size_t i = 0; i < n; i++)
                names[i] = t[i].name;
        return suggest(s, names, n);
}

const char *lg_icmp_type_name(int family, uint8_t type) {
        const NamedNumber *t = family == 6 ? icmpv6_types : icmp_types;
        size_t n = family == 6 ? G_N_ELEMENTS(icmpv6_types) : G_N_ELEMENTS(icmp_types);
        for (size_t i = 0; i < n; i++)
                if (t[i].value == type)
                        return t[i].name;
        return NULL;
}

const char *lg_protocol_name(uint8_t proto) {
        for (size_t i = 0; i < G_N_ELEMENTS(protocols); i++)
                if (protocols[i].value == proto)
                        return protocols[i].name;
        return NULL;
}

static bool parse_mark(const char *s, uint32_t *mark, uint32_t *mask) {
        g_auto(GStrv) parts = g_strsplit(s, "/", 3);
        guint n = g_strv_length(parts);
        if (n < 1 || n > 2)
                return false;
        for (guint i = 0; i < n; i++) {
                guint64 v;
                const char *t = parts[i];
                guint base = 10;
                if (g_str_has_prefix(t, "0x")) {
                        t += 2;
                        base = 16;
                }
                if (!*t || !g_ascii_string_to_unsigned(t, base, 0, UINT32_MAX, &v, NULL))
                        return false;
                if (i == 0)
                        *mark = (uint32_t) v;
                else
                        *mask = (uint32_t) v;
        }
        if (n == 1)
                *mask = UINT32_MAX;
        return (*mark & ~*mask) == 0;
}

static bool cgroup_path_valid(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > 200 || s[0] == '/' || strstr(s, "..") || strstr(s, "//") || s[n - 1] == '/')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!(g_ascii_isalnum(s[i]) || strchr("._@:+-/\\", s[i])) || s[i] == '\\')
                        return false;
        return true;
}

bool lg_cgroup_path_valid(const char *s) {
        return cgroup_path_valid(s);
}

/* Which parameter types a condition may reference. */
static bool cond_accepts_type(LgCondKey key, LgType t) {
        switch (key) {
        case LG_COND_INTERFACE:
                return t == LG_TYPE_INTERFACE || t == LG_TYPE_INTERFACES;
        case LG_COND_REMOTE:
        case LG_COND_LOCAL:
                return t == LG_TYPE_ADDRESSES || t == LG_TYPE_ENDPOINTS;
        case LG_COND_REMOTE_PORT:
        case LG_COND_LOCAL_PORT:
                return t == LG_TYPE_PORTS;
        case LG_COND_USER:
                return t == LG_TYPE_USER;
        case LG_COND_CGROUP:
                return t == LG_TYPE_STRING;
        default:
                return false;
        }
}

static bool parse_condition_item(Parser *p, LgCondition *c, yaml_node_t *it) {
        const char *s = (const char *) it->data.scalar.value;
        const char *key = cond_names[c->key];
        GError *e = NULL;
        if (s[0] == '$') {
                const LgParamDecl *d = lg_policy_find_param(p->policy, s + 1);
                if (!d) {
                        g_autofree const char **names = g_new0(const char *, p->policy->params->len + 1);
                        for (guint i = 0; i < p->policy->params->len; i++)
                                names[i] = ((LgParamDecl *) p->policy->params->pdata[i])->name;
                        g_autofree char *hint = suggest(s + 1, names, p->policy->params->len);
                        g_autofree char *esc = escaped(it);
                        return fail_at(p, it, "undefined parameter '%s'%s", esc, hint);
                }
                if (!cond_accepts_type(c->key, d->type))
                        return fail_at(p, it, "parameter '%s' is of type %s, which '%s' cannot use", d->name,
                                       lg_type_to_string(d->type), key);
                g_ptr_array_add(c->params, g_strdup(d->name));
                return true;
        }
        switch (c->key) {
        case LG_COND_INTERFACE: {
                char *name;
                if (!lg_parse_interface(s, true, &name, &e))
                        return fail_gerror(p, it, e);
                g_ptr_array_add(c->literal->names, name);
                return true;
        }
        case LG_COND_REMOTE:
        case LG_COND_LOCAL: {
                LgEndpoint ep = {.proto = -1, .port = -1};
                if (lg_parse_addr(s, &ep.addr, &e)) {
                        g_array_append_val(c->literal->endpoints, ep);
                        return true;
                }
                GError *e2 = NULL;
                if (lg_parse_endpoint(s, &ep, &e2)) {
                        g_clear_error(&e);
                        g_array_append_val(c->literal->endpoints, ep);
                        return true;
                }
                /* Report the error of the form it looks like. */
                bool looks_endpoint = s[0] == '[' || g_str_has_suffix(s, "/udp") || g_str_has_suffix(s, "/tcp") ||
                                      (strchr(s, ':') && strchr(s, ':') == strrchr(s, ':') && strchr(s, '.'));
                if (looks_endpoint) {
                        g_clear_error(&e);
                        return fail_gerror(p, it, e2);
                }
                g_clear_error(&e2);
                return fail_gerror(p, it, e);
        }
        case LG_COND_REMOTE_PORT:
        case LG_COND_LOCAL_PORT: {
                LgPortRange r;
                if (!lg_parse_port_range(s, &r, &e))
                        return fail_gerror(p, it, e);
                g_array_append_val(c->literal->ports, r);
                return true;
        }
        case LG_COND_FAMILY:
                if (c->family)
                        return fail_at(p, it, "family takes one value, ipv4 or ipv6");
                if (g_str_equal(s, "ipv4"))
                        c->family = 4;
                else if (g_str_equal(s, "ipv6"))
                        c->family = 6;
                else {
                        g_autofree char *esc = escaped(it);
                        return fail_at(p, it, "unknown family '%s': expected ipv4 or ipv6", esc);
                }
                return true;
        case LG_COND_PROTOCOL: {
                uint8_t v;
                if (!lookup_named(protocols, G_N_ELEMENTS(protocols), s, &v)) {
                        g_autofree char *hint = named_suggest(protocols, G_N_ELEMENTS(protocols), s);
                        g_autofree char *esc = escaped(it);
                        return fail_at(p, it,
                                       "unknown protocol '%s'%s: expected tcp, udp, icmp, icmpv6, udplite, sctp, "
                                       "dccp, gre, esp, ah or a number from 0 to 255",
                                       esc, hint);
                }
                g_array_append_val(c->numbers, v);
                return true;
        }
        case LG_COND_ICMP_TYPE: {
                uint8_t v;
                if (!lookup_named(icmp_types, G_N_ELEMENTS(icmp_types), s, &v) &&
                    !lookup_named(icmpv6_types, G_N_ELEMENTS(icmpv6_types), s, &v)) {
                        g_autofree char *hint = named_suggest(icmpv6_types, G_N_ELEMENTS(icmpv6_types), s);
                        g_autofree char *esc = escaped(it);
                        return fail_at(p, it, "unknown ICMP type '%s'%s", esc, hint);
                }
                /* Names are resolved again per protocol once the filter is complete. */
                return true;
        }
        case LG_COND_USER:
        case LG_COND_GROUP: {
                uint32_t id;
                if (!(c->key == LG_COND_USER ? lg_parse_user(s, &id, &e) : lg_parse_group(s, &id, &e)))
                        return fail_gerror(p, it, e);
                g_array_append_val(c->numbers, id);
                return true;
        }
        case LG_COND_CGROUP:
                if (c->literal->string)
                        return fail_at(p, it, "cgroup takes one path");
                if (!cgroup_path_valid(s)) {
                        g_autofree char *esc = escaped(it);
                        return fail_at(p, it,
                                       "'%s' is not a cgroup v2 path: expected a relative path such as "
                                       "system.slice/foo.service (letters, digits, ._@:+-/)",
                                       esc);
                }
                c->literal->string = g_strdup(s);
                return true;
        case LG_COND_MARK:
                if (c->mask)
                        return fail_at(p, it, "mark takes one VALUE or VALUE/MASK");
                if (!parse_mark(s, &c->mark, &c->mask)) {
                        g_autofree char *esc = escaped(it);
                        return fail_at(p, it,
                                       "'%s' is not a mark: expected VALUE or VALUE/MASK, 32-bit numbers (0x for hex), "
                                       "with no VALUE bits outside MASK",
                                       esc);
                }
                return true;
        default:
                g_assert_not_reached();
        }
}

typedef struct {
        LgFilter *filter;
        bool negated;
        /* yaml_node_t* for icmp_type items, resolved after protocol is known; [1] holds those
         * under 'not'. Kept apart so that `icmp_type` and `not: { icmp_type }` each get only
         * their own types (each mapping has at most one icmp_type, duplicate keys are refused). */
        GPtrArray *icmp_nodes[2];
} MatchCtx;

static bool parse_match_pair(Parser *p, const char *key, yaml_node_t *k, yaml_node_t *v, void *userdata) {
        MatchCtx *m = userdata;
        if (g_str_equal(key, "not")) {
                if (m->negated)
                        return fail_at(p, k, "'not' cannot be nested");
                MatchCtx inner = *m;
                inner.negated = true;
                /* 'not' is a known key here so that nesting gets the message above rather than
                 * "unknown key 'not'". */
                return each_pair(p, v, "'not'", match_keys, G_N_ELEMENTS(match_keys), parse_match_pair, &inner);
        }
        LgCondition *c = g_new0(LgCondition, 1);
        g_ptr_array_add(m->filter->conditions, c);
        for (int i = 0; i < _LG_COND_MAX; i++)
                if (g_str_equal(key, cond_names[i]))
                        c->key = i;
        c->negated = m->negated;
        c->line = (int) k->start_mark.line + 1;
        c->column = (int) k->start_mark.column + 1;
        c->params = g_ptr_array_new_with_free_func(g_free);
        switch (c->key) {
        case LG_COND_INTERFACE:
                c->literal = lg_value_new(LG_TYPE_INTERFACES);
                break;
        case LG_COND_REMOTE:
        case LG_COND_LOCAL:
                c->literal = lg_value_new(LG_TYPE_ENDPOINTS);
                break;
        case LG_COND_REMOTE_PORT:
        case LG_COND_LOCAL_PORT:
                c->literal = lg_value_new(LG_TYPE_PORTS);
                break;
        case LG_COND_CGROUP:
                c->literal = lg_value_new(LG_TYPE_STRING);
                break;
        case LG_COND_PROTOCOL:
        case LG_COND_ICMP_TYPE:
                c->numbers = g_array_new(FALSE, FALSE, sizeof(uint8_t));
                break;
        case LG_COND_USER:
        case LG_COND_GROUP:
                c->numbers = g_array_new(FALSE, FALSE, sizeof(uint32_t));
                break;
        default:
                break;
        }
        g_autoptr(GPtrArray) items = items_of(p, v, key);
        if (!items)
                return false;
        if (items->len == 0)
                return fail_at(p, v, "'%s' has an empty list: a condition needs at least one value", key);
        for (guint i = 0; i < items->len; i++)
                if (!parse_condition_item(p, c, items->pdata[i]))
                        return false;
        if (c->key == LG_COND_ICMP_TYPE)
                g_ptr_array_extend(m->icmp_nodes[c->negated], items, NULL, NULL);
        return true;
}

const LgCondition *lg_filter_find_condition(const LgFilter *f, LgCondKey key, bool negated) {
        for (guint i = 0; i < f->conditions->len; i++) {
                const LgCondition *c = f->conditions->pdata[i];
                if (c->key == key && c->negated == negated)
                        return c;
        }
        return NULL;
}

/* Cross-condition rules: ports need a protocol with ports, ICMP types need exactly one ICMP
 * protocol, uid/gid/cgroup exist only for locally generated traffic. */
static bool check_filter(Parser *p, LgFilter *f, yaml_node_t *fnode, MatchCtx *m) {
        const LgCondition *proto = lg_filter_find_condition(f, LG_COND_PROTOCOL, false);
        for (guint i = 0; i < f->conditions->len; i++) {
                LgCondition *c = f->conditions->pdata[i];
                yaml_node_t at = {.start_mark = {.line = c->line - 1, .column = c->column - 1}};
                if ((c->key == LG_COND_REMOTE_PORT || c->key == LG_COND_LOCAL_PORT) && proto) {
                        for (guint j = 0; j < proto->numbers->len; j++) {
                                uint8_t v = g_array_index(proto->numbers, uint8_t, j);
                                if (v != IPPROTO_TCP && v != IPPROTO_UDP && v != IPPROTO_UDPLITE &&
                                    v != IPPROTO_SCTP && v != IPPROTO_DCCP)
                                        return fail_at(p, &at,
                                                       "'%s' needs a protocol with ports (tcp, udp, udplite, sctp, "
                                                       "dccp), but the filter also matches protocol %u",
                                                       cond_names[c->key], v);
                        }
                }
                if (c->key == LG_COND_USER || c->key == LG_COND_GROUP || c->key == LG_COND_CGROUP) {
                        unsigned local = (1u << LG_LAYER_CONNECT) | (1u << LG_LAYER_OUTBOUND);
                        if (f->layers & ~local)
                                return fail_at(p, &at,
                                               "'%s' identifies the sending process, so it works on the connect and "
                                               "outbound layers only",
                                               cond_names[c->key]);
                }
                if (c->key == LG_COND_ICMP_TYPE) {
                        if (!proto || proto->numbers->len != 1 ||
                            (g_array_index(proto->numbers, uint8_t, 0) != IPPROTO_ICMP &&
                             g_array_index(proto->numbers, uint8_t, 0) != IPPROTO_ICMPV6))
                                return fail_at(p, &at, "'icmp_type' needs 'protocol: icmp' or 'protocol: icmpv6' in "
                                                       "the same filter");
                        bool v6 = g_array_index(proto->numbers, uint8_t, 0) == IPPROTO_ICMPV6;
                        GPtrArray *nodes = m->icmp_nodes[c->negated];
                        /* parse_match_pair() already made the (empty) array. */
                        g_array_set_size(c->numbers, 0);
                        for (guint j = 0; j < nodes->len; j++) {
                                yaml_node_t *it = nodes->pdata[j];
                                const char *s = (const char *) it->data.scalar.value;
                                uint8_t v;
                                bool ok = v6 ? lookup_named(icmpv6_types, G_N_ELEMENTS(icmpv6_types), s, &v)
                                             : lookup_named(icmp_types, G_N_ELEMENTS(icmp_types), s, &v);
                                if (!ok) {
                                        g_autofree char *esc = escaped(it);
                                        return fail_at(p, it, "'%s' is not an %s type", esc, v6 ? "icmpv6" : "icmp");
                                }
                                g_array_append_val(c->numbers, v);
                        }
                }
        }
        (void) fnode;
        return true;
}

/* ---- filters, sublayers, policy ---- */

typedef struct {
        LgFilter *filter;
        yaml_node_t *match;
        bool have_action;
        bool have_layers;
        yaml_node_t *flag_key; /* the 'reject' or 'log' key set to true, for errors */
} FilterCtx;

static bool parse_filter_pair(Parser *p, const char *key, yaml_node_t *k, yaml_node_t *v, void *userdata) {
        FilterCtx *fc = userdata;
        LgFilter *f = fc->filter;
        if (g_str_equal(key, "name")) {
                f->name = take_name(p, v, "filter name");
                return f->name != NULL;
        }
        if (g_str_equal(key, "description"))
                return scalar(p, v, "description") != NULL;
        if (g_str_equal(key, "weight")) {
                const char *s = scalar(p, v, "weight");
                if (!s)
                        return false;
                if (!lg_parse_uint64(s, UINT64_MAX, &f->weight)) {
                        g_autofree char *esc = escaped(v);
                        return fail_at(p, v, "filter weight '%s' is not a number from 0 to 18446744073709551615", esc);
                }
                return true;
        }
        if (g_str_equal(key, "layers")) {
                g_autoptr(GPtrArray) items = items_of(p, v, "layers");
                if (!items)
                        return false;
                if (items->len == 0)
                        return fail_at(p, v, "'layers' is empty: name at least one of connect, accept, outbound, "
                                             "inbound, forward");
                for (guint i = 0; i < items->len; i++) {
                        yaml_node_t *it = items->pdata[i];
                        const char *s = (const char *) it->data.scalar.value;
                        int l = -1;
                        for (int j = 0; j < _LG_LAYER_MAX; j++)
                                if (g_str_equal(s, layer_names[j]))
                                        l = j;
                        if (l < 0) {
                                g_autofree char *hint = suggest(s, layer_names, _LG_LAYER_MAX);
                                g_autofree char *esc = escaped(it);
                                return fail_at(p, it,
                                               "unknown layer '%s'%s: expected connect, accept, outbound, inbound or "
                                               "forward",
                                               esc, hint);
                        }
                        if (f->layers & (1u << l))
                                return fail_at(p, it, "layer '%s' is listed twice", s);
                        f->layers |= 1u << l;
                }
                fc->have_layers = true;
                return true;
        }
        if (g_str_equal(key, "action")) {
                const char *s = scalar(p, v, "action");
                if (!s)
                        return false;
                if (g_str_equal(s, "permit"))
                        f->action = LG_ACTION_PERMIT;
                else if (g_str_equal(s, "hard-permit"))
                        f->action = LG_ACTION_HARD_PERMIT;
                else if (g_str_equal(s, "block"))
                        f->action = LG_ACTION_BLOCK;
                else {
                        g_autofree char *hint = suggest(s, (const char *const[]){"permit", "hard-permit", "block"}, 3);
                        g_autofree char *esc = escaped(v);
                        return fail_at(p, v, "unknown action '%s'%s: expected permit, hard-permit or block", esc, hint);
                }
                fc->have_action = true;
                return true;
        }
        if (g_str_equal(key, "reject") || g_str_equal(key, "log")) {
                const char *s = scalar(p, v, key);
                bool b;
                GError *e = NULL;
                if (!s)
                        return false;
                if (!lg_parse_bool(s, &b, &e))
                        return fail_gerror(p, v, e);
                *(g_str_equal(key, "reject") ? &f->reject : &f->log) = b;
                if (b)
                        fc->flag_key = k;
                return true;
        }
        if (g_str_equal(key, "when")) {
                const char *s = scalar(p, v, "when");
                if (!s)
                        return false;
                bool neg = s[0] == '!';
                const char *ref = neg ? s + 1 : s;
                if (ref[0] != '$')
                        return fail_at(p, v, "'when' takes a bool parameter: $name or \"!$name\" (quoted: an unquoted '!' starts a YAML tag)");
                const LgParamDecl *d = lg_policy_find_param(p->policy, ref + 1);
                if (!d) {
                        g_autofree char *hint = param_suggest(p->policy, ref + 1);
                        g_autofree char *esc = escaped(v);
                        return fail_at(p, v, "undefined parameter '%s' in 'when'%s", esc, hint);
                }
                if (d->type != LG_TYPE_BOOL)
                        return fail_at(p, v, "'when' needs a bool parameter, '%s' is of type %s", d->name,
                                       lg_type_to_string(d->type));
                f->when = g_strdup(d->name);
                f->when_negated = neg;
                return true;
        }
        if (g_str_equal(key, "match")) {
                fc->match = v;
                return expect_mapping(p, v, "'match'");
        }
        g_assert_not_reached();
}

/* `names` holds the names of the sublayer's filters so far: a linear search made a sublayer of
 * LG_MAX_FILTERS filters take most of a second to load. */
static bool parse_filter(Parser *p, LgSublayer *s, GHashTable *names, yaml_node_t *n, unsigned index) {
        static const char *const known[] = {"name", "description", "weight", "layers", "action",
                                             "reject", "log", "when", "match"};
        LgFilter *f = g_new0(LgFilter, 1);
        f->conditions = g_ptr_array_new_with_free_func((GDestroyNotify) condition_free);
        f->index = index;
        g_ptr_array_add(s->filters, f);
        FilterCtx fc = {.filter = f};
        if (!each_pair(p, n, "a filter", known, G_N_ELEMENTS(known), parse_filter_pair, &fc))
                return false;
        if (!f->name)
                return fail_at(p, n, "filter has no 'name'");
        if (!fc.have_layers)
                return fail_at(p, n, "filter '%s' has no 'layers'", f->name);
        if (!fc.have_action)
                return fail_at(p, n, "filter '%s' has no 'action'", f->name);
        /* Point at the offending key, not at the filter, and say which of the two it is. */
        if ((f->reject || f->log) && f->action != LG_ACTION_BLOCK)
                return fail_at(p, fc.flag_key, "filter '%s': '%s' applies to block filters only, not to %s",
                               f->name, (const char *) fc.flag_key->data.scalar.value,
                               lg_action_to_string(f->action));
        if (!g_hash_table_add(names, f->name))
                return fail_at(p, n, "duplicate filter name '%s' in sublayer '%s'", f->name, s->name);
        if (fc.match) {
                g_autoptr(GPtrArray) icmp = g_ptr_array_new();
                g_autoptr(GPtrArray) icmp_negated = g_ptr_array_new();
                MatchCtx m = {.filter = f, .icmp_nodes = {icmp, icmp_negated}};
                if (!each_pair(p, fc.match, "'match'", match_keys, G_N_ELEMENTS(match_keys), parse_match_pair, &m))
                        return false;
                if (!check_filter(p, f, n, &m))
                        return false;
        }
        return true;
}

typedef struct {
        LgSublayer *sublayer;
        yaml_node_t *filters;
        bool have_weight;
} SublayerCtx;

static bool parse_sublayer_pair(Parser *p, const char *key, yaml_node_t *k, yaml_node_t *v, void *userdata) {
        SublayerCtx *sc = userdata;
        if (g_str_equal(key, "name")) {
                sc->sublayer->name = take_name(p, v, "sublayer name");
                return sc->sublayer->name != NULL;
        }
        if (g_str_equal(key, "description"))
                return scalar(p, v, "description") != NULL;
        if (g_str_equal(key, "weight")) {
                const char *s = scalar(p, v, "weight");
                uint64_t w;
                if (!s)
                        return false;
                if (!lg_parse_uint64(s, 65535, &w)) {
                        g_autofree char *esc = escaped(v);
                        return fail_at(p, v, "sublayer weight '%s' is not a number from 0 to 65535", esc);
                }
                sc->sublayer->weight = (uint16_t) w;
                sc->have_weight = true;
                return true;
        }
        if (g_str_equal(key, "filters")) {
                if (v->type != YAML_SEQUENCE_NODE)
                        return fail_at(p, v, "'filters' must be a list of filters, not %s", node_kind(v));
                sc->filters = v;
                return true;
        }
        g_assert_not_reached();
}

static bool parse_sublayers(Parser *p, yaml_node_t *n) {
        static const char *const known[] = {"name", "description", "weight", "filters"};
        if (n->type != YAML_SEQUENCE_NODE)
                return fail_at(p, n, "'sublayers' must be a list, not %s", node_kind(n));
        if (n->data.sequence.items.start == n->data.sequence.items.top)
                return fail_at(p, n, "'sublayers' is empty: a policy needs at least one sublayer");
        unsigned index = 0;
        /* Names seen and a running count of filters: looking both up again for every sublayer or
         * filter made a file of 25,000 sublayers take a second to load. */
        g_autoptr(GHashTable) sublayer_names = g_hash_table_new(g_str_hash, g_str_equal);
        unsigned n_filters = 0;
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
                yaml_node_t *sn = node(p, *it);
                if (!sn)
                        return false;
                LgSublayer *s = g_new0(LgSublayer, 1);
                s->filters = g_ptr_array_new_with_free_func((GDestroyNotify) filter_free);
                s->index = index++;
                g_ptr_array_add(p->policy->sublayers, s);
                SublayerCtx sc = {.sublayer = s};
                if (!each_pair(p, sn, "a sublayer", known, G_N_ELEMENTS(known), parse_sublayer_pair, &sc))
                        return false;
                if (!s->name)
                        return fail_at(p, sn, "sublayer has no 'name'");
                if (!sc.have_weight)
                        return fail_at(p, sn, "sublayer '%s' has no 'weight' (0..65535, higher is evaluated first)",
                                       s->name);
                if (!sc.filters)
                        return fail_at(p, sn, "sublayer '%s' has no 'filters'", s->name);
                if (!g_hash_table_add(sublayer_names, s->name))
                        return fail_at(p, sn, "duplicate sublayer name '%s'", s->name);
                unsigned findex = 0;
                g_autoptr(GHashTable) names = g_hash_table_new(g_str_hash, g_str_equal);
                for (yaml_node_item_t *f = sc.filters->data.sequence.items.start;
                     f < sc.filters->data.sequence.items.top; f++) {
                        yaml_node_t *fn = node(p, *f);
                        if (!fn || !parse_filter(p, s, names, fn, findex++))
                                return false;
                        if (++n_filters > LG_MAX_FILTERS)
                                return fail_at(p, fn, "more than %d filters in one policy", LG_MAX_FILTERS);
                }
        }
        return true;
}

typedef struct {
        yaml_node_t *params, *sublayers;
} TopCtx;

static bool parse_top_pair(Parser *p, const char *key, yaml_node_t *k, yaml_node_t *v, void *userdata) {
        TopCtx *t = userdata;
        LgPolicy *pol = p->policy;
        if (g_str_equal(key, "policy")) {
                pol->name = take_name(p, v, "policy name");
                return pol->name != NULL;
        }
        if (g_str_equal(key, "description")) {
                const char *s = scalar(p, v, "description");
                if (!s)
                        return false;
                pol->description = g_strdup(s);
                return true;
        }
        if (g_str_equal(key, "lifetime")) {
                const char *s = scalar(p, v, "lifetime");
                if (!s)
                        return false;
                if (g_str_equal(s, "persistent"))
                        pol->lifetime = LG_LIFETIME_PERSISTENT;
                else if (g_str_equal(s, "dynamic"))
                        pol->lifetime = LG_LIFETIME_DYNAMIC;
                else {
                        g_autofree char *hint = suggest(s, (const char *const[]){"persistent", "dynamic"}, 2);
                        g_autofree char *esc = escaped(v);
                        return fail_at(p, v, "unknown lifetime '%s'%s: expected persistent or dynamic", esc, hint);
                }
                return true;
        }
        if (g_str_equal(key, "parameters")) {
                t->params = v;
                return expect_mapping(p, v, "'parameters'");
        }
        if (g_str_equal(key, "sublayers")) {
                t->sublayers = v;
                return true;
        }
        g_assert_not_reached();
}

/* Byte offset of a libyaml mark (line and column count characters), or len if out of range. */
static size_t mark_offset(const char *data, size_t len, const yaml_mark_t *mark) {
        size_t off = 0;
        for (size_t line = 0; line < mark->line; line++) {
                const char *nl = memchr(data + off, '\n', len - off);
                if (!nl)
                        return len;
                off = (size_t) (nl - data) + 1;
        }
        for (size_t col = 0; col < mark->column && off < len; col++)
                for (off++; off < len && ((unsigned char) data[off] & 0xc0) == 0x80; off++)
                        ;
        return off;
}

static void parser_fail_yaml(Parser *p, yaml_parser_t *yp, const char *data, size_t len) {
        const char *problem = yp->problem ? yp->problem : "malformed YAML";
        yaml_mark_t mark = yp->problem_mark;
        if (yp->error == YAML_READER_ERROR) {
                /* The reader (bad UTF-8, control characters) reports a byte offset and leaves
                 * problem_mark at 0:0; turn the offset into a line and a column of characters. */
                size_t end = MIN(yp->problem_offset, len);
                /* A bad trailing octet is reported at that octet (often the newline after a
                 * Latin-1 byte); point at the character it was meant to continue. */
                if (strstr(problem, "trailing")) {
                        while (end > 0 && ((unsigned char) data[end - 1] & 0xc0) == 0x80)
                                end--;
                        if (end > 0 && ((unsigned char) data[end - 1] & 0xc0) == 0xc0)
                                end--;
                }
                mark = (yaml_mark_t){0};
                for (size_t i = 0; i < end; i++) {
                        if (data[i] == '\n') {
                                mark.line++;
                                mark.column = 0;
                        } else if (((unsigned char) data[i] & 0xc0) != 0x80)
                                mark.column++;
                }
        } else if (yp->error == YAML_SCANNER_ERROR) {
                /* libyaml's words for a tab where indentation is expected are of no help to
                 * someone who edited a policy in a text editor. */
                size_t off = mark_offset(data, len, &mark);
                if (off < len && data[off] == '\t') {
                        g_set_error(&p->error, LG_ERROR, LG_ERROR_INVALID_POLICY,
                                    "%s:%zu:%zu: YAML syntax error: a tab character; YAML indentation must use spaces",
                                    p->filename, mark.line + 1, mark.column + 1);
                        return;
                }
        }
        if (yp->context)
                g_set_error(&p->error, LG_ERROR, LG_ERROR_INVALID_POLICY, "%s:%zu:%zu: YAML syntax error: %s %s",
                            p->filename, mark.line + 1, mark.column + 1, problem, yp->context);
        else
                g_set_error(&p->error, LG_ERROR, LG_ERROR_INVALID_POLICY, "%s:%zu:%zu: YAML syntax error: %s",
                            p->filename, mark.line + 1, mark.column + 1, problem);
}

LgPolicy *lg_policy_load_data(const char *data, size_t len, const char *filename, GError **error) {
        static const char *const known[] = {"policy", "description", "lifetime", "parameters", "sublayers"};
        if (len > LG_MAX_POLICY_FILE_SIZE) {
                g_set_error(error, LG_ERROR, LG_ERROR_INVALID_POLICY,
                            "%s: file is %zu bytes, a policy file may have at most %d bytes", filename, len,
                            LG_MAX_POLICY_FILE_SIZE);
                return NULL;
        }
        if (!data) /* an empty buffer may come as NULL; libyaml asserts on it */
                data = "";
        Parser p = {.filename = filename};
        yaml_parser_t yp;
        yaml_parser_initialize(&yp);
        yaml_parser_set_input_string(&yp, (const unsigned char *) data, len);
        if (!yaml_parser_load(&yp, &p.doc)) {
                parser_fail_yaml(&p, &yp, data, len);
                yaml_parser_delete(&yp);
                g_propagate_error(error, p.error);
                return NULL;
        }
        yaml_node_t *root = yaml_document_get_root_node(&p.doc);
        if (!root) {
                g_set_error(&p.error, LG_ERROR, LG_ERROR_INVALID_POLICY,
                            "%s:1:1: the file is empty: expected a policy (a mapping with 'policy' and 'sublayers')",
                            filename);
        } else {
                yaml_document_t second;
                if (!yaml_parser_load(&yp, &second))
                        parser_fail_yaml(&p, &yp, data, len);
                else {
                        yaml_node_t *r2 = yaml_document_get_root_node(&second);
                        if (r2)
                                fail_at(&p, r2, "a second YAML document: one file holds one policy");
                        yaml_document_delete(&second);
                }
        }
        yaml_parser_delete(&yp);

        if (!p.error) {
                p.n_nodes = (size_t) (p.doc.nodes.top - p.doc.nodes.start) + 1;
                p.seen = g_new0(guint8, p.n_nodes);
                p.policy = g_new0(LgPolicy, 1);
                p.policy->path = g_strdup(filename);
                p.policy->params = g_ptr_array_new_with_free_func((GDestroyNotify) param_decl_free);
                p.policy->sublayers = g_ptr_array_new_with_free_func((GDestroyNotify) sublayer_free);
                TopCtx t = {0};
                if (root->type != YAML_MAPPING_NODE)
                        fail_at(&p, root, "a policy file must be a mapping with 'policy' and 'sublayers', not %s",
                                node_kind(root));
                else if (each_pair(&p, root, "the policy", known, G_N_ELEMENTS(known), parse_top_pair, &t)) {
                        if (!p.policy->name)
                                fail_at(&p, root, "missing 'policy' (the policy's name)");
                        else if (t.params &&
                                 !each_pair(&p, t.params, "'parameters'", NULL, 0, parse_param, NULL)) {
                        } else if (!t.sublayers)
                                fail_at(&p, root, "missing 'sublayers'");
                        else
                                parse_sublayers(&p, t.sublayers);
                }
                g_free(p.seen);
        }
        yaml_document_delete(&p.doc);
        if (p.error) {
                lg_policy_free(p.policy);
                g_propagate_error(error, p.error);
                return NULL;
        }
        return p.policy;
}

LgPolicy *lg_policy_load_file(const char *path, GError **error) {
        /* Check the size first: a huge regular file is refused without reading it. The read is
         * bounded as well, since a device or a pipe (check /dev/zero, a symlink in the policy
         * directory) has no size to check and g_file_get_contents() would read it forever. */
        /* O_NONBLOCK: opening a FIFO for reading would wait for a writer, and so would the
         * daemon's start-up or Reload. */
        int fd = g_open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0);
        if (fd < 0) {
                int err = errno;
                g_set_error(error, LG_ERROR, LG_ERROR_INVALID_POLICY, "%s: cannot open: %s", path, g_strerror(err));
                return NULL;
        }
        struct stat st;
        if (fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || S_ISDIR(st.st_mode))) {
                g_set_error(error, LG_ERROR, LG_ERROR_INVALID_POLICY, "%s: a %s, not a policy file", path,
                            S_ISDIR(st.st_mode) ? "directory" : S_ISFIFO(st.st_mode) ? "FIFO" : "socket");
                close(fd);
                return NULL;
        }
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > LG_MAX_POLICY_FILE_SIZE) {
                g_set_error(error, LG_ERROR, LG_ERROR_INVALID_POLICY,
                            "%s: file is %lld bytes, a policy file may have at most %d bytes", path,
                            (long long) st.st_size, LG_MAX_POLICY_FILE_SIZE);
                close(fd);
                return NULL;
        }
        g_autofree char *data = g_malloc(LG_MAX_POLICY_FILE_SIZE + 1);
        size_t len = 0;
        while (len <= LG_MAX_POLICY_FILE_SIZE) {
                ssize_t n = read(fd, data + len, LG_MAX_POLICY_FILE_SIZE + 1 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int err = errno;
                        g_set_error(error, LG_ERROR, LG_ERROR_INVALID_POLICY, "%s: cannot read: %s", path,
                                    g_strerror(err));
                        close(fd);
                        return NULL;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        close(fd);
        if (len > LG_MAX_POLICY_FILE_SIZE) {
                g_set_error(error, LG_ERROR, LG_ERROR_INVALID_POLICY,
                            "%s: more than %d bytes, a policy file may have at most %d bytes", path,
                            LG_MAX_POLICY_FILE_SIZE, LG_MAX_POLICY_FILE_SIZE);
                return NULL;
        }
        return lg_policy_load_data(data, len, path, error);
}

/* ---- binding parameters ---- */

GHashTable *lg_params_table_new(void) {
        return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) lg_value_free);
}

static char *param_suggest(const LgPolicy *p, const char *name) {
        g_autofree const char **names = g_new0(const char *, p->params->len + 1);
        for (guint i = 0; i < p->params->len; i++)
                names[i] = ((LgParamDecl *) p->params->pdata[i])->name;
        return suggest(name, names, p->params->len);
}

static bool unknown_param(const LgPolicy *p, const char *name, GError **error) {
        g_autofree char *hint = param_suggest(p, name);
        g_autofree char *esc = g_strescape(name, NULL);
        g_set_error(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS, "policy '%s' has no parameter '%.60s'%s", p->name,
                    esc, hint);
        return false;
}

GHashTable *lg_policy_bind_params(const LgPolicy *p, GHashTable *given, GError **error) {
        GHashTableIter it;
        gpointer k, v;
        guint64 items = 0;
        g_hash_table_iter_init(&it, given);
        while (g_hash_table_iter_next(&it, &k, &v)) {
                /* Each list has its own limit (LG_MAX_LIST_ITEMS); together they have one more, so
                 * that a policy with many list parameters cannot multiply it. */
                items += lg_value_count(v);
                if (items > LG_MAX_PARAM_ITEMS) {
                        g_set_error(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS,
                                    "more than %u items in all parameters together", LG_MAX_PARAM_ITEMS);
                        return NULL;
                }
                const LgParamDecl *d = lg_policy_find_param(p, k);
                if (!d)
                        return unknown_param(p, k, error), NULL;
                if (((LgValue *) v)->type != d->type) {
                        g_set_error(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS,
                                    "parameter '%s' of policy '%s' is of type %s, got %s", d->name, p->name,
                                    lg_type_to_string(d->type), lg_type_to_string(((LgValue *) v)->type));
                        return NULL;
                }
        }
        GHashTable *bound = lg_params_table_new();
        for (guint i = 0; i < p->params->len; i++) {
                const LgParamDecl *d = p->params->pdata[i];
                LgValue *val = g_hash_table_lookup(given, d->name);
                if (!val)
                        val = d->default_value;
                if (!val) {
                        g_set_error(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS,
                                    "policy '%s' needs parameter '%s' (%s%s%s)", p->name, d->name,
                                    lg_type_to_string(d->type), d->description ? ": " : "",
                                    d->description ? d->description : "");
                        g_hash_table_unref(bound);
                        return NULL;
                }
                g_hash_table_insert(bound, g_strdup(d->name), lg_value_copy(val));
        }
        return bound;
}

GHashTable *lg_policy_parse_kv(const LgPolicy *p, const char *const *kv, size_t n, GError **error) {
        g_autoptr(GHashTable) given = lg_params_table_new();
        for (size_t i = 0; i < n; i++) {
                const char *eq = strchr(kv[i], '=');
                if (!eq) {
                        g_autofree char *esc = g_strescape(kv[i], NULL);
                        g_set_error(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS,
                                    "'%.60s' is not a parameter: expected key=value", esc);
                        return NULL;
                }
                g_autofree char *key = g_strndup(kv[i], eq - kv[i]);
                const LgParamDecl *d = lg_policy_find_param(p, key);
                if (!d)
                        return unknown_param(p, key, error), NULL;
                if (g_hash_table_contains(given, key)) {
                        g_set_error(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS, "parameter '%s' given twice", key);
                        return NULL;
                }
                g_autoptr(GError) e = NULL;
                g_autofree char *text = lg_value_arg_text(eq + 1, &e);
                LgValue *v = text ? lg_value_parse_text(d->type, text, &e) : NULL;
                if (!v) {
                        g_set_error(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS, "parameter '%s': %s", key,
                                    e->message);
                        return NULL;
                }
                g_hash_table_insert(given, g_steal_pointer(&key), v);
        }
        return g_steal_pointer(&given);
}
