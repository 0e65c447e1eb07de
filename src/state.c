#include "state.h"

#include "error.h"
#include "policy.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

static int strcmp_p(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static GHashTable *params_new(void) {
        return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_strfreev);
}

/* GKeyFile quotes offending lines in its errors: cut them short and make them UTF-8, since the
 * message ends up in Status' Reason and the log. */
static void clean_error(GError *e) {
        if (!e)
                return;
        char *text = lg_error_text(e->message, 300);
        g_free(e->message);
        e->message = text;
}

/* g_key_file_get_string_list(), after checking the raw value's escapes ourselves: GLib 2.74 sets
 * its GError twice (a GLib-WARNING, fatal under G_DEBUG=fatal-warnings) for a value such as
 * "\\x\\" (an unknown escape, then one at the end of the line). Found by fuzz/fuzz-state.c. */
static char **get_list(GKeyFile *kf, const char *group, const char *key, GError **error) {
        g_autofree char *raw = g_key_file_get_value(kf, group, key, error);
        if (!raw)
                return NULL;
        for (const char *p = raw; *p; p++)
                if (*p == '\\' && (!*++p || !strchr("sntr\\;", *p))) {
                        g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                                    "key '%s' has an invalid escape sequence", key);
                        return NULL;
                }
        return g_key_file_get_string_list(kf, group, key, NULL, error);
}

static LgState *parse(const char *data, size_t len, GError **error) {
        g_autoptr(GKeyFile) kf = g_key_file_new();
        if (len > 0 && memchr(data, '\0', len)) {
                g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_PARSE, "the state file contains a NUL byte");
                return NULL;
        }
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
        g_auto(GStrv) order = get_list(kf, "leakguard", "policies", &e);
        if (e) {
                g_propagate_prefixed_error(error, e, "no policy list: ");
                return NULL;
        }
        g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
        for (char **name = order; *name; name++) {
                /* Only names a policy file could have: anything else was not written by us. */
                if (!lg_policy_name_valid(*name)) {
                        g_autofree char *esc = g_strescape(*name, NULL);
                        g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                                    "'%.60s' in the policy list is not a policy name", esc);
                        return NULL;
                }
                if (!g_hash_table_add(seen, *name)) {
                        g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                                    "policy '%s' is listed twice", *name);
                        return NULL;
                }
                /* A policy without parameters has no group: GKeyFile writes no empty groups. (A
                 * file cut short is caught by [end], not here.) */
                g_autofree char *group = g_strdup_printf("policy %s", *name);
                g_auto(GStrv) keys = g_key_file_has_group(kf, group) ? g_key_file_get_keys(kf, group, NULL, NULL) : NULL;
                GHashTable *params = params_new();
                for (char **k = keys; k && *k; k++) {
                        if (!lg_param_name_valid(*k)) {
                                g_autofree char *esc = g_strescape(*k, NULL);
                                g_hash_table_unref(params);
                                g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                                            "policy '%s': '%.60s' is not a parameter name", *name, esc);
                                return NULL;
                        }
                        char **items = get_list(kf, group, *k, &e);
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

LgState *lg_state_parse(const char *data, size_t len, GError **error) {
        GError *e = NULL;
        LgState *s = parse(data, len, &e);
        if (!s) {
                clean_error(e);
                g_propagate_error(error, e);
        }
        return s;
}

/* Reads a file of the state directory whole, refusing what is not a regular file (a FIFO would
 * block the start-up forever, a device would never end) or is larger than `max`. False without
 * an error when the file does not exist. */
static bool read_state_file(const char *path, size_t max, char **ret, size_t *ret_len, GError **error) {
        int fd = g_open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0);
        if (fd < 0) {
                int err = errno;
                if (err != ENOENT)
                        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err), "cannot open %s: %s", path,
                                    g_strerror(err));
                return false;
        }
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s is not a regular file", path);
                close(fd);
                return false;
        }
        if ((guint64) st.st_size > max) {
                g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: %lld bytes, more than the %zu allowed", path,
                            (long long) st.st_size, max);
                close(fd);
                return false;
        }
        /* Read to the end, not to st_size: the file may have changed since fstat(). */
        g_autoptr(GByteArray) buf = g_byte_array_sized_new((guint) st.st_size + 1);
        for (;;) {
                guint8 chunk[65536];
                ssize_t n = read(fd, chunk, sizeof chunk);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int err = errno;
                        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err), "cannot read %s: %s", path,
                                    g_strerror(err));
                        close(fd);
                        return false;
                }
                if (n == 0)
                        break;
                if (buf->len + (size_t) n > max) {
                        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: more than the %zu bytes allowed",
                                    path, max);
                        close(fd);
                        return false;
                }
                g_byte_array_append(buf, chunk, (guint) n);
        }
        close(fd);
        *ret_len = buf->len;
        g_byte_array_append(buf, (const guint8 *) "", 1);
        *ret = (char *) g_byte_array_free(g_steal_pointer(&buf), FALSE);
        return true;
}

LgState *lg_state_load(const char *dir, GError **error) {
        g_autofree char *path = g_build_filename(dir, LG_STATE_FILE, NULL);
        g_autofree char *data = NULL;
        size_t len;
        GError *e = NULL;
        if (!read_state_file(path, LG_MAX_STATE_FILE_SIZE, &data, &len, &e)) {
                if (e)
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

char *lg_state_to_data(const LgState *s, size_t *len) {
        g_autoptr(GKeyFile) kf = g_key_file_new();
        g_key_file_set_int64(kf, "leakguard", "version", LG_STATE_VERSION);
        g_key_file_set_uint64(kf, "leakguard", "generation", s->generation);
        g_autoptr(GPtrArray) names = g_ptr_array_new();
        for (guint i = 0; i < s->policies->len; i++) {
                const LgSavedPolicy *p = s->policies->pdata[i];
                g_ptr_array_add(names, p->policy);
                g_autofree char *group = g_strdup_printf("policy %s", p->policy);
                /* Sorted keys: the same state always makes the same bytes. */
                g_autofree gpointer *keys = g_hash_table_get_keys_as_array(p->params, NULL);
                qsort(keys, g_hash_table_size(p->params), sizeof(gpointer), strcmp_p);
                for (guint j = 0; j < g_hash_table_size(p->params); j++) {
                        char **v = g_hash_table_lookup(p->params, keys[j]);
                        g_key_file_set_string_list(kf, group, keys[j], (const char *const *) v, g_strv_length(v));
                }
        }
        g_key_file_set_string_list(kf, "leakguard", "policies", (const char *const *) names->pdata, names->len);
        g_key_file_set_boolean(kf, "end", "complete", TRUE);
        gsize n;
        char *data = g_key_file_to_data(kf, &n, NULL);
        if (len)
                *len = n;
        return data;
}

bool lg_state_save(const char *dir, const LgState *s, GError **error) {
        size_t len;
        g_autofree char *data = lg_state_to_data(s, &len);
        return write_atomically(dir, LG_STATE_FILE, data, (gssize) len, error);
}

bool lg_state_save_ruleset(const char *dir, const char *text, GError **error) {
        return write_atomically(dir, LG_RULESET_FILE, text, -1, error);
}

char *lg_state_load_ruleset(const char *dir, GError **error) {
        g_autofree char *path = g_build_filename(dir, LG_RULESET_FILE, NULL);
        char *data = NULL;
        size_t len;
        GError *e = NULL;
        if (!read_state_file(path, LG_MAX_STATE_FILE_SIZE, &data, &len, &e)) {
                if (!e)
                        g_set_error(&e, G_FILE_ERROR, G_FILE_ERROR_NOENT, "%s does not exist", path);
                g_propagate_error(error, e);
                return NULL;
        }
        /* nftables reads a C string: a NUL inside would silently cut the ruleset short. */
        if (strlen(data) != len) {
                g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s contains a NUL byte", path);
                g_free(data);
                return NULL;
        }
        return data;
}
