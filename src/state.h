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
LgState *lg_state_parse(const char *data, size_t len, GError **error);
/* The file's text (what lg_state_save writes): deterministic, parsed back by lg_state_parse. */
char *lg_state_to_data(const LgState *s, size_t *len);
bool lg_state_save(const char *dir, const LgState *s, GError **error);

/* The last applied ruleset text, kept for a start whose saved state no longer compiles. */
bool lg_state_save_ruleset(const char *dir, const char *text, GError **error);
char *lg_state_load_ruleset(const char *dir, GError **error);
