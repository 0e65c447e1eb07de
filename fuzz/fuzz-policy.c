/* Fuzzes the YAML policy parser (lg_policy_load_data) and, for every policy it accepts, the
 * compiler: with each parameter bound to a valid value of its type and every bool true, then
 * false, the policy must compile (or fail with an error) and print a ruleset. Oracles: no crash,
 * no leak, no sanitizer report, errors that could reach a D-Bus caller (Reload) are valid UTF-8
 * and short, and an accepted policy is internally consistent. */
#include "fuzz.h"

#include "compile.h"
#include "policy.h"

static const char *sample_value(LgType t) {
        switch (t) {
        case LG_TYPE_INTERFACE:
        case LG_TYPE_INTERFACES:
                return "wg0";
        case LG_TYPE_ADDRESSES:
                return "192.0.2.0/24,2001:db8::1-2001:db8::9";
        case LG_TYPE_ENDPOINTS:
                return "192.0.2.1:51820/udp,[2001:db8::1]:443/tcp,198.51.100.1";
        case LG_TYPE_PORTS:
                return "53,1000-2000";
        case LG_TYPE_USER:
                return "0";
        case LG_TYPE_STRING:
                return "system.slice/x.service";
        default:
                return "true";
        }
}

static void check_policy(const LgPolicy *p) {
        FUZZ_CHECK(p->name && lg_policy_name_valid(p->name), "accepted an invalid name");
        for (guint i = 0; i < p->params->len; i++) {
                const LgParamDecl *d = p->params->pdata[i];
                FUZZ_CHECK(d->type >= 0 && d->type < _LG_TYPE_MAX, "parameter of no type");
                FUZZ_CHECK(!d->default_value || d->default_value->type == d->type, "default of another type");
        }
        for (guint i = 0; i < p->sublayers->len; i++) {
                const LgSublayer *s = p->sublayers->pdata[i];
                for (guint j = 0; j < s->filters->len; j++) {
                        const LgFilter *f = s->filters->pdata[j];
                        FUZZ_CHECK(f->layers != 0, "filter %s has no layer", f->name);
                        if (f->when) {
                                const LgParamDecl *d = lg_policy_find_param(p, f->when);
                                FUZZ_CHECK(d && d->type == LG_TYPE_BOOL, "when: $%s is no bool parameter", f->when);
                        }
                        for (guint c = 0; c < f->conditions->len; c++) {
                                const LgCondition *cond = f->conditions->pdata[c];
                                for (guint k = 0; cond->params && k < cond->params->len; k++)
                                        FUZZ_CHECK(lg_policy_find_param(p, cond->params->pdata[k]),
                                                   "condition refers to an undeclared $%s",
                                                   (char *) cond->params->pdata[k]);
                        }
                }
        }
}

static void compile_with(const LgPolicy *p, bool bools) {
        g_autoptr(GHashTable) given = lg_params_table_new();
        for (guint i = 0; i < p->params->len; i++) {
                const LgParamDecl *d = p->params->pdata[i];
                g_autoptr(GError) e = NULL;
                LgValue *v = lg_value_parse_text(d->type, d->type == LG_TYPE_BOOL ? (bools ? "true" : "false")
                                                                                  : sample_value(d->type),
                                                 &e);
                FUZZ_CHECK(v, "sample value of %s refused: %s", lg_type_to_string(d->type), e->message);
                g_hash_table_insert(given, g_strdup(d->name), v);
        }
        g_autoptr(GError) e = NULL;
        g_autoptr(GHashTable) bound = lg_policy_bind_params(p, given, &e);
        FUZZ_CHECK(bound, "binding every parameter failed: %s", e->message);
        LgEnabled en = {.policy = p, .params = bound};
        g_autoptr(GPtrArray) list = g_ptr_array_new();
        g_ptr_array_add(list, &en);
        g_autoptr(LgRuleset) r = lg_compile(list, &e);
        if (!r) {
                fuzz_check_error(e);
                return;
        }
        g_autoptr(GString) out = g_string_new(NULL);
        lg_table_write_new_sets(r->persistent, NULL, out);
        lg_table_write_replace(r->persistent, NULL, LG_TABLE_PERSISTENT, false, false, out);
        lg_table_write_replace(r->dynamic, NULL, LG_TABLE_DYNAMIC, true, false, out);
        FUZZ_CHECK(g_utf8_validate(out->str, out->len, NULL), "ruleset text is not UTF-8");
        /* A re-application with the same shape changes nothing. */
        if (r->persistent)
                FUZZ_CHECK(lg_table_same_shape(r->persistent, r->persistent), "a table differs from itself");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static bool init;
        if (!init) {
                fuzz_init_glib();
                init = true;
        }
        g_autoptr(GError) e = NULL;
        g_autoptr(LgPolicy) p = lg_policy_load_data((const char *) data, size, "fuzz.yaml", &e);
        if (!p) {
                fuzz_check_error(e);
                return 0;
        }
        FUZZ_CHECK(e == NULL, "success with an error set");
        check_policy(p);
        compile_with(p, true);
        compile_with(p, false);
        return 0;
}
