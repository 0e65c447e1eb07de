/* leakguardctl: offline `check` and `compile` (no daemon, no root). */
#include "compile.h"
#include "error.h"
#include "policy.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

static bool arg_json = false;

static void json_string(GString *out, const char *s) {
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
                        json_string(js, argv[i]);
                        g_string_append_printf(js, ",\"ok\":%s", p ? "true" : "false");
                        if (p) {
                                g_string_append(js, ",\"policy\":");
                                json_string(js, p->name);
                        } else {
                                g_string_append(js, ",\"error\":");
                                json_string(js, e->message);
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
                        fprintf(stderr, "'%s': no given policy has this parameter\n", esc);
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
                json_string(js, out->str);
                printf("%s}\n", js->str);
        } else
                fputs(out->str, stdout);
        return 0;
}

static void usage(FILE *f) {
        fprintf(f, "usage: leakguardctl [--json] COMMAND …\n"
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
        fprintf(stderr, "unknown command '%s'\n", cmd);
        usage(stderr);
        return 2;
}
