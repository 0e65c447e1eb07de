/* leakguardctl: `status`, `list`, `enable`, `disable`, `reload`, `monitor`, `explain` over D-Bus;
 * offline `check` and `compile` (no daemon, no root). */
#include "compile.h"
#include "error.h"
#include "policy.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#define BUS_NAME "org.leakguard.LeakGuard1"
#define BUS_PATH "/org/leakguard/LeakGuard1"
#define BUS_INTERFACE "org.leakguard.LeakGuard1.Manager"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(sd_bus, sd_bus_flush_close_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(sd_bus_message, sd_bus_message_unref)

static bool arg_json = false;

static void json_quote(GString *out, const char *s) {
        g_string_append_c(out, '"');
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if (*p == '"' || *p == '\\')
                        g_string_append_printf(out, "\\%c", *p);
                else if (*p == '\n')
                        g_string_append(out, "\\n");
                else if (*p == '\t')
                        g_string_append(out, "\\t");
                else if (*p < 0x20)
                        g_string_append_printf(out, "\\u%04x", *p);
                else
                        g_string_append_c(out, (char) *p);
        }
        g_string_append_c(out, '"');
}

static int cmd_check(int argc, char **argv) {
        if (argc < 1) {
                fprintf(stderr, "usage: leakguardctl check FILE…\n");
                return 2;
        }
        int failed = 0;
        g_autoptr(GString) js = g_string_new("[");
        for (int i = 0; i < argc; i++) {
                g_autoptr(GError) e = NULL;
                g_autoptr(LgPolicy) p = lg_policy_load_file(argv[i], &e);
                if (arg_json) {
                        g_string_append(js, i ? ",{\"file\":" : "{\"file\":");
                        json_quote(js, argv[i]);
                        g_string_append_printf(js, ",\"ok\":%s", p ? "true" : "false");
                        if (p) {
                                g_string_append(js, ",\"policy\":");
                                json_quote(js, p->name);
                        } else {
                                g_string_append(js, ",\"error\":");
                                json_quote(js, e->message);
                        }
                        g_string_append_c(js, '}');
                } else if (p)
                        printf("%s: ok (policy %s)\n", argv[i], p->name);
                else
                        fprintf(stderr, "%s\n", e->message);
                failed += p == NULL;
        }
        if (arg_json)
                printf("%s]\n", js->str);
        return failed ? 1 : 0;
}

/* `key=value` applies to every given policy that declares `key`; `policy.key=value` to one. */
static int cmd_compile(int argc, char **argv) {
        g_autoptr(GPtrArray) policies = g_ptr_array_new_with_free_func((GDestroyNotify) lg_policy_free);
        g_autoptr(GPtrArray) kvs = g_ptr_array_new();
        for (int i = 0; i < argc; i++) {
                if (strchr(argv[i], '=')) {
                        g_ptr_array_add(kvs, argv[i]);
                        continue;
                }
                g_autoptr(GError) e = NULL;
                LgPolicy *p = lg_policy_load_file(argv[i], &e);
                if (!p) {
                        fprintf(stderr, "%s\n", e->message);
                        return 1;
                }
                for (guint j = 0; j < policies->len; j++)
                        if (g_str_equal(((LgPolicy *) policies->pdata[j])->name, p->name)) {
                                fprintf(stderr, "%s: policy '%s' is given twice\n", argv[i], p->name);
                                lg_policy_free(p);
                                return 1;
                        }
                g_ptr_array_add(policies, p);
        }
        if (policies->len == 0) {
                fprintf(stderr, "usage: leakguardctl compile FILE… [[POLICY.]KEY=VALUE…]\n");
                return 2;
        }
        g_autoptr(GPtrArray) per_policy = g_ptr_array_new_with_free_func((GDestroyNotify) g_ptr_array_unref);
        for (guint j = 0; j < policies->len; j++)
                g_ptr_array_add(per_policy, g_ptr_array_new_with_free_func(g_free));
        for (guint i = 0; i < kvs->len; i++) {
                const char *kv = kvs->pdata[i];
                const char *eq = strchr(kv, '=');
                const char *dot = memchr(kv, '.', eq - kv);
                bool used = false;
                for (guint j = 0; j < policies->len; j++) {
                        LgPolicy *p = policies->pdata[j];
                        g_autofree char *key = NULL;
                        if (dot) {
                                if (strlen(p->name) != (size_t) (dot - kv) || strncmp(p->name, kv, dot - kv) != 0)
                                        continue;
                                key = g_strndup(dot + 1, eq - dot - 1);
                        } else {
                                key = g_strndup(kv, eq - kv);
                                if (!lg_policy_find_param(p, key))
                                        continue;
                        }
                        g_ptr_array_add(per_policy->pdata[j], g_strconcat(key, eq, NULL));
                        used = true;
                }
                if (!used) {
                        g_autofree char *esc = g_strescape(kv, NULL);
                        g_autofree char *key = g_strndup(kv, eq - kv);
                        g_autoptr(GPtrArray) names = g_ptr_array_new();
                        for (guint j = 0; j < policies->len; j++) {
                                LgPolicy *p = policies->pdata[j];
                                for (guint n = 0; n < p->params->len; n++)
                                        g_ptr_array_add(names, ((LgParamDecl *) p->params->pdata[n])->name);
                        }
                        g_autofree char *hint = lg_suggest(key, (const char *const *) names->pdata, names->len);
                        fprintf(stderr, "'%s': no given policy has this parameter%s\n", esc, hint);
                        return 1;
                }
        }
        g_autoptr(GPtrArray) enabled = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GPtrArray) tables = g_ptr_array_new_with_free_func((GDestroyNotify) g_hash_table_unref);
        for (guint j = 0; j < policies->len; j++) {
                LgPolicy *p = policies->pdata[j];
                GPtrArray *kv = per_policy->pdata[j];
                g_autoptr(GError) e = NULL;
                g_autoptr(GHashTable) given = lg_policy_parse_kv(p, (const char *const *) kv->pdata, kv->len, &e);
                GHashTable *bound = given ? lg_policy_bind_params(p, given, &e) : NULL;
                if (!bound) {
                        fprintf(stderr, "%s: %s\n", p->path, e->message);
                        return 1;
                }
                g_ptr_array_add(tables, bound);
                LgEnabled *en = g_new0(LgEnabled, 1);
                en->policy = p;
                en->params = bound;
                g_ptr_array_add(enabled, en);
        }
        g_autoptr(GError) e = NULL;
        g_autoptr(LgRuleset) rs = lg_compile(enabled, &e);
        if (!rs) {
                fprintf(stderr, "%s\n", e->message);
                return 1;
        }
        g_autoptr(GString) out = g_string_new(NULL);
        lg_table_write_replace(rs->persistent, NULL, LG_TABLE_PERSISTENT, false, false, out);
        lg_table_write_replace(rs->dynamic, NULL, LG_TABLE_DYNAMIC, true, false, out);
        if (arg_json) {
                g_autoptr(GString) js = g_string_new("{\"ruleset\":");
                json_quote(js, out->str);
                printf("%s}\n", js->str);
        } else
                fputs(out->str, stdout);
        return 0;
}

/* ---- online commands ---- */

static int bus_fail(const char *what, int k, const sd_bus_error *e) {
        if (e && sd_bus_error_is_set(e))
                fprintf(stderr, "%s: %s (%s)\n", what, e->message ? e->message : "", e->name);
        else
                fprintf(stderr, "%s: %s\n", what, g_strerror(-k));
        return 1;
}

static sd_bus *bus_connect(void) {
        sd_bus *bus = NULL;
        int k = sd_bus_open_system(&bus);
        if (k < 0) {
                bus_fail("cannot connect to the system bus", k, NULL);
                return NULL;
        }
        return bus;
}

/* Any D-Bus value as JSON: what `--json` prints, so scripts see exactly what GUIs see. */
static int message_to_json(sd_bus_message *m, GString *out) {
        char type;
        const char *contents;
        int k = sd_bus_message_peek_type(m, &type, &contents);
        if (k <= 0)
                return k;
        switch (type) {
        case 'a': {
                bool dict = contents[0] == '{';
                g_autofree char *entry = dict ? g_strndup(contents + 1, strlen(contents) - 2) : NULL;
                k = sd_bus_message_enter_container(m, 'a', contents);
                if (k < 0)
                        return k;
                g_string_append_c(out, dict ? '{' : '[');
                for (bool first = true;; first = false) {
                        if (dict) {
                                k = sd_bus_message_enter_container(m, 'e', entry);
                                if (k == 0)
                                        break;
                        } else if (sd_bus_message_at_end(m, false) > 0) {
                                k = 0;
                                break;
                        }
                        if (k < 0)
                                return k;
                        if (!first)
                                g_string_append_c(out, ',');
                        if (dict) {
                                g_autoptr(GString) key = g_string_new(NULL);
                                k = message_to_json(m, key);
                                if (k < 0)
                                        return k;
                                if (key->str[0] != '"') {
                                        g_string_prepend_c(key, '"');
                                        g_string_append_c(key, '"');
                                }
                                g_string_append_printf(out, "%s:", key->str);
                                k = message_to_json(m, out);
                                if (k < 0)
                                        return k;
                                k = sd_bus_message_exit_container(m);
                        } else
                                k = message_to_json(m, out);
                        if (k < 0)
                                return k;
                }
                g_string_append_c(out, dict ? '}' : ']');
                return sd_bus_message_exit_container(m);
        }
        case 'v':
        case 'r': {
                k = sd_bus_message_enter_container(m, type, contents);
                if (k < 0)
                        return k;
                if (type == 'r')
                        g_string_append_c(out, '[');
                for (bool first = true; sd_bus_message_at_end(m, false) == 0; first = false) {
                        if (!first)
                                g_string_append_c(out, ',');
                        k = message_to_json(m, out);
                        if (k < 0)
                                return k;
                }
                if (type == 'r')
                        g_string_append_c(out, ']');
                return sd_bus_message_exit_container(m);
        }
        case 's':
        case 'o':
        case 'g': {
                const char *s;
                k = sd_bus_message_read_basic(m, type, &s);
                if (k >= 0)
                        json_quote(out, s);
                return k;
        }
        case 'b': {
                int b;
                k = sd_bus_message_read_basic(m, type, &b);
                g_string_append(out, b ? "true" : "false");
                return k;
        }
        case 'y': case 'n': case 'q': case 'i': case 'u': case 'x': case 't': case 'd': case 'h': {
                union {
                        uint8_t y; int16_t n; uint16_t q; int32_t i; uint32_t u; int64_t x; uint64_t t; double d;
                } v;
                k = sd_bus_message_read_basic(m, type, &v);
                if (k < 0)
                        return k;
                switch (type) {
                case 'y': g_string_append_printf(out, "%u", v.y); break;
                case 'n': g_string_append_printf(out, "%d", v.n); break;
                case 'q': g_string_append_printf(out, "%u", v.q); break;
                case 'i': case 'h': g_string_append_printf(out, "%d", v.i); break;
                case 'u': g_string_append_printf(out, "%u", v.u); break;
                case 'x': g_string_append_printf(out, "%" PRId64, v.x); break;
                case 't': g_string_append_printf(out, "%" PRIu64, v.t); break;
                default: g_string_append_printf(out, "%g", v.d); break;
                }
                return k;
        }
        default:
                return -EINVAL;
        }
}

static int print_json_reply(sd_bus_message *reply) {
        g_autoptr(GString) js = g_string_new(NULL);
        int k = message_to_json(reply, js);
        if (k < 0)
                return bus_fail("cannot read the reply", k, NULL);
        printf("%s\n", js->str);
        return 0;
}

/* Sends a call built up to `k` (an earlier failure is passed on) and reports any failure. */
static int send_call(sd_bus *bus, sd_bus_message *m, int k, sd_bus_message **reply) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        if (k >= 0)
                k = sd_bus_call(bus, m, 0, &e, reply);
        if (k < 0) {
                g_autofree char *what = g_strdup_printf("%s failed", sd_bus_message_get_member(m));
                bus_fail(what, k, &e);
                sd_bus_error_free(&e);
        }
        return k;
}

static int call(sd_bus *bus, const char *member, sd_bus_message **reply, const char *types, ...) {
        g_autoptr(sd_bus_message) m = NULL;
        int k = sd_bus_message_new_method_call(bus, &m, BUS_NAME, BUS_PATH, BUS_INTERFACE, member);
        if (k >= 0 && types) {
                va_list ap;
                va_start(ap, types);
                k = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
        }
        if (k < 0) {
                bus_fail("cannot build the call", k, NULL);
                return k;
        }
        return send_call(bus, m, k, reply);
}

/* Reads the variant of `key` from an a{sv} reply into the message position (enters it). */
static int dict_enter(sd_bus_message *m, const char *key, const char *sig) {
        int k = sd_bus_message_enter_container(m, 'a', "{sv}");
        while (k >= 0 && (k = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *name;
                k = sd_bus_message_read(m, "s", &name);
                if (k < 0)
                        return k;
                if (g_str_equal(name, key))
                        return sd_bus_message_enter_container(m, 'v', sig);
                k = sd_bus_message_skip(m, "v");
                if (k >= 0)
                        k = sd_bus_message_exit_container(m);
        }
        return k < 0 ? k : -ENOENT;
}

typedef struct {
        bool color;
} Style;

static const char *c_(const Style *s, const char *code) {
        return s->color ? code : "";
}

static int cmd_list(void) {
        g_autoptr(sd_bus) bus = bus_connect();
        g_autoptr(sd_bus_message) reply = NULL;
        if (!bus || call(bus, "ListPolicies", &reply, NULL) < 0)
                return 1;
        if (arg_json)
                return print_json_reply(reply);
        int k = sd_bus_message_enter_container(reply, 'a', "(ssb)");
        const char *name, *desc;
        int enabled;
        while (k >= 0 && (k = sd_bus_message_read(reply, "(ssb)", &name, &desc, &enabled)) > 0)
                printf("%-20s %-9s %s\n", name, enabled ? "enabled" : "disabled", desc);
        return k < 0 ? bus_fail("cannot read the reply", k, NULL) : 0;
}

static int cmd_simple(const char *member, const char *name) {
        g_autoptr(sd_bus) bus = bus_connect();
        g_autoptr(sd_bus_message) reply = NULL;
        if (!bus || call(bus, member, &reply, name ? "s" : NULL, name) < 0)
                return 1;
        if (name) {
                uint64_t gen;
                if (sd_bus_message_read(reply, "t", &gen) >= 0) {
                        if (arg_json)
                                printf("{\"generation\":%" PRIu64 "}\n", gen);
                        else
                                printf("%s %s: generation %" PRIu64 "\n", member, name, gen);
                }
        }
        return 0;
}

/* enable NAME key=value…: the policy's declared parameter types (from Status) decide how each
 * value is sent; unknown keys are sent as strings so that the daemon names the error. */
static int cmd_enable(int argc, char **argv) {
        if (argc < 1) {
                fprintf(stderr, "usage: leakguardctl enable NAME [KEY=VALUE…]\n");
                return 2;
        }
        const char *name = argv[0];
        g_autoptr(sd_bus) bus = bus_connect();
        g_autoptr(sd_bus_message) status = NULL;
        if (!bus || call(bus, "Status", &status, NULL) < 0)
                return 1;
        g_autoptr(GHashTable) types = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        if (dict_enter(status, "Policies", "a{sv}") >= 0 && dict_enter(status, name, "a{sv}") >= 0 &&
            dict_enter(status, "ParameterTypes", "a{ss}") >= 0) {
                const char *k, *t;
                sd_bus_message_enter_container(status, 'a', "{ss}");
                while (sd_bus_message_read(status, "{ss}", &k, &t) > 0)
                        g_hash_table_insert(types, g_strdup(k), g_strdup(t));
        }
        g_autoptr(sd_bus_message) m = NULL;
        int k = sd_bus_message_new_method_call(bus, &m, BUS_NAME, BUS_PATH, BUS_INTERFACE, "Enable");
        if (k >= 0)
                k = sd_bus_message_append(m, "s", name);
        if (k >= 0)
                k = sd_bus_message_open_container(m, 'a', "{sv}");
        for (int i = 1; i < argc && k >= 0; i++) {
                const char *eq = strchr(argv[i], '=');
                if (!eq) {
                        fprintf(stderr, "'%s' is not a parameter: expected KEY=VALUE\n", argv[i]);
                        return 2;
                }
                g_autofree char *key = g_strndup(argv[i], eq - argv[i]);
                g_autoptr(GError) ve = NULL;
                g_autofree char *value = lg_value_arg_text(eq + 1, &ve);
                if (!value) {
                        fprintf(stderr, "parameter '%s': %s\n", key, ve->message);
                        return 1;
                }
                LgType t = lg_type_from_string(g_hash_table_lookup(types, key) ?: "string");
                k = sd_bus_message_open_container(m, 'e', "sv");
                if (k >= 0)
                        k = sd_bus_message_append(m, "s", key);
                if (k < 0)
                        break;
                if (t == LG_TYPE_BOOL) {
                        bool b;
                        g_autoptr(GError) e = NULL;
                        if (!lg_parse_bool(value, &b, &e)) {
                                fprintf(stderr, "parameter '%s': %s\n", key, e->message);
                                return 1;
                        }
                        k = sd_bus_message_append(m, "v", "b", b);
                } else if (lg_type_is_list(t)) {
                        g_auto(GStrv) parts = g_strsplit_set(value, ", \t\n", -1);
                        g_autoptr(GPtrArray) items = g_ptr_array_new();
                        for (char **p = parts; *p; p++)
                                if (**p)
                                        g_ptr_array_add(items, *p);
                        g_ptr_array_add(items, NULL);
                        k = sd_bus_message_open_container(m, 'v', "as");
                        if (k >= 0)
                                k = sd_bus_message_append_strv(m, (char **) items->pdata);
                        if (k >= 0)
                                k = sd_bus_message_close_container(m);
                } else
                        k = sd_bus_message_append(m, "v", "s", value);
                if (k >= 0)
                        k = sd_bus_message_close_container(m);
        }
        if (k >= 0)
                k = sd_bus_message_close_container(m);
        g_autoptr(sd_bus_message) reply = NULL;
        if (send_call(bus, m, k, &reply) < 0)
                return 1;
        uint64_t gen = 0;
        sd_bus_message_read(reply, "t", &gen);
        if (arg_json)
                printf("{\"generation\":%" PRIu64 "}\n", gen);
        else
                printf("Enable %s: generation %" PRIu64 "\n", name, gen);
        return 0;
}

static void human_bytes(uint64_t b, char buf[32]) {
        if (b < 1024)
                snprintf(buf, 32, "%" PRIu64 " B", b);
        else if (b < 1024 * 1024)
                snprintf(buf, 32, "%.1f KiB", b / 1024.0);
        else
                snprintf(buf, 32, "%.1f MiB", b / (1024.0 * 1024));
}

/* The view of `netsh wfp show state`: what is in force, layer by layer, as the kernel evaluates it
 * (sublayers in evaluation order, filters by weight, each with its action and the live counters
 * of that layer's rules), then the policies with their parameters. The reply is walked as JSON,
 * the same document `--json` prints. */
static const char *layer_note(const char *layer) {
        if (g_strcmp0(layer, "connect") == 0)
                return "output hook, first packet of each new flow";
        if (g_strcmp0(layer, "accept") == 0)
                return "input hook, first packet of each new flow";
        if (g_strcmp0(layer, "outbound") == 0)
                return "output hook, every packet";
        if (g_strcmp0(layer, "inbound") == 0)
                return "input hook, every packet";
        return "forward hook, every packet";
}

static const char *action_colour(const char *act) {
        if (g_strcmp0(act, "block") == 0 || g_strcmp0(act, "reject") == 0)
                return "\033[31m";
        if (g_strcmp0(act, "hard-permit") == 0)
                return "\033[1;32m";
        return "\033[32m";
}

static void print_filter(json_t *f, const Style *st) {
        const char *act = json_string_value(json_object_get(f, "Action"));
        bool reject = json_is_true(json_object_get(f, "Reject"));
        bool log = json_is_true(json_object_get(f, "Log"));
        const char *shown = reject ? "reject" : act ? act : "?";
        g_autofree char *action = g_strdup_printf("%s%s", shown, log ? ", log" : "");
        char bytes[32];
        human_bytes((uint64_t) json_integer_value(json_object_get(f, "Bytes")), bytes);
        printf("    %8" PRIu64 "  %s%-12s%s  %-28s %10" PRIu64 " pkts %11s\n",
               (uint64_t) json_integer_value(json_object_get(f, "Weight")), c_(st, action_colour(shown)), action,
               c_(st, "\033[0m"), json_string_value(json_object_get(f, "Name")),
               (uint64_t) json_integer_value(json_object_get(f, "Packets")), bytes);
}

/* One parameter value as the command line takes it: lists joined with commas. */
static void print_param_value(GString *out, json_t *v) {
        if (json_is_array(v)) {
                size_t i;
                json_t *x;
                if (json_array_size(v) == 0)
                        g_string_append(out, "(none)");
                json_array_foreach(v, i, x) g_string_append_printf(out, "%s%s", i ? "," : "", json_string_value(x));
        } else if (json_is_boolean(v))
                g_string_append(out, json_is_true(v) ? "true" : "false");
        else if (json_is_integer(v))
                g_string_append_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        else if (json_is_string(v))
                g_string_append(out, json_string_value(v));
}

static void print_status_tree(json_t *status, const Style *st) {
        const char *state = json_string_value(json_object_get(status, "State"));
        const char *scol = g_strcmp0(state, "protecting") == 0 ? "\033[1;32m"
                           : g_strcmp0(state, "degraded") == 0 ? "\033[1;31m"
                                                               : "\033[1m";
        printf("State: %s%s%s   Generation: %" PRIu64 "   Version: %s\n", c_(st, scol), state, c_(st, "\033[0m"),
               (uint64_t) json_integer_value(json_object_get(status, "Generation")),
               json_string_value(json_object_get(status, "Version")));
        if (json_object_get(status, "Reason"))
                printf("Reason: %s\n", json_string_value(json_object_get(status, "Reason")));
        json_t *ne = json_object_get(status, "NetEvents");
        if (ne && json_is_true(json_object_get(ne, "Active")))
                printf("Net events: NFLOG group %" JSON_INTEGER_FORMAT ", %" JSON_INTEGER_FORMAT
                       " blocked packets logged, %" JSON_INTEGER_FORMAT " signalled, %" JSON_INTEGER_FORMAT
                       " suppressed by the rate limits (%g/s per filter, %g/s in all)\n",
                       json_integer_value(json_object_get(ne, "Group")), json_integer_value(json_object_get(ne, "Received")),
                       json_integer_value(json_object_get(ne, "Emitted")),
                       json_integer_value(json_object_get(ne, "Suppressed")),
                       json_number_value(json_object_get(ne, "FilterRate")),
                       json_number_value(json_object_get(ne, "GlobalRate")));
        else if (ne)
                printf("Net events: %soff%s: %s\n", c_(st, "\033[33m"), c_(st, "\033[0m"),
                       json_string_value(json_object_get(ne, "Error")) ?: "not available");

        size_t i, j, n;
        json_t *layer, *sl, *f;
        json_t *layers = json_object_get(status, "Layers");
        if (json_array_size(layers) == 0)
                printf("\nNo filter is in force: every layer accepts every packet.\n");
        json_array_foreach(layers, i, layer) {
                const char *name = json_string_value(json_object_get(layer, "Name"));
                printf("\n%sLayer %s%s  (%s)\n", c_(st, "\033[1m"), name, c_(st, "\033[0m"), layer_note(name));
                json_array_foreach(json_object_get(layer, "Sublayers"), j, sl) {
                        bool dynamic = g_strcmp0(json_string_value(json_object_get(sl, "Table")), "leakguard") != 0;
                        printf("  sublayer %s%s/%s%s  weight %" PRIu64 "%s\n", c_(st, "\033[1m"),
                               json_string_value(json_object_get(sl, "Policy")),
                               json_string_value(json_object_get(sl, "Name")), c_(st, "\033[0m"),
                               (uint64_t) json_integer_value(json_object_get(sl, "Weight")),
                               dynamic ? "  (dynamic session)" : "");
                        json_array_foreach(json_object_get(sl, "Filters"), n, f) print_filter(f, st);
                }
        }

        printf("\n%sPolicies%s\n", c_(st, "\033[1m"), c_(st, "\033[0m"));
        const char *pname;
        json_t *p;
        json_object_foreach(json_object_get(status, "Policies"), pname, p) {
                bool enabled = json_is_true(json_object_get(p, "Enabled"));
                printf("  %s%-16s%s %s%-8s%s %-10s %s\n", c_(st, "\033[1m"), pname, c_(st, "\033[0m"),
                       c_(st, enabled ? "\033[32m" : "\033[2m"), enabled ? "enabled" : "disabled", c_(st, "\033[0m"),
                       json_string_value(json_object_get(p, "Lifetime")),
                       json_string_value(json_object_get(p, "Description")));
                if (!enabled)
                        continue;
                g_autoptr(GString) params = g_string_new(NULL);
                const char *key;
                json_t *v;
                json_object_foreach(json_object_get(p, "Parameters"), key, v) {
                        g_string_append_printf(params, "%s%s=", params->len ? " " : "", key);
                        print_param_value(params, v);
                }
                printf("      parameters: %s\n", params->len ? params->str : "(none)");
                if (json_object_get(p, "Owner"))
                        printf("      owner: %s\n", json_string_value(json_object_get(p, "Owner")));
                g_autoptr(GString) inactive = g_string_new(NULL);
                json_array_foreach(json_object_get(p, "Sublayers"), j, sl) {
                        json_array_foreach(json_object_get(sl, "Filters"), n, f) {
                                if (!json_is_true(json_object_get(f, "Active")))
                                        g_string_append_printf(inactive, "%s%s", inactive->len ? ", " : "",
                                                               json_string_value(json_object_get(f, "Name")));
                        }
                }
                if (inactive->len)
                        printf("      %sinactive (their `when` is false): %s%s\n", c_(st, "\033[2m"), inactive->str,
                               c_(st, "\033[0m"));
        }
}

static int cmd_status(void) {
        g_autoptr(sd_bus) bus = bus_connect();
        g_autoptr(sd_bus_message) reply = NULL;
        if (!bus || call(bus, "Status", &reply, NULL) < 0)
                return 1;
        if (arg_json)
                return print_json_reply(reply);
        g_autoptr(GString) js = g_string_new(NULL);
        int k = message_to_json(reply, js);
        json_t *status = k >= 0 ? json_loads(js->str, 0, NULL) : NULL;
        if (!status)
                return bus_fail("cannot read the status", k < 0 ? k : -EBADMSG, NULL);
        Style st = {.color = isatty(STDOUT_FILENO) && !g_getenv("NO_COLOR")};
        print_status_tree(status, &st);
        json_decref(status);
        return 0;
}


/* ---- monitor: the Blocked signal, as it comes ---- */

typedef struct {
        Style st;
        guint64 seen;
} Monitor;

static int on_blocked(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Monitor *mon = userdata;
        const char *policy, *sublayer, *filter;
        if (sd_bus_message_read(m, "sss", &policy, &sublayer, &filter) < 0)
                return 0;
        g_autoptr(GString) js = g_string_new(NULL);
        if (message_to_json(m, js) < 0)
                return 0;
        mon->seen++;
        g_autoptr(GDateTime) now = g_date_time_new_now_local();
        g_autofree char *when = g_date_time_format(now, "%Y-%m-%dT%H:%M:%S.%f%:z");
        if (arg_json) {
                g_autoptr(GString) line = g_string_new("{\"time\":");
                json_quote(line, when);
                g_string_append(line, ",\"policy\":");
                json_quote(line, policy);
                g_string_append(line, ",\"sublayer\":");
                json_quote(line, sublayer);
                g_string_append(line, ",\"filter\":");
                json_quote(line, filter);
                g_string_append_printf(line, ",\"packet\":%s}", js->str);
                printf("%s\n", line->str);
        } else {
                json_t *pk = json_loads(js->str, 0, NULL);
                const char *layer = json_string_value(json_object_get(pk, "layer"));
                bool in = g_strcmp0(layer, "inbound") == 0 || g_strcmp0(layer, "accept") == 0;
                g_autoptr(GString) extra = g_string_new(NULL);
                if (json_object_get(pk, "interface"))
                        g_string_append_printf(extra, " %s %s", in ? "in on" : "out on",
                                               json_string_value(json_object_get(pk, "interface")));
                if (json_object_get(pk, "icmp_type"))
                        g_string_append_printf(extra, " %s", json_string_value(json_object_get(pk, "icmp_type")));
                if (json_object_get(pk, "uid"))
                        g_string_append_printf(extra, " uid %" JSON_INTEGER_FORMAT,
                                               json_integer_value(json_object_get(pk, "uid")));
                if (json_integer_value(json_object_get(pk, "mark")))
                        g_string_append_printf(extra, " mark 0x%" PRIx64,
                                               (uint64_t) json_integer_value(json_object_get(pk, "mark")));
                /* A time of day is enough on a terminal; the date is in --json. */
                printf("%.12s %sblocked%s %-8s %-7s %s %s %s%s  %s%s/%s/%s%s\n", when + 11, c_(&mon->st, "\033[31m"),
                       c_(&mon->st, "\033[0m"), layer ? layer : "?",
                       json_string_value(json_object_get(pk, "protocol")) ?: "?",
                       json_string_value(json_object_get(pk, "remote")) ?: "?", in ? "->" : "<-",
                       json_string_value(json_object_get(pk, "local")) ?: "?", extra->str, c_(&mon->st, "\033[1m"),
                       policy, sublayer, filter, c_(&mon->st, "\033[0m"));
                json_decref(pk);
        }
        fflush(stdout);
        return 0;
}

static int cmd_monitor(void) {
        g_autoptr(sd_bus) bus = bus_connect();
        if (!bus)
                return 1;
        Monitor mon = {.st = {.color = isatty(STDOUT_FILENO) && !g_getenv("NO_COLOR")}};
        int k = sd_bus_match_signal(bus, NULL, BUS_NAME, BUS_PATH, BUS_INTERFACE, "Blocked", on_blocked, &mon);
        if (k < 0)
                return bus_fail("cannot subscribe to Blocked", k, NULL);
        /* On stderr, so that scripts (and tests) know the subscription is in place. */
        fprintf(stderr, "Monitoring packets blocked by filters with `log: true` (Ctrl-C to stop)…\n");
        for (;;) {
                k = sd_bus_process(bus, NULL);
                if (k < 0)
                        return bus_fail("lost the bus", k, NULL);
                if (k > 0)
                        continue;
                k = sd_bus_wait(bus, UINT64_MAX);
                if (k < 0 && k != -EINTR)
                        return bus_fail("lost the bus", k, NULL);
        }
}

/* ---- explain: which filter decides a described packet ---- */

static const char *packet_key_signature(const char *key) {
        static const struct {
                const char *key, *sig;
        } keys[] = {{"uid", "u"}, {"gid", "u"}, {"mark", "u"}};
        for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
                if (g_str_equal(keys[i].key, key))
                        return keys[i].sig;
        return "s"; /* the daemon names unknown keys */
}

static int cmd_explain(int argc, char **argv) {
        if (argc < 1) {
                fprintf(stderr, "usage: leakguardctl explain KEY=VALUE… (keys: layer protocol remote local interface "
                                "uid gid mark icmp_type cgroup state)\n");
                return 2;
        }
        g_autoptr(sd_bus) bus = bus_connect();
        if (!bus)
                return 1;
        g_autoptr(sd_bus_message) m = NULL;
        int k = sd_bus_message_new_method_call(bus, &m, BUS_NAME, BUS_PATH, BUS_INTERFACE, "Explain");
        if (k >= 0)
                k = sd_bus_message_open_container(m, 'a', "{sv}");
        for (int i = 0; i < argc && k >= 0; i++) {
                const char *eq = strchr(argv[i], '=');
                if (!eq) {
                        fprintf(stderr, "'%s' is not a packet key: expected KEY=VALUE, e.g. remote=1.2.3.4:443\n",
                                argv[i]);
                        return 2;
                }
                g_autofree char *key = g_strndup(argv[i], eq - argv[i]);
                const char *value = eq + 1;
                /* "proto" is what people type; the D-Bus key is "protocol". */
                if (g_str_equal(key, "proto")) {
                        g_free(key);
                        key = g_strdup("protocol");
                }
                if (g_str_equal(packet_key_signature(key), "u")) {
                        uint32_t v;
                        g_autoptr(GError) e = NULL;
                        bool ok = g_str_equal(key, "uid")   ? lg_parse_user(value, &v, &e)
                                  : g_str_equal(key, "gid") ? lg_parse_group(value, &v, &e)
                                                            : false;
                        if (g_str_equal(key, "mark")) {
                                char *end = NULL;
                                errno = 0;
                                unsigned long long x = strtoull(value, &end, 0);
                                ok = value[0] >= '0' && value[0] <= '9' && end && *end == '\0' && errno == 0 &&
                                     x <= UINT32_MAX;
                                v = (uint32_t) x;
                                if (!ok)
                                        fprintf(stderr, "mark: '%s' is not a 32-bit number (0x for hex)\n", value);
                        } else if (!ok)
                                fprintf(stderr, "%s: %s\n", key, e->message);
                        if (!ok)
                                return 1;
                        k = sd_bus_message_append(m, "{sv}", key, "u", v);
                } else
                        k = sd_bus_message_append(m, "{sv}", key, "s", value);
        }
        if (k >= 0)
                k = sd_bus_message_close_container(m);
        g_autoptr(sd_bus_message) reply = NULL;
        if (send_call(bus, m, k, &reply) < 0)
                return 1;
        const char *verdict, *policy, *sublayer, *filter;
        k = sd_bus_message_read(reply, "ssss", &verdict, &policy, &sublayer, &filter);
        if (k < 0)
                return bus_fail("cannot read the reply", k, NULL);
        if (arg_json) {
                g_autoptr(GString) js = g_string_new("{\"verdict\":");
                json_quote(js, verdict);
                g_string_append(js, ",\"policy\":");
                json_quote(js, policy);
                g_string_append(js, ",\"sublayer\":");
                json_quote(js, sublayer);
                g_string_append(js, ",\"filter\":");
                json_quote(js, filter);
                printf("%s}\n", js->str);
                return 0;
        }
        Style st = {.color = isatty(STDOUT_FILENO) && !g_getenv("NO_COLOR")};
        bool block = g_str_equal(verdict, "block");
        printf("%s%s%s", c_(&st, block ? "\033[1;31m" : "\033[1;32m"), verdict, c_(&st, "\033[0m"));
        if (*filter)
                printf(" by %s/%s/%s\n", policy, sublayer, filter);
        else
                printf(" (no filter matched: every layer's default is accept)\n");
        return 0;
}

static void usage(FILE *f) {
        fprintf(f, "usage: leakguardctl [--json] COMMAND …\n"
                   "\n"
                   "Over D-Bus (the daemon leakguardd):\n"
                   "  status                                what is in force: layers, sublayers, filters with\n"
                   "                                        live counters, policies and parameters\n"
                   "  list                                  policies and whether they are enabled\n"
                   "  enable NAME [KEY=VALUE…]              enable, or replace the parameters of, a policy\n"
                   "  disable NAME                          disable a policy\n"
                   "  reload                                re-read the policy files\n"
                   "  monitor                               stream packets blocked by `log: true` filters\n"
                   "                                        (--json: one object a line)\n"
                   "  explain KEY=VALUE…                    which filter decides a described packet, e.g.\n"
                   "                                        explain proto=tcp remote=1.2.3.4:443 interface=eth0\n"
                   "                                        keys: layer protocol remote local interface uid\n"
                   "                                        gid mark icmp_type cgroup state (new|established)\n"
                   "\n"
                   "Offline (no daemon, no root):\n"
                   "  check FILE…                           validate policy files\n"
                   "  compile FILE… [[POLICY.]KEY=VALUE…]   print the nftables ruleset they compile to\n");
}

int main(int argc, char **argv) {
        setlocale(LC_ALL, "");
        int i = 1;
        for (; i < argc && argv[i][0] == '-'; i++) {
                if (g_str_equal(argv[i], "--json"))
                        arg_json = true;
                else if (g_str_equal(argv[i], "--help") || g_str_equal(argv[i], "-h")) {
                        usage(stdout);
                        return 0;
                } else if (g_str_equal(argv[i], "--version")) {
                        printf("leakguardctl %s\n", LEAKGUARD_VERSION);
                        return 0;
                } else {
                        fprintf(stderr, "unknown option '%s'\n", argv[i]);
                        usage(stderr);
                        return 2;
                }
        }
        if (i >= argc) {
                usage(stderr);
                return 2;
        }
        const char *cmd = argv[i++];
        if (g_str_equal(cmd, "check"))
                return cmd_check(argc - i, argv + i);
        if (g_str_equal(cmd, "compile"))
                return cmd_compile(argc - i, argv + i);
        if (g_str_equal(cmd, "status") && argc == i)
                return cmd_status();
        if (g_str_equal(cmd, "list") && argc == i)
                return cmd_list();
        if (g_str_equal(cmd, "enable"))
                return cmd_enable(argc - i, argv + i);
        if (g_str_equal(cmd, "disable") && argc == i + 1)
                return cmd_simple("Disable", argv[i]);
        if (g_str_equal(cmd, "monitor") && argc == i)
                return cmd_monitor();
        if (g_str_equal(cmd, "explain"))
                return cmd_explain(argc - i, argv + i);
        if (g_str_equal(cmd, "reload") && argc == i)
                return cmd_simple("Reload", NULL);
        fprintf(stderr, "unknown command '%s'\n", cmd);
        usage(stderr);
        return 2;
}
