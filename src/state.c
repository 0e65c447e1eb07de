#include "state.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

static void saved_policy_free(LgSavedPolicy *p) {
        if (!p)
                return;
        g_free(p->policy);
        g_hash_table_unref(p->params);
        g_free(p);
}

LgState *lg_state_new(void) {
        LgState *s = g_new0(LgState, 1);
        s->policies = g_ptr_array_new_with_free_func((GDestroyNotify) saved_policy_free);
        return s;
}

void lg_state_free(LgState *s) {
        if (!s)
                return;
        g_ptr_array_unref(s->policies);
        g_free(s);
}

void lg_state_add(LgState *s, const char *policy, GHashTable *params) {
        LgSavedPolicy *p = g_new0(LgSavedPolicy, 1);
        p->policy = g_strdup(policy);
        p->params = params;
        g_ptr_array_add(s->policies, p);
}

static GHashTable *params_new(void) {
        return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_strfreev);
}

LgState *lg_state_parse(const char *data, size_t len, GError **error) {
        g_autoptr(GKeyFile) kf = g_key_file_new();
        if (!g_key_file_load_from_data(kf, data, len, G_KEY_FILE_NONE, error))
                return NULL;
        GError *e = NULL;
        gint64 version = g_key_file_get_int64(kf, "leakguard", "version", &e);
        if (e) {
                g_propagate_prefixed_error(error, e, "no state version: ");
                return NULL;
        }
        if (version != LG_STATE_VERSION) {
                g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                            "state version %" G_GINT64_FORMAT ", this leakguardd reads version %d", version,
                            LG_STATE_VERSION);
                return NULL;
        }
        g_autoptr(LgState) s = lg_state_new();
        s->generation = g_key_file_get_uint64(kf, "leakguard", "generation", &e);
        if (e) {
                g_propagate_prefixed_error(error, e, "no generation: ");
                return NULL;
        }
        g_auto(GStrv) order = g_key_file_get_string_list(kf, "leakguard", "policies", NULL, &e);
        if (e) {
                g_propagate_prefixed_error(error, e, "no policy list: ");
                return NULL;
        }
        for (char **name = order; *name; name++) {
                g_autofree char *group = g_strdup_printf("policy %s", *name);
                if (!g_key_file_has_group(kf, group)) {
                        g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_GROUP_NOT_FOUND,
                                    "policy '%s' is listed but has no [%s] group", *name, group);
                        return NULL;
                }
                g_auto(GStrv) keys = g_key_file_get_keys(kf, group, NULL, NULL);
                GHashTable *params = params_new();
                for (char **k = keys; k && *k; k++) {
                        char **items = g_key_file_get_string_list(kf, group, *k, NULL, &e);
                        if (e) {
                                g_hash_table_unref(params);
                                g_propagate_prefixed_error(error, e, "policy '%s': ", *name);
                                return NULL;
                        }
                        g_hash_table_insert(params, g_strdup(*k), items);
                }
                lg_state_add(s, *name, params);
        }
        /* Written last: a file cut short lacks it and is refused whole. */
        if (!g_key_file_get_boolean(kf, "end", "complete", NULL)) {
                g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                            "the state file is incomplete (no [end] complete=true)");
                return NULL;
        }
        return g_steal_pointer(&s);
}

LgState *lg_state_load(const char *dir, GError **error) {
        g_autofree char *path = g_build_filename(dir, LG_STATE_FILE, NULL);
        g_autofree char *data = NULL;
        gsize len;
        GError *e = NULL;
        GStatBuf st;
        if (g_stat(path, &st) == 0 && st.st_size > LG_MAX_STATE_FILE_SIZE) {
                g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: %lld bytes, more than a state file may have",
                            path, (long long) st.st_size);
                return NULL;
        }
        if (!g_file_get_contents(path, &data, &len, &e)) {
                if (g_error_matches(e, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
                        g_error_free(e);
                        return NULL;
                }
                g_propagate_error(error, e);
                return NULL;
        }
        LgState *s = lg_state_parse(data, len, &e);
        if (!s)
                g_propagate_prefixed_error(error, e, "%s: ", path);
        return s;
}

static bool write_atomically(const char *dir, const char *name, const char *data, gssize len, GError **error) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        if (g_mkdir_with_parents(dir, 0755) < 0) {
                int err = errno;
                g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err), "cannot create %s: %s", dir,
                            g_strerror(err));
                return false;
        }
        /* CONSISTENT: temp file + rename; DURABLE: fsync of the file before the rename. */
        return g_file_set_contents_full(path, data, len,
                                        G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600, error);
}

bool lg_state_save(const char *dir, const LgState *s, GError **error) {
        g_autoptr(GKeyFile) kf = g_key_file_new();
        g_key_file_set_int64(kf, "leakguard", "version", LG_STATE_VERSION);
        g_key_file_set_uint64(kf, "leakguard", "generation", s->generation);
        g_autoptr(GPtrArray) names = g_ptr_array_new();
        for (guint i = 0; i < s->policies->len; i++) {
                const LgSavedPolicy *p = s->policies->pdata[i];
                g_ptr_array_add(names, p->policy);
                g_autofree char *group = g_strdup_printf("policy %s", p->policy);
                GHashTableIter it;
                gpointer k, v;
                g_hash_table_iter_init(&it, p->params);
                while (g_hash_table_iter_next(&it, &k, &v))
                        g_key_file_set_string_list(kf, group, k, (const char *const *) v, g_strv_length(v));
        }
        g_key_file_set_string_list(kf, "leakguard", "policies", (const char *const *) names->pdata, names->len);
        g_key_file_set_boolean(kf, "end", "complete", TRUE);
        gsize len;
        g_autofree char *data = g_key_file_to_data(kf, &len, NULL);
        return write_atomically(dir, LG_STATE_FILE, data, (gssize) len, error);
}

bool lg_state_save_ruleset(const char *dir, const char *text, GError **error) {
        return write_atomically(dir, LG_RULESET_FILE, text, -1, error);
}

char *lg_state_load_ruleset(const char *dir, GError **error) {
        g_autofree char *path = g_build_filename(dir, LG_RULESET_FILE, NULL);
        char *data = NULL;
        if (!g_file_get_contents(path, &data, NULL, error))
                return NULL;
        return data;
}
