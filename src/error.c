#include "error.h"

G_DEFINE_QUARK(leakguard-error-quark, lg_error)

char *lg_error_text(const char *msg, size_t max) {
        g_autofree char *valid = g_utf8_make_valid(msg ? msg : "", -1);
        if ((size_t) g_utf8_strlen(valid, -1) <= max)
                return g_steal_pointer(&valid);
        *g_utf8_offset_to_pointer(valid, (glong) max) = '\0';
        return g_strconcat(valid, "…", NULL);
}
