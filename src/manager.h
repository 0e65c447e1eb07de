/* What is enabled, with which parameters, and what the kernel holds because of it. No D-Bus here:
 * bus.c translates calls into these functions and LgError codes into named D-Bus errors. */
#pragma once

#include "compile.h"
#include "nft.h"
#include "policy.h"
#include "state.h"

typedef enum {
        LG_RUN_IDLE,       /* nothing enabled, nothing of ours in the kernel */
        LG_RUN_PROTECTING, /* the kernel holds exactly what the enabled policies compile to */
        LG_RUN_DEGRADED,   /* the kernel differs from what it should hold (see reason) */
} LgRunState;

const char *lg_run_state_to_string(LgRunState s);

typedef struct {
        LgPolicy *policy;   /* owned by the manager's policy table */
        GHashTable *params; /* bound: name → LgValue* */
        char *owner;        /* dynamic policies: unique bus name of the client that enabled it */
        guint64 serial;     /* enable order, for stable listings */
} LgEnabledPolicy;

typedef struct LgManager LgManager;
typedef void (*LgManagerChanged)(LgManager *m, void *userdata);
/* Around a netlink batch of more than LG_QUIET_MIN_ELEMENTS set elements: `begin`, then the end
 * with whether the batch committed (one kernel transaction). */
typedef void (*LgManagerQuiet)(LgManager *m, bool begin, bool committed, void *userdata);
#define LG_QUIET_MIN_ELEMENTS 1024

struct LgManager {
        GPtrArray *policy_dirs;  /* char*, highest precedence first */
        char *state_dir;
        GHashTable *policies;    /* name → LgPolicy* (owned) */
        GHashTable *enabled;     /* name → LgEnabledPolicy* */
        guint64 serial;
        LgNft *nft;
        LgRuleset *applied;      /* what the last transaction made the kernel hold */
        guint64 generation;
        LgRunState state;
        char *reason;            /* why degraded, or NULL */
        char *save_error;        /* the saved state is unusable, or the last save failed (disk full…):
                                  * degraded until a save succeeds */
        LgManagerChanged changed;
        void *changed_userdata;
        /* The kernel sends an event per set element to every listener of nftables events, and our
         * own tamper watcher is one: the watcher stops listening for our large batches. */
        LgManagerQuiet quiet;
        void *quiet_userdata;
        /* Keep a copy of the persistent table in table inet leakguard_guard (flags owner), changed
         * in the same transactions: other processes can flush or delete the persistent table but
         * not the guard while the daemon lives, and the persistent table outlives a crash. */
        bool tamper_guard;
        GHashTable *saved_texts; /* policy name → its part of state.ini, while its parameters stay the same */
        GHashTable *set_files;   /* a large set's elements (GPtrArray*) → the set file that holds them */
        /* A small change left freed heap that malloc_trim() should return, off the reply's path:
         * leakguardd does it a little later (its walk of the heap is ~0.5 ms). */
        bool trim_pending;
};

LgManager *lg_manager_new(const char *const *policy_dirs, const char *state_dir, GError **error);
void lg_manager_free(LgManager *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LgManager, lg_manager_free)

/* Loads every policy file; at start-up an invalid file is logged and skipped. */
void lg_manager_load_policies(LgManager *m);
/* Re-reads all policy files: all or nothing. If any file is invalid, nothing changes and the error
 * lists every problem. Enabled policies whose file changed are re-compiled and re-applied. */
bool lg_manager_reload(LgManager *m, GError **error);

/* Re-applies the saved persistent policies (start-up, before READY=1). Never fails open: when the
 * saved state cannot be used, what the kernel holds stays (or the last saved ruleset is applied)
 * and the state is degraded. */
void lg_manager_restore(LgManager *m);

/* Enable, or replace the parameters of an enabled policy; one transaction. `given`: name → LgValue*. */
bool lg_manager_enable(LgManager *m, const char *name, GHashTable *given, const char *owner, guint64 *generation,
                       GError **error);
bool lg_manager_disable(LgManager *m, const char *name, guint64 *generation, GError **error);
/* Disables every dynamic policy enabled by `owner` (a client that left the bus). */
void lg_manager_disable_owned_by(LgManager *m, const char *owner);

/* Compares the kernel with what should be there and sets the state; true if it changed. */
bool lg_manager_verify(LgManager *m);
/* Makes the kernel hold what should be there again (after tampering). `dirty`: the sets ("TABLE
 * SET") whose elements another process may have changed since we last wrote them; the others keep
 * the elements we know and only differences are sent. NULL: any set may have been changed. */
bool lg_manager_repair(LgManager *m, GHashTable *dirty, GError **error);

LgPolicy *lg_manager_find_policy(LgManager *m, const char *name, GError **error);
/* Enabled policies sorted by name. */
GPtrArray *lg_manager_enabled_sorted(LgManager *m);
/* Sorted policy names. */
GPtrArray *lg_manager_policy_names(LgManager *m);
/* Live counters from the kernel, one rule dump per table: "policy/sublayer/filter" → LgCounter*, or
 * NULL; and (when `chain_counters` is given) per table, persistent then dynamic, the same per
 * chain: "CHAIN COMMENT" → LgCounter*, i.e. per layer (Status "Layers"). */
GHashTable *lg_manager_counters(LgManager *m, GHashTable *chain_counters[2], GError **error);
