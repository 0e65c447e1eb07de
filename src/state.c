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

/* The parameters of policy `name` from group `group` of `kf`. */
static GHashTable *parse_group(GKeyFile *kf, const char *group, const char *name, GError **error) {
        g_auto(GStrv) keys = g_key_file_has_group(kf, group) ? g_key_file_get_keys(kf, group, NULL, NULL) : NULL;
        g_autoptr(GHashTable) params = params_new();
        for (char **k = keys; k && *k; k++) {
                if (!lg_param_name_valid(*k)) {
                        g_autofree char *esc = g_strescape(*k, NULL);
                        g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                                    "policy '%s': '%.60s' is not a parameter name", name, esc);
                        return NULL;
                }
                GError *e = NULL;
                char **items = get_list(kf, group, *k, &e);
                if (e) {
                        g_propagate_prefixed_error(error, e, "policy '%s': ", name);
                        return NULL;
                }
                g_hash_table_insert(params, g_strdup(*k), items);
        }
        return g_steal_pointer(&params);
}

static bool read_state_file(const char *path, size_t max, char **ret, size_t *ret_len, GError **error);

/* PREFIX, 64 lowercase hex digits (a SHA-256), SUFFIX: nothing else, so no path either. */
static bool hashed_name_valid(const char *f, const char *prefix, const char *suffix) {
        size_t n = strlen(f);
        if (!g_str_has_prefix(f, prefix) || !g_str_has_suffix(f, suffix) || n != strlen(prefix) + 64 + strlen(suffix))
                return false;
        for (const char *p = f + strlen(prefix); p < f + n - strlen(suffix); p++)
                if (!g_ascii_isxdigit(*p) || g_ascii_isupper(*p))
                        return false;
        return true;
}

static bool side_file_name_valid(const char *f) {
        return hashed_name_valid(f, LG_STATE_SIDE_PREFIX, ".ini");
}

static bool set_file_name_valid(const char *f) {
        return hashed_name_valid(f, LG_RULESET_SIDE_PREFIX, ".nft");
}

/* The parameters of policy `name` kept in side file `file` of `dir`: its name carries the SHA-256
 * of its bytes, checked here, so a file that changed since it was written is refused. */
static GHashTable *parse_side_file(const char *dir, const char *file, const char *name, GError **error) {
        if (!side_file_name_valid(file)) {
                g_autofree char *esc = g_strescape(file, NULL);
                g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                            "policy '%s': '%.80s' is not a parameter file name", name, esc);
                return NULL;
        }
        if (!dir) {
                g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                            "policy '%s': its parameters are in %s, outside this text", name, file);
                return NULL;
        }
        g_autofree char *path = g_build_filename(dir, file, NULL);
        g_autofree char *data = NULL;
        size_t len;
        GError *e = NULL;
        if (!read_state_file(path, LG_MAX_STATE_FILE_SIZE, &data, &len, &e)) {
                if (!e)
                        g_set_error(&e, G_FILE_ERROR, G_FILE_ERROR_NOENT, "%s does not exist", path);
                g_propagate_prefixed_error(error, e, "policy '%s': ", name);
                return NULL;
        }
        g_autofree char *sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *) data, len);
        if (strncmp(file + strlen(LG_STATE_SIDE_PREFIX), sum, 64) != 0) {
                g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                            "policy '%s': %s changed since it was written (its SHA-256 is %s)", name, file, sum);
                return NULL;
        }
        g_autoptr(GKeyFile) kf = g_key_file_new();
        if (memchr(data, '\0', len) || !g_key_file_load_from_data(kf, data, len, G_KEY_FILE_NONE, &e)) {
                if (!e)
                        g_set_error(&e, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_PARSE, "contains a NUL byte");
                g_propagate_prefixed_error(error, e, "policy '%s': %s: ", name, file);
                return NULL;
        }
        g_autofree char *group = g_strdup_printf("policy %s", name);
        if (!g_key_file_has_group(kf, group)) {
                g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE, "policy '%s': %s has no [%s]",
                            name, file, group);
                return NULL;
        }
        return parse_group(kf, group, name, error);
}

static LgState *parse(const char *data, size_t len, const char *dir, GError **error) {
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
                 * file cut short is caught by [end], not here.) Large parameters are in a side file. */
                g_autofree char *group = g_strdup_printf("policy %s", *name);
                g_autofree char *file = g_key_file_get_string(kf, LG_STATE_SIDE_GROUP, *name, NULL);
                if (file && g_key_file_has_group(kf, group)) {
                        g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                                    "policy '%s' has both a group and a parameter file", *name);
                        return NULL;
                }
                GHashTable *params = file ? parse_side_file(dir, file, *name, error) : parse_group(kf, group, *name, error);
                if (!params)
                        return NULL;
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

static LgState *parse_clean(const char *data, size_t len, const char *dir, GError **error) {
        GError *e = NULL;
        LgState *s = parse(data, len, dir, &e);
        if (!s) {
                clean_error(e);
                g_propagate_error(error, e);
        }
        return s;
}

LgState *lg_state_parse(const char *data, size_t len, GError **error) {
        return parse_clean(data, len, NULL, error);
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
        LgState *s = parse_clean(data, len, dir, &e);
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

static bool set_errno_error(GError **error, const char *what, const char *path) {
        int err = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(err), "cannot %s %s: %s", what, path, g_strerror(err));
        return false;
}

/* `data` written to dir/name and synced, under a name nothing reads: it becomes current by a
 * rename afterwards, so a crash while writing leaves the current file as it was. The saves of one
 * daemon never overlap, so the staging name is fixed and a leftover is simply overwritten. Unlike
 * g_file_set_contents_full() this does not rename nor sync the directory: the caller renames
 * several files and syncs the directory once (each sync is 0.7-1.8 ms on this disk). */
static bool write_synced(const char *dir, const char *name, const char *data, size_t len, GError **error) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        if (g_mkdir_with_parents(dir, 0755) < 0)
                return set_errno_error(error, "create", dir);
        int fd = g_open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return set_errno_error(error, "create", path);
        for (size_t done = 0; done < len;) {
                ssize_t n = write(fd, data + done, len - done);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        goto fail;
                done += (size_t) n;
        }
        if (fsync(fd) < 0)
                goto fail;
        if (close(fd) < 0) {
                fd = -1;
                goto fail;
        }
        return true;
fail:
        /* A full disk leaves no half-written file behind. */
        set_errno_error(error, "write", path);
        if (fd >= 0)
                close(fd);
        (void) g_unlink(path);
        return false;
}

static bool rename_in(const char *dir, const char *from, const char *to, GError **error) {
        g_autofree char *a = g_build_filename(dir, from, NULL);
        g_autofree char *b = g_build_filename(dir, to, NULL);
        return g_rename(a, b) == 0 || set_errno_error(error, "rename", a);
}

/* Makes the renames done in `dir` durable. */
static bool sync_dir(const char *dir, GError **error) {
        int fd = g_open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
        if (fd < 0 || fsync(fd) < 0) {
                set_errno_error(error, "sync", dir);
                if (fd >= 0)
                        close(fd);
                return false;
        }
        close(fd);
        return true;
}

bool lg_state_sync(const char *dir, GError **error) {
        return sync_dir(dir, error);
}

/* An item that GKeyFile writes as it is in a list: printable ASCII other than the escape and the
 * separator (no leading space, tab, newline, CR to escape either). */
static bool plain_item(const char *s) {
        for (; *s; s++)
                if (*s < '!' || *s > '~' || *s == '\\' || *s == ';')
                        return false;
        return true;
}

/* What g_key_file_to_data() makes of `group` with these keys and lists, byte for byte, when every
 * item is plain: "[group]\nkey=item;item;\n" per key. GKeyFile copies and escapes each of 100,000
 * items one at a time (7 ms); this is one pass. NULL when an item is not plain: GKeyFile writes it. */
static char *plain_group_text(const char *group, gpointer *keys, guint n, GHashTable *params) {
        gsize total = strlen(group) + 4;
        for (guint j = 0; j < n; j++) {
                total += strlen(keys[j]) + 2;
                for (char **v = g_hash_table_lookup(params, keys[j]); *v; v++) {
                        if (!plain_item(*v))
                                return NULL;
                        total += strlen(*v) + 1;
                }
        }
        GString *out = g_string_sized_new(total);
        g_string_append_c(out, '[');
        g_string_append(out, group);
        g_string_append(out, "]\n");
        for (guint j = 0; j < n; j++) {
                g_string_append(out, keys[j]);
                g_string_append_c(out, '=');
                for (char **v = g_hash_table_lookup(params, keys[j]); *v; v++) {
                        g_string_append(out, *v);
                        g_string_append_c(out, ';');
                }
                g_string_append_c(out, '\n');
        }
        return g_string_free(out, FALSE);
}

char *lg_state_policy_text(const char *policy, GHashTable *params) {
        g_autoptr(GKeyFile) kf = g_key_file_new();
        g_autofree char *group = g_strdup_printf("policy %s", policy);
        /* Sorted keys: the same state always makes the same bytes. */
        g_autofree gpointer *keys = g_hash_table_get_keys_as_array(params, NULL);
        qsort(keys, g_hash_table_size(params), sizeof(gpointer), strcmp_p);
        if (g_hash_table_size(params) > 0) {
                char *plain = plain_group_text(group, keys, g_hash_table_size(params), params);
                if (plain)
                        return plain;
        }
        for (guint j = 0; j < g_hash_table_size(params); j++) {
                char **v = g_hash_table_lookup(params, keys[j]);
                g_key_file_set_string_list(kf, group, keys[j], (const char *const *) v, g_strv_length(v));
        }
        /* GKeyFile writes no group without keys; the policy list alone says it is enabled. */
        return g_key_file_to_data(kf, NULL, NULL);
}

/* The file: [leakguard], [files] (the side files of large parameters), each inline policy's
 * group, then [end] (GKeyFile's layout: one empty line between groups), written last so that a
 * file cut short is refused whole. */
static char *join(guint64 generation, const LgStatePart *parts, guint n, size_t *len) {
        g_autoptr(GKeyFile) head = g_key_file_new();
        g_key_file_set_int64(head, "leakguard", "version", LG_STATE_VERSION);
        g_key_file_set_uint64(head, "leakguard", "generation", generation);
        g_autoptr(GPtrArray) names = g_ptr_array_new();
        for (guint i = 0; i < n; i++)
                g_ptr_array_add(names, (gpointer) parts[i].policy);
        g_key_file_set_string_list(head, "leakguard", "policies", (const char *const *) names->pdata, n);
        for (guint i = 0; i < n; i++)
                if (parts[i].file)
                        g_key_file_set_string(head, LG_STATE_SIDE_GROUP, parts[i].policy, parts[i].file);
        g_autofree char *head_text = g_key_file_to_data(head, NULL, NULL);
        gsize total = strlen(head_text) + 32;
        for (guint i = 0; i < n; i++)
                total += parts[i].file ? 0 : strlen(parts[i].text) + 1;
        GString *out = g_string_sized_new(total);
        g_string_append(out, head_text);
        for (guint i = 0; i < n; i++)
                if (!parts[i].file && *parts[i].text) {
                        g_string_append_c(out, '\n');
                        g_string_append(out, parts[i].text);
                }
        g_string_append(out, "\n[end]\ncomplete=true\n");
        if (len)
                *len = out->len;
        return g_string_free(out, FALSE);
}

char *lg_state_to_data(const LgState *s, size_t *len) {
        g_autofree LgStatePart *parts = g_new0(LgStatePart, s->policies->len);
        for (guint i = 0; i < s->policies->len; i++) {
                const LgSavedPolicy *p = s->policies->pdata[i];
                parts[i].policy = p->policy;
                parts[i].text = lg_state_policy_text(p->policy, p->params);
        }
        char *data = join(s->generation, parts, s->policies->len, len);
        for (guint i = 0; i < s->policies->len; i++)
                g_free((char *) parts[i].text);
        return data;
}

bool lg_state_store_policy_text(const char *dir, const char *text, char **file, GError **error) {
        *file = NULL;
        size_t len = strlen(text);
        if (len <= LG_STATE_INLINE_MAX)
                return true;
        g_autofree char *sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *) text, len);
        g_autofree char *name = g_strconcat(LG_STATE_SIDE_PREFIX, sum, ".ini", NULL);
        if (!write_atomically(dir, name, text, (gssize) len, error))
                return false;
        *file = g_steal_pointer(&name);
        return true;
}

/* The files of `dir` named PREFIX<SHA-256>SUFFIX that `keep` (n names, NULL for none) does not
 * name: a crash before this leaves them, the next save removes them. */
static void remove_hashed_files(const char *dir, const char *prefix, const char *suffix, const char *const *keep,
                                guint n) {
        g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
        const char *entry;
        while (d && (entry = g_dir_read_name(d))) {
                if (!hashed_name_valid(entry, prefix, suffix))
                        continue;
                bool used = false;
                for (guint i = 0; i < n && !used; i++)
                        used = g_strcmp0(keep[i], entry) == 0;
                if (!used) {
                        g_autofree char *path = g_build_filename(dir, entry, NULL);
                        if (g_unlink(path) < 0)
                                g_warning("cannot remove %s: %s", path, g_strerror(errno));
                }
        }
}

/* Side files that state.ini no longer names. */
static void remove_unreferenced(const char *dir, const LgStatePart *parts, guint n) {
        g_autofree const char **keep = g_new0(const char *, MAX(n, 1));
        for (guint i = 0; i < n; i++)
                keep[i] = parts[i].file;
        remove_hashed_files(dir, LG_STATE_SIDE_PREFIX, ".ini", keep, n);
}

bool lg_state_stage_parts(const char *dir, guint64 generation, const LgStatePart *parts, guint n, GError **error) {
        size_t len;
        g_autofree char *data = join(generation, parts, n, &len);
        return write_synced(dir, LG_STATE_STAGED, data, len, error);
}

bool lg_state_install_parts(const char *dir, const LgStatePart *parts, guint n, GError **error) {
        /* The one sync of the directory also makes an lg_state_install_ruleset() before this durable,
         * so it runs even when the rename failed. */
        bool ok = rename_in(dir, LG_STATE_STAGED, LG_STATE_FILE, error);
        ok = sync_dir(dir, ok ? error : NULL) && ok;
        if (ok)
                remove_unreferenced(dir, parts, n);
        return ok;
}

void lg_state_discard_parts(const char *dir) {
        g_autofree char *path = g_build_filename(dir, LG_STATE_STAGED, NULL);
        if (g_unlink(path) < 0 && errno != ENOENT)
                g_warning("cannot remove %s: %s", path, g_strerror(errno));
}

bool lg_state_save_parts(const char *dir, guint64 generation, const LgStatePart *parts, guint n, GError **error) {
        if (!lg_state_stage_parts(dir, generation, parts, n, error)) {
                (void) sync_dir(dir, NULL); /* as lg_state_install_parts() would have */
                return false;
        }
        return lg_state_install_parts(dir, parts, n, error);
}

bool lg_state_save(const char *dir, const LgState *s, GError **error) {
        guint n = s->policies->len;
        g_autofree LgStatePart *parts = g_new0(LgStatePart, n);
        bool ok = true;
        for (guint i = 0; i < n && ok; i++) {
                const LgSavedPolicy *p = s->policies->pdata[i];
                char *file = NULL;
                parts[i].policy = p->policy;
                parts[i].text = lg_state_policy_text(p->policy, p->params);
                ok = lg_state_store_policy_text(dir, parts[i].text, &file, error);
                parts[i].file = file;
        }
        ok = ok && lg_state_save_parts(dir, s->generation, parts, n, error);
        for (guint i = 0; i < n; i++) {
                g_free((char *) parts[i].text);
                g_free((char *) parts[i].file);
        }
        return ok;
}

bool lg_state_stage_ruleset(const char *dir, const char *text, GError **error) {
        return write_synced(dir, LG_RULESET_STAGED, text, strlen(text), error);
}

bool lg_state_install_ruleset(const char *dir, GError **error) {
        return rename_in(dir, LG_RULESET_STAGED, LG_RULESET_FILE, error);
}

void lg_state_discard_ruleset(const char *dir) {
        g_autofree char *path = g_build_filename(dir, LG_RULESET_STAGED, NULL);
        if (g_unlink(path) < 0 && errno != ENOENT)
                g_warning("cannot remove %s: %s", path, g_strerror(errno));
}

/* `name` in `dir`, whole, as a C string: nftables reads one, and a NUL inside would silently cut
 * the ruleset short. */
static char *read_ruleset_file(const char *dir, const char *name, GError **error) {
        g_autofree char *path = g_build_filename(dir, name, NULL);
        char *data = NULL;
        size_t len;
        GError *e = NULL;
        if (!read_state_file(path, LG_MAX_STATE_FILE_SIZE, &data, &len, &e)) {
                if (!e)
                        g_set_error(&e, G_FILE_ERROR, G_FILE_ERROR_NOENT, "%s does not exist", path);
                g_propagate_error(error, e);
                return NULL;
        }
        if (strlen(data) != len) {
                g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s contains a NUL byte", path);
                g_free(data);
                return NULL;
        }
        return data;
}

bool lg_state_store_set_text(const char *dir, const char *text, size_t len, char **file, GError **error) {
        g_autofree char *sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *) text, len);
        g_autofree char *name = g_strconcat(LG_RULESET_SIDE_PREFIX, sum, ".nft", NULL);
        /* The directory is synced here, not only with the ruleset's rename: a ruleset.nft that names
         * the file must never outlive a crash that the file's own rename did not. New set files are
         * rare (a large set changed); the ruleset including an existing one pays nothing. */
        if (!write_atomically(dir, name, text, (gssize) len, error) || !sync_dir(dir, error))
                return false;
        *file = g_steal_pointer(&name);
        return true;
}

char *lg_state_include_line(const char *dir, const char *file) {
        g_autofree char *abs = g_canonicalize_filename(dir, NULL);
        g_autofree char *path = g_build_filename(abs, file, NULL);
        /* The path goes into nftables syntax: only characters that mean nothing there (no quote,
         * newline, or the glob characters `include` expands). */
        for (const char *p = path; *p; p++)
                if (!g_ascii_isalnum(*p) && !strchr("/._+-@%,:=", *p))
                        return NULL;
        return g_strdup_printf("include \"%s\"\n", path);
}

void lg_state_remove_set_files(const char *dir, const char *const *keep, guint n) {
        remove_hashed_files(dir, LG_RULESET_SIDE_PREFIX, ".nft", keep, n);
}

/* Every line `include "…/sets-<SHA-256>.nft"` replaced by that file of `dir` (whatever directory
 * the line names: the state directory may have moved), once its bytes match the name. */
static char *expand_includes(const char *dir, const char *text, GError **error) {
        g_autoptr(GString) out = g_string_new(NULL);
        for (const char *line = text; *line;) {
                const char *nl = strchr(line, '\n');
                size_t n = nl ? (size_t) (nl - line) + 1 : strlen(line);
                if (!g_str_has_prefix(line, "include ")) {
                        g_string_append_len(out, line, (gssize) n);
                        line += n;
                        continue;
                }
                g_autofree char *stmt = g_strndup(line, nl ? n - 1 : n);
                const char *base = strrchr(stmt, '/');
                size_t blen = base ? strlen(base + 1) : 0;
                g_autofree char *file = blen > 1 ? g_strndup(base + 1, blen - 1) : NULL;
                if (!g_str_has_prefix(stmt, "include \"/") || !g_str_has_suffix(stmt, "\"") || !file ||
                    !set_file_name_valid(file)) {
                        g_autofree char *esc = g_strescape(stmt, NULL);
                        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: not an include of a set file: %.120s",
                                    LG_RULESET_FILE, esc);
                        return NULL;
                }
                g_autofree char *data = read_ruleset_file(dir, file, error);
                if (!data)
                        return NULL;
                g_autofree char *sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, data, -1);
                if (strncmp(file + strlen(LG_RULESET_SIDE_PREFIX), sum, 64) != 0) {
                        g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                                    "%s changed since it was written (its SHA-256 is %s)", file, sum);
                        return NULL;
                }
                g_string_append(out, data);
                line += n;
        }
        return g_string_free(g_steal_pointer(&out), FALSE);
}

char *lg_state_load_ruleset(const char *dir, GError **error) {
        g_autofree char *data = read_ruleset_file(dir, LG_RULESET_FILE, error);
        return data ? expand_includes(dir, data, error) : NULL;
}
