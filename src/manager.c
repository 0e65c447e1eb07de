#include "manager.h"
#include "error.h"

#include <malloc.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

const char *lg_run_state_to_string(LgRunState s) {
        return s == LG_RUN_IDLE ? "idle" : s == LG_RUN_PROTECTING ? "protecting" : "degraded";
}

static void enabled_free(LgEnabledPolicy *e) {
        if (!e)
                return;
        g_hash_table_unref(e->params);
        g_free(e->owner);
        g_free(e);
}

/* A persistent policy's part of state.ini, valid while the policy keeps the very same parameter
 * table (held here, so it cannot be freed and its address reused). */
typedef struct {
        GHashTable *params;
        char *text; /* NULL once in its side file */
        char *file;
} SavedText;

static void saved_text_free(SavedText *t) {
        g_hash_table_unref(t->params);
        g_free(t->text);
        g_free(t->file);
        g_free(t);
}

/* The file that holds a large set's part of the fallback ruleset (lg_set_write_fill(),
 * lg_state_store_set_text()), which the ruleset includes: 1.6 MB for 100,000 prefixes, 3-6 ms to
 * print and 1.5-3 ms to sync, which every Enable of another policy paid again while the big set
 * stayed the same. Reused while the set's compiled elements are the same array
 * (lg_compile_incremental() keeps an unchanged set's array), which holds a reference so that its
 * address stays unique. */
typedef struct {
        GPtrArray *elements;
        char *table, *set;
        char *file; /* its set file in the state directory */
} SetFile;

static void set_file_free(SetFile *f) {
        g_ptr_array_unref(f->elements);
        g_free(f->table);
        g_free(f->set);
        g_free(f->file);
        g_free(f);
}

static GHashTable *set_files_new(void) {
        return g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, (GDestroyNotify) set_file_free);
}

/* Sets with fewer elements than this are printed into the ruleset itself. */
#define SET_FILE_MIN_ELEMENTS 1024

/* After a change that kept the fallback ruleset (a reconnect): an entry whose set no longer has
 * those elements would only hold their memory (the file stays: the installed ruleset includes it). */
static void prune_set_files(LgManager *m) {
        const LgTable *t = m->applied->persistent;
        GHashTableIter it;
        gpointer k;
        g_hash_table_iter_init(&it, m->set_files);
        while (g_hash_table_iter_next(&it, &k, NULL)) {
                bool used = false;
                for (guint i = 0; t && i < t->sets->len && !used; i++)
                        used = ((const LgSet *) t->sets->pdata[i])->elements == k;
                if (!used)
                        g_hash_table_iter_remove(&it);
        }
}

static GHashTable *policy_table_new(void) {
        return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) lg_policy_free);
}

/* What the kernel holds (names only). NULL with `error` set when a table cannot be read: taking it
 * for absent would make a repair re-create (and refill) a table that is there. */
static LgRuleset *kernel_shapes(LgManager *m, GError **error) {
        g_autoptr(LgRuleset) r = g_new0(LgRuleset, 1);
        const char *names[3] = {LG_TABLE_PERSISTENT, LG_TABLE_DYNAMIC, LG_TABLE_GUARD};
        LgTable **slots[3] = {&r->persistent, &r->dynamic, &r->guard};
        for (int i = 0; i < 3; i++) {
                g_autoptr(GError) e = NULL;
                g_autoptr(LgKernelTable) k = lg_nft_read_table(m->nft, names[i], &e);
                if (e) {
                        g_propagate_error(error, g_steal_pointer(&e));
                        return NULL;
                }
                if (k)
                        *slots[i] = lg_kernel_table_shape(k, names[i]);
        }
        return g_steal_pointer(&r);
}

LgManager *lg_manager_new(const char *const *policy_dirs, const char *state_dir, GError **error) {
        /* One malloc arena: the save job's threads (save_job_start()) would otherwise get arenas of
         * their own, whose top chunks malloc_trim() leaves resident (8 MB of idle RSS after a
         * 100,000-prefix Enable and Disable, 15.3 MB instead of 7.6 MB). The daemon has no other
         * threads. */
        mallopt(M_ARENA_MAX, 1);
        g_autoptr(LgNft) nft = lg_nft_new(false, error);
        if (!nft)
                return NULL;
        LgManager *m = g_new0(LgManager, 1);
        m->policy_dirs = g_ptr_array_new_with_free_func(g_free);
        for (const char *const *d = policy_dirs; *d; d++)
                g_ptr_array_add(m->policy_dirs, g_strdup(*d));
        m->state_dir = g_strdup(state_dir);
        m->policies = policy_table_new();
        m->enabled = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) enabled_free);
        m->saved_texts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) saved_text_free);
        m->set_files = set_files_new();
        m->nft = g_steal_pointer(&nft);
        /* Until our first transaction, "applied" is what the kernel holds (names only), so that the
         * first replace deletes stale objects of an earlier run and keeps its base chains. */
        g_autoptr(GError) e = NULL;
        m->applied = kernel_shapes(m, &e);
        if (!m->applied) {
                /* Unknown, so the first transaction cannot clean up after an earlier run; it still
                 * declares, flushes and re-adds, which keeps any base chain of ours in place. */
                g_warning("%s", e->message);
                m->applied = g_new0(LgRuleset, 1);
        }
        m->state = m->applied->persistent || m->applied->dynamic ? LG_RUN_DEGRADED : LG_RUN_IDLE;
        return m;
}

void lg_manager_free(LgManager *m) {
        if (!m)
                return;
        g_hash_table_unref(m->enabled);
        g_hash_table_unref(m->saved_texts);
        g_hash_table_unref(m->set_files);
        g_hash_table_unref(m->policies);
        g_ptr_array_unref(m->policy_dirs);
        lg_ruleset_free(m->applied);
        lg_nft_free(m->nft);
        g_free(m->state_dir);
        g_free(m->reason);
        g_free(m->save_error);
        g_free(m);
}

static void notify_changed(LgManager *m) {
        if (m->changed)
                m->changed(m, m->changed_userdata);
}

static void set_state(LgManager *m, LgRunState s, const char *reason) {
        if (s == LG_RUN_DEGRADED)
                g_warning("degraded: %s", reason);
        g_free(m->reason);
        m->reason = g_strdup(reason);
        m->state = s;
}

/* ---- policy files ---- */

static int strcmp_p(gconstpointer a, gconstpointer b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* Reads every *.yaml of the policy directories; the first directory that has a file name wins.
 * A file's name must be its policy's name, so that an admin's override is found by name. */
static GHashTable *load_policy_files(LgManager *m, GString *errors) {
        GHashTable *table = policy_table_new();
        g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        for (guint i = 0; i < m->policy_dirs->len; i++) {
                const char *dir = m->policy_dirs->pdata[i];
                g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
                if (!d)
                        continue;
                g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func(g_free);
                const char *f;
                while ((f = g_dir_read_name(d)))
                        if (g_str_has_suffix(f, ".yaml") && f[0] != '.')
                                g_ptr_array_add(files, g_strdup(f));
                g_ptr_array_sort(files, strcmp_p);
                for (guint j = 0; j < files->len; j++) {
                        const char *file = files->pdata[j];
                        if (g_hash_table_contains(seen, file))
                                continue;
                        g_autofree char *path = g_build_filename(dir, file, NULL);
                        /* Bounded: each file may hold LG_MAX_POLICY_FILE_SIZE bytes (docs/limits.md). */
                        if (g_hash_table_size(seen) >= LG_MAX_POLICY_FILES) {
                                g_autofree char *esc = g_strescape(path, NULL);
                                g_string_append_printf(errors, "%s: not loaded, more than %d policy files\n", esc,
                                                       LG_MAX_POLICY_FILES);
                                continue;
                        }
                        g_hash_table_add(seen, g_strdup(file));
                        g_autoptr(GError) e = NULL;
                        LgPolicy *p = lg_policy_load_file(path, &e);
                        if (!p) {
                                g_string_append_printf(errors, "%s\n", e->message);
                                continue;
                        }
                        g_autofree char *stem = g_strndup(file, strlen(file) - 5);
                        if (!g_str_equal(stem, p->name)) {
                                g_string_append_printf(errors, "%s: defines policy '%s'; the file must be named %s.yaml\n",
                                                       path, p->name, p->name);
                                lg_policy_free(p);
                                continue;
                        }
                        g_hash_table_insert(table, g_strdup(p->name), p);
                }
        }
        return table;
}

void lg_manager_load_policies(LgManager *m) {
        g_autoptr(GString) errors = g_string_new(NULL);
        GHashTable *t = load_policy_files(m, errors);
        if (errors->len)
                g_warning("skipping invalid policy files:\n%s", errors->str);
        g_hash_table_unref(m->policies);
        m->policies = t;
        g_message("%u policies loaded", g_hash_table_size(t));
}

static char *policy_suggest(LgManager *m, const char *name) {
        g_autoptr(GPtrArray) names = lg_manager_policy_names(m);
        return lg_suggest(name, (const char *const *) names->pdata, names->len);
}

LgPolicy *lg_manager_find_policy(LgManager *m, const char *name, GError **error) {
        LgPolicy *p = g_hash_table_lookup(m->policies, name);
        if (!p) {
                g_autofree char *esc = g_strescape(name, NULL);
                g_autofree char *hint = policy_suggest(m, name);
                g_set_error(error, LG_ERROR, LG_ERROR_NO_SUCH_POLICY, "no policy named '%.60s'%s", esc, hint);
        }
        return p;
}

static int enabled_cmp(gconstpointer a, gconstpointer b) {
        const LgEnabledPolicy *x = *(const LgEnabledPolicy *const *) a, *y = *(const LgEnabledPolicy *const *) b;
        return strcmp(x->policy->name, y->policy->name);
}

GPtrArray *lg_manager_enabled_sorted(LgManager *m) {
        GPtrArray *r = g_ptr_array_new();
        GHashTableIter it;
        gpointer v;
        g_hash_table_iter_init(&it, m->enabled);
        while (g_hash_table_iter_next(&it, NULL, &v))
                g_ptr_array_add(r, v);
        g_ptr_array_sort(r, enabled_cmp);
        return r;
}

GPtrArray *lg_manager_policy_names(LgManager *m) {
        GPtrArray *r = g_ptr_array_new();
        GHashTableIter it;
        gpointer k;
        g_hash_table_iter_init(&it, m->policies);
        while (g_hash_table_iter_next(&it, &k, NULL))
                g_ptr_array_add(r, k);
        g_ptr_array_sort(r, strcmp_p);
        return r;
}

/* ---- applying ---- */

/* The transactions that take the kernel from m->applied to `next`: `pre` creates new sets (and
 * fills them, unless `prefill`), `tx` changes set elements only where the shape is unchanged (a
 * reconnect), and flushes and re-adds the table otherwise. Both empty when nothing changes. With
 * `elements_by_netlink`, the element changes of same-shape persistent and guard tables are left to
 * lg_nft_update_elements(); with `prefill`, so are the elements of every new set (`filled[i]` says
 * for which tables), added between `pre` and `tx`. */
static void write_transaction(LgManager *m, const LgRuleset *next, bool elements_by_netlink, bool prefill,
                              bool filled[3], GString *pre, GString *tx) {
        /* The guard (when there is one) changes in the same transaction as the persistent table. */
        const LgTable *cur[3] = {m->applied->persistent, m->applied->dynamic, m->applied->guard};
        const LgTable *want[3] = {next->persistent, next->dynamic, next->guard};
        const char *names[3] = {LG_TABLE_PERSISTENT, LG_TABLE_DYNAMIC, LG_TABLE_GUARD};
        bool foreign_guard = cur[2] && !cur[2]->owner;
        if (foreign_guard) {
                /* We only ever make the guard with flags owner, and an owner's table goes with it: one
                 * without the flag was made by someone else. A table cannot gain the flag, so it is
                 * deleted and made anew in the same transaction (its sets with it: not before). */
                g_string_append_printf(tx, "delete table inet %s\n", LG_TABLE_GUARD);
                cur[2] = NULL;
        }
        for (int i = 0; i < 3; i++) {
                filled[i] = false;
                if (want[i] && cur[i] && lg_table_same_shape(want[i], cur[i])) {
                        if (i == 1 || !elements_by_netlink) /* the dynamic table: always as text */
                                lg_table_write_update(want[i], cur[i], tx);
                } else if (want[i] || cur[i]) {
                        filled[i] = prefill && !(i == 2 && foreign_guard) && want[i];
                        if (filled[i])
                                lg_table_write_empty_sets(want[i], cur[i], pre);
                        else
                                lg_table_write_new_sets(want[i], cur[i], pre);
                        lg_table_write_replace(want[i], cur[i], names[i], i >= 1, filled[i], tx);
                }
        }
}

/* What the kernel holds of `want`'s sets once the `pre` transaction made the ones `cur` lacks:
 * those empty, the ones whose elements are unknown (read back after tampering, or at start-up)
 * unknown, which lg_nft_update_elements() flushes and refills in its batch, and the others as
 * `want` has them (their changes are left to the main transaction). */
static LgTable *prefill_base(const LgTable *want, const LgTable *cur) {
        LgTable *t = lg_table_new(want->name, want->owner);
        for (guint i = 0; i < want->sets->len; i++) {
                const LgSet *s = want->sets->pdata[i], *o = cur ? lg_table_find_set(cur, s->name) : NULL;
                lg_table_add_set(t, s->name);
                LgSet *b = t->sets->pdata[t->sets->len - 1];
                b->elements = !o ? g_ptr_array_new() : o->elements ? g_ptr_array_ref(s->elements) : NULL;
        }
        return t;
}

/* lg_nft_update_elements(), with the watcher not listening when the batch is large: the kernel
 * would build one event per element for it (0.5 s of 0.7 for 100,000 prefixes). */
static bool update_elements(LgManager *m, const LgTable *const *want, const LgTable *const *have, size_t n,
                            GError **error) {
        guint64 elements = 0;
        for (size_t i = 0; i < n; i++)
                for (guint j = 0; j < want[i]->sets->len; j++) {
                        const LgSet *s = want[i]->sets->pdata[j], *o = lg_table_find_set(have[i], s->name);
                        if (!o || o->elements != s->elements)
                                elements += s->elements->len + (o && o->elements ? o->elements->len : 0);
                }
        bool quiet = m->quiet && elements > LG_QUIET_MIN_ELEMENTS;
        if (quiet)
                m->quiet(m, true, false, m->quiet_userdata);
        bool sent;
        bool ok = lg_nft_update_elements(m->nft, want, have, n, &sent, error);
        if (quiet)
                m->quiet(m, false, ok && sent, m->quiet_userdata);
        return ok;
}

/* Adds the elements of the sets `pre` made empty and refills those whose elements are unknown, one
 * netlink batch (one kernel transaction: a refilled set is never seen empty). A repair after
 * tampering therefore sends a 100,000-prefix set as netlink elements, not as text that libnftables
 * would first compare against every element it reads back (seconds). */
static bool fill_new_sets(LgManager *m, const LgRuleset *next, const bool filled[3], GError **error) {
        const LgTable *cur[3] = {m->applied->persistent, m->applied->dynamic, m->applied->guard};
        const LgTable *want[3] = {next->persistent, next->dynamic, next->guard};
        const LgTable *w[3];
        g_autoptr(GPtrArray) bases = g_ptr_array_new_with_free_func((GDestroyNotify) lg_table_free);
        size_t n = 0;
        for (int i = 0; i < 3; i++)
                if (filled[i]) {
                        w[n++] = want[i];
                        /* A foreign guard was not filled (filled[2] is false): cur[2] is ours here. */
                        g_ptr_array_add(bases, prefill_base(want[i], cur[i]));
                }
        return n == 0 || update_elements(m, w, (const LgTable *const *) bases->pdata, n, error);
}

/* Undoes a `pre` transaction whose main transaction failed: the kernel keeps only what it had. */
static void drop_new_sets(LgManager *m, const LgRuleset *next, const bool filled[3]) {
        const LgTable *cur[3] = {m->applied->persistent, m->applied->dynamic, m->applied->guard};
        const LgTable *want[3] = {next->persistent, next->dynamic, next->guard};
        g_autoptr(GString) undo = g_string_new(NULL);
        for (int i = 0; i < 3; i++) {
                if (!want[i])
                        continue;
                if (filled[i] && !cur[i]) {
                        g_string_append_printf(undo, "delete table inet %s\n", want[i]->name);
                        continue;
                }
                for (guint j = 0; cur[i] && j < want[i]->sets->len; j++) {
                        const LgSet *s = want[i]->sets->pdata[j];
                        if (filled[i] ? !lg_table_find_set(cur[i], s->name) : lg_table_set_made_before(cur[i], s->name))
                                g_string_append_printf(undo, "delete set inet %s %s\n", want[i]->name, s->name);
                }
        }
        g_autoptr(GError) e = NULL;
        if (undo->len && !lg_nft_run(m->nft, undo->str, &e))
                g_warning("cannot remove the sets of a failed change: %s", e->message);
}

static GPtrArray *enabled_array(GHashTable *enabled) {
        GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
        GHashTableIter it;
        gpointer v;
        g_hash_table_iter_init(&it, enabled);
        while (g_hash_table_iter_next(&it, NULL, &v)) {
                LgEnabledPolicy *e = v;
                LgEnabled *en = g_new0(LgEnabled, 1);
                en->policy = e->policy;
                en->params = e->params;
                g_ptr_array_add(a, en);
        }
        return a;
}

/* ---- saving ---- */

/* The part of a save that does not depend on the kernel accepting the change: the fallback ruleset
 * and state.ini written and synced to their staging files, and the texts (and side files) of the
 * policies whose parameters are new. Side files are named by their SHA-256, so one written for a
 * change the kernel then refuses names nothing and goes at the next save. A large job runs in a
 * thread while the kernel inserts the new set elements (150 ms for 100,000 prefixes, inside one
 * sendto(), on one core), instead of after it: 35 ms of such an Enable; a small one while the
 * kernel commits (the two fsyncs, 1-3 ms, were most of an Enable of a shipped policy). Durability
 * is unchanged: the reply waits for the job, then for the renames and the sync of the directory
 * (commit()). */
typedef struct {
        const char *policy; /* the enabled policy's name, alive while the job is */
        GHashTable *params; /* its parameter table, referenced */
        char *text;         /* result: its part of state.ini when it stays inline */
        char *file;         /* result: its side file */
} PendingText;

/* One persistent policy of the new state, in state.ini's order: its text is the one saved before
 * (`saved`, unchanged while the job runs) or the job's (texts[pending]). */
typedef struct {
        const char *policy;
        const SavedText *saved;
        guint pending;
} PartSource;

typedef struct {
        const char *dir;
        guint64 generation; /* the one state.ini gets if the kernel accepts the change */
        bool stage_ruleset;
        const LgTable *ruleset; /* the persistent table to stage (NULL: none, an empty file) */
        GArray *texts;          /* PendingText */
        GArray *parts;          /* PartSource */
        GHashTable *set_files;     /* m->set_files, read by the job only */
        GHashTable *new_set_files; /* result: the set files the staged ruleset includes (set_files_new()) */
        GThread *thread, *ruleset_thread;
        bool done, ruleset_done, staged, installed, state_staged, state_installed;
        GError *ruleset_error, *error;
} SaveJob;

/* Jobs with fewer items than this (set elements of the ruleset plus parameter items) and no ruleset
 * to stage run inline, after the kernel accepted the change: a reconnect does not pay for threads.
 * A job with a ruleset to stage always gets them: its two fsyncs (1-2 ms each on this machine's
 * disk) then overlap the kernel's work and each other. */
#define SAVE_THREAD_MIN_ITEMS 4096

static void write_fill(const LgSet *s, const char *table, GString *out, void *userdata) {
        SaveJob *j = userdata;
        if (s->elements->len < SET_FILE_MIN_ELEMENTS) {
                lg_set_write_fill(s, table, out);
                return;
        }
        SetFile *f = g_hash_table_lookup(j->set_files, s->elements);
        /* Whether nftables syntax can name the state directory (a set file's own name always can). */
        g_autofree char *file = NULL, *probe = lg_state_include_line(j->dir, LG_RULESET_SIDE_PREFIX);
        if (!probe) {
                lg_set_write_fill(s, table, out);
                return;
        }
        if (f && g_str_equal(f->table, table) && g_str_equal(f->set, s->name))
                file = g_strdup(f->file);
        else {
                g_autoptr(GString) text = g_string_new(NULL);
                lg_set_write_fill(s, table, text);
                g_autoptr(GError) e = NULL;
                if (!lg_state_store_set_text(j->dir, text->str, text->len, &file, &e)) {
                        /* Inline, so that the ruleset is whole (its own write will likely fail too). */
                        g_warning("cannot save the elements of set %s apart: %s", s->name, e->message);
                        g_string_append_len(out, text->str, (gssize) text->len);
                        return;
                }
        }
        g_autofree char *line = lg_state_include_line(j->dir, file);
        g_string_append(out, line);
        SetFile *n = g_new0(SetFile, 1);
        n->elements = g_ptr_array_ref(s->elements);
        n->table = g_strdup(table);
        n->set = g_strdup(s->name);
        n->file = g_steal_pointer(&file);
        g_hash_table_replace(j->new_set_files, n->elements, n);
}

/* The set files that only rulesets older than the one just installed (and made durable by the
 * directory's sync) include. */
static void remove_old_set_files(LgManager *m, SaveJob *j) {
        g_autoptr(GPtrArray) keep = g_ptr_array_new();
        GHashTableIter it;
        gpointer v;
        g_hash_table_iter_init(&it, j->new_set_files);
        while (g_hash_table_iter_next(&it, NULL, &v))
                g_ptr_array_add(keep, ((SetFile *) v)->file);
        lg_state_remove_set_files(m->state_dir, (const char *const *) keep->pdata, keep->len);
}

static void save_job_run_ruleset(SaveJob *j) {
        if (j->stage_ruleset) {
                g_autoptr(GString) full = g_string_new(NULL);
                lg_table_write_full(j->ruleset, false, write_fill, j, full);
                j->staged = lg_state_stage_ruleset(j->dir, full->str, &j->ruleset_error);
        }
        j->ruleset_done = true;
}

static void save_job_run(SaveJob *j) {
        for (guint i = 0; i < j->texts->len && !j->error; i++) {
                PendingText *t = &g_array_index(j->texts, PendingText, i);
                /* The canonical items are the values' own memo: borrowed, not copied. */
                g_autoptr(GHashTable) params = g_hash_table_new(g_str_hash, g_str_equal);
                GHashTableIter it;
                gpointer k, v;
                g_hash_table_iter_init(&it, t->params);
                while (g_hash_table_iter_next(&it, &k, &v))
                        g_hash_table_insert(params, k, (gpointer) lg_value_canonical(v));
                g_autofree char *text = lg_state_policy_text(t->policy, params);
                if (!lg_state_store_policy_text(j->dir, text, &t->file, &j->error))
                        break;
                if (!t->file)
                        t->text = g_steal_pointer(&text);
        }
        if (!j->error) {
                g_autofree LgStatePart *parts = g_new0(LgStatePart, j->parts->len);
                for (guint i = 0; i < j->parts->len; i++) {
                        const PartSource *p = &g_array_index(j->parts, PartSource, i);
                        const PendingText *t = p->saved ? NULL : &g_array_index(j->texts, PendingText, p->pending);
                        parts[i] = (LgStatePart){.policy = p->policy,
                                                 .text = t ? t->text : p->saved->text,
                                                 .file = t ? t->file : p->saved->file};
                }
                /* A failure here is not final: save_state() then writes state.ini itself. */
                j->state_staged = lg_state_stage_parts(j->dir, j->generation, parts, j->parts->len, NULL);
        }
        j->done = true;
}

static gpointer save_job_thread(gpointer data) {
        /* Below the main thread: on an idle second core it runs at full speed, and where it would
         * share one core with the encoding and the kernel's insertion (which run in the main thread
         * and are what the reply waits for) it yields to them. Raising one's nice value is always
         * allowed; failing to is harmless. */
        (void) setpriority(PRIO_PROCESS, (id_t) syscall(SYS_gettid), 10);
        save_job_run(data);
        return NULL;
}

/* The ruleset in a thread of its own: its fsync and state.ini's then wait for one journal commit
 * together (ext4 batches concurrent fsyncs) instead of one after the other. */
static gpointer save_job_ruleset_thread(gpointer data) {
        (void) setpriority(PRIO_PROCESS, (id_t) syscall(SYS_gettid), 10);
        save_job_run_ruleset(data);
        return NULL;
}

static void save_job_join(SaveJob *j) {
        if (j->thread)
                g_thread_join(g_steal_pointer(&j->thread));
        if (j->ruleset_thread)
                g_thread_join(g_steal_pointer(&j->ruleset_thread));
}

static void save_job_wait(SaveJob *j) {
        save_job_join(j);
        if (!j->ruleset_done)
                save_job_run_ruleset(j);
        if (!j->done)
                save_job_run(j);
}

static void save_job_free(SaveJob *j) {
        if (!j)
                return;
        /* Joined before anything they read (the compiled ruleset, the parameter tables) is freed. */
        save_job_join(j);
        if (j->staged && !j->installed)
                lg_state_discard_ruleset(j->dir);
        if (j->state_staged && !j->state_installed)
                lg_state_discard_parts(j->dir);
        for (guint i = 0; i < j->texts->len; i++) {
                PendingText *t = &g_array_index(j->texts, PendingText, i);
                g_hash_table_unref(t->params);
                g_free(t->text);
                g_free(t->file);
        }
        g_array_unref(j->texts);
        g_array_unref(j->parts);
        g_clear_pointer(&j->new_set_files, g_hash_table_unref);
        g_clear_error(&j->ruleset_error);
        g_clear_error(&j->error);
        g_free(j);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SaveJob, save_job_free)

/* The job for a change from m->enabled to `enabled` (compiled as `next`): a thread starts at once
 * when it is large. Nothing it touches may change until it is waited for: `next` and the parameter
 * values are read-only once compiled, and lg_value_canonical()'s memo is made by the job alone. */
static SaveJob *save_job_start(LgManager *m, GHashTable *enabled, const LgRuleset *next, bool stage_ruleset) {
        SaveJob *j = g_new0(SaveJob, 1);
        j->dir = m->state_dir;
        j->generation = m->generation + 1;
        j->stage_ruleset = stage_ruleset;
        j->ruleset = next->persistent;
        j->texts = g_array_new(FALSE, TRUE, sizeof(PendingText));
        j->parts = g_array_new(FALSE, TRUE, sizeof(PartSource));
        j->set_files = m->set_files;
        j->new_set_files = set_files_new();
        guint64 items = 0;
        for (guint i = 0; stage_ruleset && next->persistent && i < next->persistent->sets->len; i++) {
                const LgSet *set = next->persistent->sets->pdata[i];
                items += set->elements ? set->elements->len : 0;
        }
        /* state.ini's order: by name, as save_state() has it. */
        g_autoptr(GPtrArray) sorted = g_ptr_array_new();
        GHashTableIter it;
        gpointer v;
        g_hash_table_iter_init(&it, enabled);
        while (g_hash_table_iter_next(&it, NULL, &v))
                if (((LgEnabledPolicy *) v)->policy->lifetime == LG_LIFETIME_PERSISTENT)
                        g_ptr_array_add(sorted, v);
        g_ptr_array_sort(sorted, enabled_cmp);
        for (guint i = 0; i < sorted->len; i++) {
                LgEnabledPolicy *e = sorted->pdata[i];
                SavedText *t = g_hash_table_lookup(m->saved_texts, e->policy->name);
                PartSource src = {.policy = e->policy->name, .saved = t && t->params == e->params ? t : NULL,
                                  .pending = j->texts->len};
                g_array_append_val(j->parts, src);
                if (src.saved)
                        continue;
                PendingText p = {.policy = e->policy->name, .params = g_hash_table_ref(e->params)};
                g_array_append_val(j->texts, p);
                GHashTableIter pit;
                gpointer val;
                g_hash_table_iter_init(&pit, e->params);
                while (g_hash_table_iter_next(&pit, NULL, &val))
                        items += lg_value_count(val);
        }
        /* Without threads the job runs inline in save_job_wait(): slower, not less safe. */
        if (stage_ruleset)
                j->ruleset_thread = g_thread_try_new("lg-save-ruleset", save_job_ruleset_thread, j, NULL);
        if (stage_ruleset || items >= SAVE_THREAD_MIN_ITEMS)
                j->thread = g_thread_try_new("lg-save", save_job_thread, j, NULL);
        return j;
}

/* The persistent policies in state.ini's order (by name) and their texts: a policy whose parameter
 * table is the one saved last time keeps its text (or side file), so a reconnect escapes and
 * writes only what changed; the others' come from the job. */
static bool save_state(LgManager *m, SaveJob *j, GError **error) {
        g_autoptr(GPtrArray) sorted = g_ptr_array_new();
        GHashTableIter it;
        gpointer k, v;
        g_hash_table_iter_init(&it, m->enabled);
        while (g_hash_table_iter_next(&it, NULL, &v))
                if (((LgEnabledPolicy *) v)->policy->lifetime == LG_LIFETIME_PERSISTENT)
                        g_ptr_array_add(sorted, v);
        g_ptr_array_sort(sorted, enabled_cmp);
        g_hash_table_iter_init(&it, m->saved_texts);
        while (g_hash_table_iter_next(&it, &k, &v)) {
                LgEnabledPolicy *e = g_hash_table_lookup(m->enabled, k);
                if (!e || e->params != ((SavedText *) v)->params)
                        g_hash_table_iter_remove(&it);
        }
        if (j->error) {
                /* What lg_state_save_parts() would have done for a ruleset installed before. */
                (void) lg_state_sync(m->state_dir, NULL);
                g_propagate_error(error, g_steal_pointer(&j->error));
                return false;
        }
        for (guint i = 0; i < j->texts->len; i++) {
                PendingText *p = &g_array_index(j->texts, PendingText, i);
                SavedText *t = g_new0(SavedText, 1);
                t->params = g_hash_table_ref(p->params);
                t->text = g_steal_pointer(&p->text);
                t->file = g_steal_pointer(&p->file);
                g_hash_table_insert(m->saved_texts, g_strdup(p->policy), t);
        }
        g_autofree LgStatePart *parts = g_new0(LgStatePart, sorted->len);
        for (guint i = 0; i < sorted->len; i++) {
                LgEnabledPolicy *e = sorted->pdata[i];
                SavedText *t = g_hash_table_lookup(m->saved_texts, e->policy->name);
                g_assert(t && t->params == e->params);
                parts[i] = (LgStatePart){.policy = e->policy->name, .text = t->text, .file = t->file};
        }
        /* The job staged these same texts (moved into saved_texts just now) for this generation. */
        if (j->state_staged && j->generation == m->generation) {
                j->state_installed = lg_state_install_parts(m->state_dir, parts, sorted->len, error);
                return j->state_installed;
        }
        return lg_state_save_parts(m->state_dir, m->generation, parts, sorted->len, error);
}

/* Whether new sets are made empty before the swap and filled by one netlink batch, instead of going
 * as text into the transaction: when a set of the change is large, or one the kernel holds is large
 * or of unknown size (libnftables 1.0.6 reads every element of a table's interval sets before it
 * runs any element command: 0.5 s with 100,000 prefixes loaded). Otherwise the text saves the two
 * extra transactions: ~1 ms of each Enable of a shipped policy. */
static bool has_large_sets(const LgRuleset *a, const LgRuleset *b) {
        const LgTable *tables[6] = {a->persistent, a->dynamic, a->guard, b->persistent, b->dynamic, b->guard};
        for (int t = 0; t < 6; t++)
                for (guint i = 0; tables[t] && i < tables[t]->sets->len; i++) {
                        const LgSet *s = tables[t]->sets->pdata[i];
                        if (!s->elements || s->elements->len >= LG_QUIET_MIN_ELEMENTS)
                                return true;
                }
        return false;
}

static bool persistent_changed(const LgRuleset *a, const LgRuleset *b) {
        if (!a->persistent || !b->persistent)
                return a->persistent != b->persistent;
        if (!lg_table_same_shape(a->persistent, b->persistent))
                return true;
        for (guint i = 0; i < a->persistent->sets->len; i++) {
                const LgSet *x = a->persistent->sets->pdata[i], *y = b->persistent->sets->pdata[i];
                if (x->elements == y->elements) /* shared by lg_compile_incremental() */
                        continue;
                if (!x->elements || !y->elements) /* read back from the kernel: unknown */
                        return true;
                if (x->elements->len != y->elements->len)
                        return true;
                for (guint j = 0; j < x->elements->len; j++)
                        if (!g_str_equal(x->elements->pdata[j], y->elements->pdata[j]))
                                return true;
        }
        return false;
}

/* Compiles `enabled`, applies it in one transaction and, on success, makes it current (taking
 * ownership of `enabled`). On failure nothing changed, in the kernel or here. */
static bool commit(LgManager *m, GHashTable *enabled, GError **error) {
        g_autoptr(GHashTable) owned = enabled;
        g_autoptr(GPtrArray) list = enabled_array(enabled);
        g_autoptr(LgRuleset) next = lg_compile_incremental(list, m->applied, error);
        if (!next)
                return false;
        if (m->tamper_guard && next->persistent)
                next->guard = lg_table_copy(next->persistent, LG_TABLE_GUARD, true, 1);
        g_autoptr(GString) pre = g_string_new(NULL);
        g_autoptr(GString) tx = g_string_new(NULL);
        /* A reconnect changes only elements of the persistent table (and of its guard, which must
         * change in the same transaction): one netlink batch. */
        /* Element changes go as netlink batches wherever they can: an owner-flagged guard accepts
         * them only through the nftables context's own socket. */
        bool netlink = m->nft->ctx_fd >= 0 || (!next->guard && !m->applied->guard);
        /* A reconnect changes only elements of the persistent table (and of its guard, which must
         * change in the same transaction): one netlink batch. */
        bool by_netlink = netlink && next->persistent && m->applied->persistent &&
                          lg_table_same_shape(next->persistent, m->applied->persistent) &&
                          (!next->guard && !m->applied->guard
                                   ? true
                                   : next->guard && m->applied->guard &&
                                             lg_table_same_shape(next->guard, m->applied->guard));
        bool filled[3];
        bool large = has_large_sets(m->applied, next);
        write_transaction(m, next, by_netlink, netlink && large, filled, pre, tx);
        bool save = persistent_changed(m->applied, next) || g_hash_table_size(m->enabled) != g_hash_table_size(enabled);
        /* The fallback ruleset is rewritten when the persistent table's rules change, not on a
         * reconnect: printing and syncing every element of a large set each time is what a reconnect
         * must not cost, and a fallback with the previous servers still fails closed. */
        bool save_ruleset = save && !(m->applied->persistent && next->persistent &&
                                      lg_table_same_shape(m->applied->persistent, next->persistent));
        /* Declared after `next`, so freed (and its thread joined) before it. */
        g_autoptr(SaveJob) job = save ? save_job_start(m, enabled, next, save_ruleset) : NULL;
        if (pre->len > 0 && !lg_nft_run(m->nft, pre->str, error))
                return false;
        if (!fill_new_sets(m, next, filled, error) || (tx->len > 0 && !lg_nft_run(m->nft, tx->str, error))) {
                if (pre->len > 0)
                        drop_new_sets(m, next, filled);
                return false;
        }
        if (by_netlink) {
                const LgTable *want[2] = {next->persistent, next->guard};
                const LgTable *have[2] = {m->applied->persistent, m->applied->guard};
                if (!update_elements(m, want, have, next->guard ? 2 : 1, error))
                        return false;
        }
        lg_ruleset_free(m->applied);
        m->applied = g_steal_pointer(&next);
        g_hash_table_unref(m->enabled);
        m->enabled = g_steal_pointer(&owned);
        m->generation++;
        if (save) {
                /* The kernel already holds the new rules; a failed save leaves the old state on disk,
                 * which a restart would apply: still protected, with the old parameters. */
                g_autoptr(GError) e = NULL, e2 = NULL;
                g_clear_pointer(&m->save_error, g_free);
                save_job_wait(job);
                /* The ruleset first: a restart trusts it only when state.ini is unusable, and then
                 * it should be the newest one there is. Its rename is made durable by the one sync
                 * of the directory in save_state(). */
                if (save_ruleset) {
                        job->installed = job->staged && lg_state_install_ruleset(m->state_dir, &e2);
                        if (!job->installed)
                                g_warning("cannot save ruleset: %s",
                                          e2 ? e2->message : job->ruleset_error->message);
                }
                if (!save_state(m, job, &e)) {
                        /* Degraded until a save succeeds: what the kernel holds is right, but a
                         * restart would bring back the policies of an older generation. */
                        m->save_error = g_strdup_printf("cannot save the state (%s); a restart would restore an "
                                                        "older set of policies",
                                                        e->message);
                        g_warning("%s", m->save_error);
                } else if (job->installed)
                        remove_old_set_files(m, job);
        }
        /* Only a job (joined above) could still read the sets. */
        lg_ruleset_drop_ranges(m->applied);
        if (job && job->stage_ruleset) {
                /* The set files just written or reused: what the next save can reuse. */
                g_hash_table_unref(m->set_files);
                m->set_files = g_steal_pointer(&job->new_set_files);
        } else
                prune_set_files(m);
        lg_manager_verify(m);
        notify_changed(m);
        /* A change of a large set frees tens of megabytes of text and libnftables' cache; give them
         * back instead of keeping them as the daemon's idle footprint. After a small change the
         * trim waits (trim_pending): it would be ~0.5 ms of every reply. */
        if (large)
                malloc_trim(0);
        else
                m->trim_pending = true;
        return true;
}

static GHashTable *enabled_copy(LgManager *m) {
        GHashTable *c = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) enabled_free);
        GHashTableIter it;
        gpointer k, v;
        g_hash_table_iter_init(&it, m->enabled);
        while (g_hash_table_iter_next(&it, &k, &v)) {
                LgEnabledPolicy *e = v, *n = g_new0(LgEnabledPolicy, 1);
                n->policy = e->policy;
                n->params = g_hash_table_ref(e->params);
                n->owner = g_strdup(e->owner);
                n->serial = e->serial;
                g_hash_table_insert(c, g_strdup(k), n);
        }
        return c;
}

bool lg_manager_enable(LgManager *m, const char *name, GHashTable *given, const char *owner, guint64 *generation,
                       GError **error) {
        LgPolicy *p = lg_manager_find_policy(m, name, error);
        if (!p)
                return false;
        GHashTable *bound = lg_policy_bind_params(p, given, error);
        if (!bound)
                return false;
        GHashTable *next = enabled_copy(m);
        LgEnabledPolicy *e = g_new0(LgEnabledPolicy, 1);
        e->policy = p;
        e->params = bound;
        e->owner = p->lifetime == LG_LIFETIME_DYNAMIC ? g_strdup(owner) : NULL;
        LgEnabledPolicy *old = g_hash_table_lookup(m->enabled, name);
        e->serial = old ? old->serial : ++m->serial;
        g_hash_table_insert(next, g_strdup(name), e);
        if (!commit(m, next, error))
                return false;
        if (generation)
                *generation = m->generation;
        return true;
}

bool lg_manager_disable(LgManager *m, const char *name, guint64 *generation, GError **error) {
        if (!lg_manager_find_policy(m, name, error))
                return false;
        if (!g_hash_table_contains(m->enabled, name)) {
                /* Disabling what is not enabled is not an error: the caller's wish already holds. */
                if (generation)
                        *generation = m->generation;
                return true;
        }
        GHashTable *next = enabled_copy(m);
        g_hash_table_remove(next, name);
        if (!commit(m, next, error))
                return false;
        if (generation)
                *generation = m->generation;
        return true;
}

void lg_manager_disable_owned_by(LgManager *m, const char *owner) {
        GHashTable *next = enabled_copy(m);
        GHashTableIter it;
        gpointer v;
        guint removed = 0;
        g_hash_table_iter_init(&it, next);
        while (g_hash_table_iter_next(&it, NULL, &v))
                if (g_strcmp0(((LgEnabledPolicy *) v)->owner, owner) == 0) {
                        g_hash_table_iter_remove(&it);
                        removed++;
                }
        if (removed == 0) {
                g_hash_table_unref(next);
                return;
        }
        g_autoptr(GError) e = NULL;
        if (!commit(m, next, &e))
                g_warning("cannot disable the dynamic policies of %s: %s", owner, e->message);
        else
                g_message("disabled %u dynamic policies of %s, which left the bus", removed, owner);
}

bool lg_manager_verify(LgManager *m) {
        LgRunState before = m->state;
        g_autofree char *before_reason = g_strdup(m->reason);
        g_autoptr(GString) why = g_string_new(NULL);
        const LgTable *want[3] = {m->applied->persistent, m->applied->dynamic, m->applied->guard};
        const char *names[3] = {LG_TABLE_PERSISTENT, LG_TABLE_DYNAMIC, LG_TABLE_GUARD};
        bool ok = true;
        for (int i = 0; i < 3; i++) {
                g_autoptr(GError) e = NULL;
                g_autoptr(LgKernelTable) k = lg_nft_read_table(m->nft, names[i], &e);
                if (e) {
                        g_string_append_printf(why, "%s; ", e->message);
                        ok = false;
                } else if (!lg_kernel_table_matches(k, want[i], why))
                        ok = false;
        }
        if (!ok)
                set_state(m, LG_RUN_DEGRADED, why->str);
        else if (m->save_error)
                set_state(m, LG_RUN_DEGRADED, m->save_error);
        else
                set_state(m, g_hash_table_size(m->enabled) ? LG_RUN_PROTECTING : LG_RUN_IDLE, NULL);
        return before != m->state || g_strcmp0(before_reason, m->reason) != 0;
}

/* The sets of the read-back `k` that still hold what `old` says we wrote get their elements back. */
static void keep_known_elements(LgRuleset *k, const LgRuleset *old, GHashTable *dirty) {
        LgTable *kt[3] = {k->persistent, k->dynamic, k->guard};
        const LgTable *ot[3] = {old->persistent, old->dynamic, old->guard};
        for (int i = 0; i < 3; i++)
                for (guint j = 0; kt[i] && ot[i] && j < kt[i]->sets->len; j++) {
                        LgSet *s = kt[i]->sets->pdata[j];
                        const LgSet *o = lg_table_find_set(ot[i], s->name);
                        g_autofree char *key = g_strdup_printf("%s %s", kt[i]->name, s->name);
                        if (!o || !o->elements || g_hash_table_contains(dirty, key))
                                continue;
                        s->elements = g_ptr_array_ref(o->elements);
                        s->type = o->type;
                        s->interval = o->interval;
                }
}

bool lg_manager_repair(LgManager *m, GHashTable *dirty, GError **error) {
        /* Start from what the kernel really holds, then replace it with what should be there. */
        LgRuleset *k = kernel_shapes(m, error);
        if (!k)
                return false;
        if (dirty)
                keep_known_elements(k, m->applied, dirty);
        lg_ruleset_free(m->applied);
        m->applied = k;
        return commit(m, enabled_copy(m), error);
}

GHashTable *lg_manager_counters(LgManager *m, GHashTable *chain_counters[2], GError **error) {
        GHashTable *all = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        const char *names[2] = {LG_TABLE_PERSISTENT, LG_TABLE_DYNAMIC};
        for (int i = 0; i < 2; i++) {
                if (chain_counters)
                        chain_counters[i] = NULL;
                g_autoptr(LgKernelTable) k = lg_nft_read_counters(m->nft, names[i], error);
                if (!k) {
                        g_hash_table_unref(all);
                        for (int j = 0; chain_counters && j < i; j++)
                                g_clear_pointer(&chain_counters[j], g_hash_table_unref);
                        return NULL;
                }
                GHashTableIter it;
                gpointer key, v;
                g_hash_table_iter_init(&it, k->counters);
                while (g_hash_table_iter_next(&it, &key, &v)) {
                        g_hash_table_iter_steal(&it);
                        g_hash_table_insert(all, key, v);
                }
                if (chain_counters)
                        chain_counters[i] = g_steal_pointer(&k->chain_counters);
        }
        return all;
}

/* ---- reload and restore ---- */

/* Binds saved or current parameters against `p`; NULL with an error if they no longer fit. */
static GHashTable *rebind(LgPolicy *p, GHashTable *strv_params, GHashTable *value_params, GError **error) {
        g_autoptr(GHashTable) given = lg_params_table_new();
        GHashTableIter it;
        gpointer k, v;
        if (value_params) {
                g_hash_table_iter_init(&it, value_params);
                while (g_hash_table_iter_next(&it, &k, &v)) {
                        const LgParamDecl *d = lg_policy_find_param(p, k);
                        if (!d)
                                continue;
                        /* A parameter whose type the edited file changed keeps its value if the
                         * value's text is valid for the new type (an address is an endpoint). */
                        const LgValue *val = v;
                        const char *const *items = lg_value_canonical(val);
                        LgValue *nv = val->type == d->type
                                              ? lg_value_copy(val)
                                              : lg_value_parse_strv(d->type, items, g_strv_length((char **) items),
                                                                    error);
                        if (!nv)
                                return NULL;
                        g_hash_table_insert(given, g_strdup(k), nv);
                }
        } else {
                g_hash_table_iter_init(&it, strv_params);
                while (g_hash_table_iter_next(&it, &k, &v)) {
                        const LgParamDecl *d = lg_policy_find_param(p, k);
                        if (!d) {
                                g_set_error(error, LG_ERROR, LG_ERROR_INVALID_PARAMETERS,
                                            "policy '%s' no longer has parameter '%s'", p->name, (char *) k);
                                return NULL;
                        }
                        LgValue *val = lg_value_parse_strv(d->type, (const char *const *) v, g_strv_length(v), error);
                        if (!val)
                                return NULL;
                        g_hash_table_insert(given, g_strdup(k), val);
                }
        }
        return lg_policy_bind_params(p, given, error);
}

bool lg_manager_reload(LgManager *m, GError **error) {
        g_autoptr(GString) errors = g_string_new(NULL);
        GHashTable *fresh = load_policy_files(m, errors);
        GHashTable *next = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) enabled_free);
        GHashTableIter it;
        gpointer k, v;
        g_hash_table_iter_init(&it, m->enabled);
        while (errors->len == 0 && g_hash_table_iter_next(&it, &k, &v)) {
                LgEnabledPolicy *e = v;
                LgPolicy *p = g_hash_table_lookup(fresh, k);
                g_autoptr(GError) err = NULL;
                GHashTable *bound = p ? rebind(p, NULL, e->params, &err) : NULL;
                if (!p)
                        g_string_append_printf(errors, "enabled policy '%s' has no file any more\n", (char *) k);
                else if (!bound)
                        g_string_append_printf(errors, "%s: %s\n", p->path, err->message);
                else {
                        LgEnabledPolicy *n = g_new0(LgEnabledPolicy, 1);
                        n->policy = p;
                        n->params = bound;
                        n->owner = g_strdup(e->owner);
                        n->serial = e->serial;
                        g_hash_table_insert(next, g_strdup(k), n);
                }
        }
        if (errors->len > 0) {
                g_hash_table_unref(next);
                g_hash_table_unref(fresh);
                g_strchomp(errors->str);
                g_set_error(error, LG_ERROR, LG_ERROR_INVALID_POLICY, "reload refused, nothing changed:\n%s",
                            errors->str);
                return false;
        }
        /* Swap the policy table only once the new rules are in the kernel. */
        GHashTable *old = m->policies;
        m->policies = fresh;
        if (!commit(m, next, error)) {
                m->policies = old;
                g_hash_table_unref(fresh);
                return false;
        }
        g_hash_table_unref(old);
        return true;
}

static void restore_fallback(LgManager *m, const char *why) {
        if (!m->applied->persistent) {
                /* Nothing in the kernel: the last saved ruleset is better than nothing. */
                g_autoptr(GError) e = NULL;
                g_autofree char *text = lg_state_load_ruleset(m->state_dir, &e);
                if (text && lg_nft_run(m->nft, text, &e)) {
                        g_message("applied the last saved ruleset");
                        LgRuleset *k = kernel_shapes(m, &e);
                        if (k) {
                                lg_ruleset_free(m->applied);
                                m->applied = k;
                        } else
                                g_warning("%s", e->message);
                } else if (e)
                        g_warning("no saved ruleset to fall back to: %s", e->message);
        }
        g_autofree char *reason = g_strdup_printf("%s; keeping what the kernel holds", why);
        /* Kept until a save succeeds: a later lg_manager_verify() (the tamper watcher's) finds the
         * kernel as "applied" says and must not report idle while the saved state is unusable. */
        g_free(m->save_error);
        m->save_error = g_strdup(reason);
        set_state(m, LG_RUN_DEGRADED, reason);
        notify_changed(m);
}

void lg_manager_restore(LgManager *m) {
        g_autoptr(GError) e = NULL;
        g_autoptr(LgState) st = lg_state_load(m->state_dir, &e);
        if (e) {
                g_autofree char *why = g_strdup_printf("saved state unusable: %s", e->message);
                restore_fallback(m, why);
                return;
        }
        if (!st) {
                if (m->applied->persistent) {
                        restore_fallback(m, "the kernel holds a leakguard table but there is no saved state");
                        return;
                }
                lg_manager_verify(m);
                return;
        }
        m->generation = st->generation;
        GHashTable *next = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify) enabled_free);
        for (guint i = 0; i < st->policies->len; i++) {
                LgSavedPolicy *sp = st->policies->pdata[i];
                LgPolicy *p = lg_manager_find_policy(m, sp->policy, &e);
                GHashTable *bound = p ? rebind(p, sp->params, NULL, &e) : NULL;
                if (!bound) {
                        g_hash_table_unref(next);
                        g_autofree char *why = g_strdup_printf("saved policy '%s' no longer applies: %s", sp->policy,
                                                               e->message);
                        restore_fallback(m, why);
                        return;
                }
                LgEnabledPolicy *en = g_new0(LgEnabledPolicy, 1);
                en->policy = p;
                en->params = bound;
                en->serial = ++m->serial;
                g_hash_table_insert(next, g_strdup(sp->policy), en);
        }
        if (!commit(m, next, &e)) {
                g_autofree char *why = g_strdup_printf("cannot re-apply the saved policies: %s", e->message);
                restore_fallback(m, why);
                return;
        }
        g_message("restored %u saved policies", st->policies->len);
}
