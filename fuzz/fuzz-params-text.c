/* Fuzzes the parameter parsers on text (lg_value_parse_text, as `leakguardctl enable k=v` and
 * restore from the state file use them) for every type: the first byte picks the type, the rest is
 * the text. Oracles: errors are UTF-8 and short; an accepted value prints canonically, and the
 * canonical text parses back to an equal value that prints the same (what the state file relies on). */
#include "fuzz.h"

#include "params.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static bool init;
        if (!init) {
                fuzz_init_glib();
                init = true;
        }
        if (size < 1)
                return 0;
        LgType type = (LgType) (data[0] % _LG_TYPE_MAX);
        /* D-Bus and argv carry NUL-terminated strings: cut at the first NUL as they would. */
        g_autofree char *text = g_strndup((const char *) data + 1, size - 1);
        g_autoptr(GError) e = NULL;
        g_autoptr(LgValue) v = lg_value_parse_text(type, text, &e);
        if (!v) {
                fuzz_check_error(e);
                return 0;
        }
        FUZZ_CHECK(v->type == type, "value of another type");
        g_autoptr(GPtrArray) items = lg_value_to_strv(v);
        for (guint i = 0; i < items->len; i++)
                FUZZ_CHECK(g_utf8_validate(items->pdata[i], -1, NULL), "canonical item is not UTF-8");
        g_autoptr(LgValue) again = lg_value_parse_strv(type, (const char *const *) items->pdata, items->len, &e);
        FUZZ_CHECK(again, "canonical form '%s' of '%s' does not parse: %s",
                   items->len ? (char *) items->pdata[0] : "", text, e->message);
        FUZZ_CHECK(lg_value_equal(v, again), "'%s' does not parse back to the same value", text);
        g_autoptr(GPtrArray) items2 = lg_value_to_strv(again);
        FUZZ_CHECK(items->len == items2->len, "item count changed");
        for (guint i = 0; i < items->len; i++)
                FUZZ_CHECK(g_str_equal(items->pdata[i], items2->pdata[i]), "'%s' prints as '%s' then '%s'", text,
                           (char *) items->pdata[i], (char *) items2->pdata[i]);
        g_autofree char *joined = lg_value_to_string(v);
        g_autoptr(LgValue) from_text = lg_value_parse_text(type, joined, &e);
        /* A list's joined text re-parses; a scalar string may hold commas and is not split. */
        FUZZ_CHECK(from_text, "joined canonical text '%s' does not parse: %s", joined, e->message);
        FUZZ_CHECK(lg_value_equal(v, from_text), "joined text '%s' parses to another value", joined);
        g_autoptr(LgValue) copy = lg_value_copy(v);
        FUZZ_CHECK(lg_value_equal(v, copy), "copy differs");
        return 0;
}
