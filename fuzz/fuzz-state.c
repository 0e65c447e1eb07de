/* Fuzzes the state-file loader (lg_state_parse), which reads what the daemon restores at start-up
 * before READY=1. Oracles: no crash or leak; every refusal has a short UTF-8 reason (it becomes
 * Status' Reason); what is accepted has valid policy and parameter names, re-serializes
 * (lg_state_to_data) to a file that parses back to the same state and the same bytes, and its
 * items go through the typed parsers as a restore would. */
#include "fuzz.h"

#include "params.h"
#include "policy.h"
#include "state.h"

static void check_same(const LgState *a, const LgState *b) {
        FUZZ_CHECK(a->generation == b->generation, "generation changed");
        FUZZ_CHECK(a->policies->len == b->policies->len, "policy count changed");
        for (guint i = 0; i < a->policies->len; i++) {
                const LgSavedPolicy *x = a->policies->pdata[i], *y = b->policies->pdata[i];
                FUZZ_CHECK(g_str_equal(x->policy, y->policy), "policy order changed");
                FUZZ_CHECK(g_hash_table_size(x->params) == g_hash_table_size(y->params), "parameters changed");
                GHashTableIter it;
                gpointer k, v;
                g_hash_table_iter_init(&it, x->params);
                while (g_hash_table_iter_next(&it, &k, &v)) {
                        char **w = g_hash_table_lookup(y->params, k);
                        FUZZ_CHECK(w, "parameter %s lost", (char *) k);
                        FUZZ_CHECK(g_strv_equal((const char *const *) v, (const char *const *) w),
                                   "items of %s changed", (char *) k);
                }
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static bool init;
        if (!init) {
                fuzz_init_glib();
                init = true;
        }
        g_autoptr(GError) e = NULL;
        g_autoptr(LgState) s = lg_state_parse((const char *) data, size, &e);
        if (!s) {
                fuzz_check_error(e);
                return 0;
        }
        for (guint i = 0; i < s->policies->len; i++) {
                const LgSavedPolicy *p = s->policies->pdata[i];
                FUZZ_CHECK(lg_policy_name_valid(p->policy), "accepted policy name '%s'", p->policy);
                GHashTableIter it;
                gpointer k, v;
                g_hash_table_iter_init(&it, p->params);
                while (g_hash_table_iter_next(&it, &k, &v)) {
                        FUZZ_CHECK(lg_param_name_valid(k), "accepted parameter name '%s'", (char *) k);
                        /* What lg_manager_restore does with the items, for whichever type the
                         * policy declares now. */
                        for (LgType t = 0; t < _LG_TYPE_MAX; t++) {
                                g_autoptr(GError) pe = NULL;
                                g_autoptr(LgValue) val =
                                        lg_value_parse_strv(t, (const char *const *) v, g_strv_length(v), &pe);
                                if (!val)
                                        fuzz_check_error(pe);
                        }
                }
        }
        size_t len;
        g_autofree char *text = lg_state_to_data(s, &len);
        g_autoptr(LgState) again = lg_state_parse(text, len, &e);
        FUZZ_CHECK(again, "re-serialized state does not parse: %s\n%s", e->message, text);
        check_same(s, again);
        size_t len2;
        g_autofree char *text2 = lg_state_to_data(again, &len2);
        FUZZ_CHECK(len == len2 && memcmp(text, text2, len) == 0, "serialization is not stable");
        return 0;
}
