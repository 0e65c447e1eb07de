/* leakguardctl: `status`, `list`, `enable`, `disable`, `reload` over D-Bus; offline `check` and
 * `compile` (no daemon, no root). */
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
        lg_table_write_replace(rs->persistent, NULL, LG_TABLE_PERSISTENT, false, out);
        lg_table_write_replace(rs->dynamic, NULL, LG_TABLE_DYNAMIC, true, out);
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

static int call(sd_bus *bus, const char *member, sd_bus_message **reply, const char *types, ...) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        g_autoptr(sd_bus_message) m = NULL;
        int k = sd_bus_message_new_method_call(bus, &m, BUS_NAME, BUS_PATH, BUS_INTERFACE, member);
        if (k >= 0 && types) {
                va_list ap;
                va_start(ap, types);
                k = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
        }
        if (k >= 0)
                k = sd_bus_call(bus, m, 0, &e, reply);
        if (k < 0) {
                g_autofree char *what = g_strdup_printf("%s failed", member);
                bus_fail(what, k, &e);
                sd_bus_error_free(&e);
        }
        return k;
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
        sd_bus_error e = SD_BUS_ERROR_NULL;
        g_autoptr(sd_bus_message) reply = NULL;
        if (k >= 0)
                k = sd_bus_call(bus, m, 0, &e, &reply);
        if (k < 0) {
                bus_fail("Enable failed", k, &e);
                sd_bus_error_free(&e);
                return 1;
        }
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

/* The view of `netsh wfp show state`: policies, sublayers by weight, filters by weight with action,
 * layers and live counters, and the parameters in force. The reply is walked as JSON, the same
 * document `--json` prints. */
static void print_filter(json_t *f, const Style *st) {
        bool active = json_is_true(json_object_get(f, "Active"));
        const char *act = json_string_value(json_object_get(f, "Action"));
        g_autoptr(GString) layers = g_string_new(NULL);
        size_t i;
        json_t *l;
        json_array_foreach(json_object_get(f, "Layers"), i, l) g_string_append_printf(layers, "%s%s", i ? "," : "",
                                                                                       json_string_value(l));
        char bytes[32];
        human_bytes((uint64_t) json_integer_value(json_object_get(f, "Bytes")), bytes);
        printf("    %s%8" PRIu64 "  %s%-11s%s %-24s %-17s %10" PRIu64 " pkts %12s%s%s\n", active ? "" : c_(st, "\033[2m"),
               (uint64_t) json_integer_value(json_object_get(f, "Weight")),
               c_(st, g_strcmp0(act, "block") == 0 ? "\033[31m" : "\033[32m"), act ? act : "?",
               c_(st, active ? "\033[0m" : "\033[0;2m"), json_string_value(json_object_get(f, "Name")), layers->str,
               (uint64_t) json_integer_value(json_object_get(f, "Packets")), bytes, active ? "" : " (inactive)",
               c_(st, "\033[0m"));
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
        const char *name;
        json_t *p;
        json_object_foreach(json_object_get(status, "Policies"), name, p) {
                bool enabled = json_is_true(json_object_get(p, "Enabled"));
                printf("\n%s%s%s %s(%s, %s)%s\n  %s\n", c_(st, "\033[1m"), name, c_(st, "\033[0m"),
                       c_(st, enabled ? "\033[32m" : "\033[2m"), enabled ? "enabled" : "disabled",
                       json_string_value(json_object_get(p, "Lifetime")), c_(st, "\033[0m"),
                       json_string_value(json_object_get(p, "Description")));
                if (!enabled)
                        continue;
                g_autofree char *params = json_dumps(json_object_get(p, "Parameters"), JSON_COMPACT | JSON_SORT_KEYS);
                printf("  parameters: %s\n", params ? params : "{}");
                size_t i, j;
                json_t *sl, *f;
                json_array_foreach(json_object_get(p, "Sublayers"), i, sl) {
                        printf("  sublayer %s (weight %" PRIu64 ")\n", json_string_value(json_object_get(sl, "Name")),
                               (uint64_t) json_integer_value(json_object_get(sl, "Weight")));
                        json_array_foreach(json_object_get(sl, "Filters"), j, f) print_filter(f, st);
                }
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

static void usage(FILE *f) {
        fprintf(f, "usage: leakguardctl [--json] COMMAND …\n"
                   "\n"
                   "Over D-Bus (the daemon leakguardd):\n"
                   "  status                                state, policies, sublayers, filters, live counters\n"
                   "  list                                  policies and whether they are enabled\n"
                   "  enable NAME [KEY=VALUE…]              enable, or replace the parameters of, a policy\n"
                   "  disable NAME                          disable a policy\n"
                   "  reload                                re-read the policy files\n"
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
        if (g_str_equal(cmd, "reload") && argc == i)
                return cmd_simple("Reload", NULL);
        fprintf(stderr, "unknown command '%s'\n", cmd);
        usage(stderr);
        return 2;
}
