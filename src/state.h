/* The saved state (DESIGN.md §4): which persistent policies are enabled with which parameters,
 * and the last ruleset applied. Written atomically (temp file, fsync, rename), so a crash at any
 * instant leaves the old or the new file, never a mix. */
#pragma once

#include <glib.h>
#include <stdbool.h>

#define LG_STATE_VERSION 1
#define LG_STATE_FILE "state.ini"
#define LG_RULESET_FILE "ruleset.nft"
#define LG_MAX_STATE_FILE_SIZE (256 * 1024 * 1024)

typedef struct {
        char *policy;
        GHashTable *params; /* parameter name → GStrv of canonical items */
} LgSavedPolicy;

typedef struct {
        guint64 generation;
        GPtrArray *policies; /* LgSavedPolicy*, in the order they were enabled */
} LgState;

LgState *lg_state_new(void);
void lg_state_free(LgState *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LgState, lg_state_free)
void lg_state_add(LgState *s, const char *policy, GHashTable *params /* name → GStrv, taken */);

/* NULL without error when there is no state file; NULL with an error when it cannot be trusted
 * (unreadable, truncated, garbage, another version): nothing of it is used then. */
LgState *lg_state_load(const char *dir, GError **error);
/* The text of a state.ini alone: a policy kept in a side file is refused (there is no directory). */
LgState *lg_state_parse(const char *data, size_t len, GError **error);
/* The file's text (what lg_state_save writes): deterministic, parsed back by lg_state_parse. */
char *lg_state_to_data(const LgState *s, size_t *len);
bool lg_state_save(const char *dir, const LgState *s, GError **error);
/* One policy's part of the file (its group, escaped as GKeyFile escapes): the daemon keeps it while
 * the policy's parameters stay the same, so a reconnect does not re-escape a 100,000-prefix
 * parameter of another policy. */
char *lg_state_policy_text(const char *policy, GHashTable *params /* name → GStrv */);

/* A part larger than this goes to a side file of its own, `params-<SHA-256 of its bytes>.ini`,
 * which state.ini names in its [files] group: state.ini stays small, and a change of one policy
 * rewrites neither another policy's large parameters nor their fsync. */
#define LG_STATE_INLINE_MAX (64 * 1024)
#define LG_STATE_SIDE_GROUP "files"
#define LG_STATE_SIDE_PREFIX "params-"

typedef struct {
        const char *policy;
        const char *text; /* lg_state_policy_text(); unused when `file` is set */
        const char *file; /* the side file holding it, or NULL: inline */
} LgStatePart;

/* Writes `text` to its side file (durably) when it is larger than LG_STATE_INLINE_MAX and returns
 * the file's name in `file`; leaves `file` NULL for a text that stays inline. */
bool lg_state_store_policy_text(const char *dir, const char *text, char **file, GError **error);
/* Writes state.ini for `parts` (their side files already stored) through LG_STATE_STAGED, syncs the
 * directory (which makes a preceding lg_state_install_ruleset() durable too, even when state.ini
 * could not be written), then removes side files that state.ini no longer names. */
#define LG_STATE_STAGED LG_STATE_FILE ".new"
bool lg_state_save_parts(const char *dir, guint64 generation, const LgStatePart *parts, guint n, GError **error);
/* The same in two steps, like the ruleset's below: stage writes and syncs LG_STATE_STAGED (before the
 * kernel has accepted the change), install renames it over state.ini and does the rest, discard
 * removes it. */
bool lg_state_stage_parts(const char *dir, guint64 generation, const LgStatePart *parts, guint n, GError **error);
bool lg_state_install_parts(const char *dir, const LgStatePart *parts, guint n, GError **error);
void lg_state_discard_parts(const char *dir);
/* Syncs the directory: makes the renames done in it durable. */
bool lg_state_sync(const char *dir, GError **error);

/* The last applied ruleset text, kept for a start whose saved state no longer compiles. It is saved
 * in two steps, so that the text can be written and synced before the kernel has accepted the
 * change it belongs to: stage writes LG_RULESET_STAGED and syncs it, install renames it over
 * LG_RULESET_FILE (durable with the next lg_state_save_parts() or lg_state_sync()), discard
 * removes it (the change was refused). */
#define LG_RULESET_STAGED LG_RULESET_FILE ".new"
bool lg_state_stage_ruleset(const char *dir, const char *text, GError **error);
bool lg_state_install_ruleset(const char *dir, GError **error);
void lg_state_discard_ruleset(const char *dir);
/* The ruleset's text with its set files (below) in place of their includes; refused when one is
 * missing or changed. */
char *lg_state_load_ruleset(const char *dir, GError **error);

/* A large set's elements in the fallback ruleset are a file of their own, named by the SHA-256 of
 * its text and included by ruleset.nft (by its absolute path, so that `nft -f` reads the file as
 * the daemon does): an Enable of another policy then rewrites and syncs the small ruleset, not the
 * 1.6 MB of a 100,000-prefix set it did not change. Written atomically and durably; `file` gets its
 * name. */
#define LG_RULESET_SIDE_PREFIX "sets-"
bool lg_state_store_set_text(const char *dir, const char *text, size_t len, char **file, GError **error);
/* `include "DIR/FILE"` and a newline: the line ruleset.nft has in place of the set's elements; NULL
 * when the absolute path holds a character other than letters, digits and /._+-@%,:= (the
 * elements then stay in ruleset.nft). */
char *lg_state_include_line(const char *dir, const char *file);
/* Removes the set files the installed ruleset no longer includes (`keep`: the ones it does). */
void lg_state_remove_set_files(const char *dir, const char *const *keep, guint n);
