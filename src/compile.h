/* Policies + parameters → nftables objects (DESIGN.md §1): one base chain per used layer, one
 * chain per (layer, policy, sublayer) jumped to in descending sublayer weight, one or two rules
 * per filter (one per address family where addresses are involved) in descending filter weight,
 * every list as a named set. The result is a model; nft.c turns it into one transaction. */
#pragma once

#include "policy.h"

#define LG_TABLE_PERSISTENT "leakguard"
#define LG_TABLE_DYNAMIC "leakguard_dynamic"
/* The tamper guard (DESIGN.md §1): a copy of the persistent table with `flags owner`, which no
 * other process can flush or delete while the daemon lives; see lg_table_copy(). */
#define LG_TABLE_GUARD "leakguard_guard"
#define LG_LOG_GROUP 7401 /* NFLOG group of `log: true` filters */

typedef struct {
        const LgPolicy *policy;
        GHashTable *params; /* bound parameters: name → LgValue* (lg_policy_bind_params) */
} LgEnabled;

typedef struct {
        char *name;
        const char *type;     /* nftables type expression */
        bool interval;
        GPtrArray *elements;  /* char*: canonical, sorted, merged, never overlapping; NULL when
                               * unknown (a table read back from the kernel); shared, never changed */
        GArray *sources;      /* gconstpointer: the condition and parameter values it was built from */
        GArray *ranges;       /* LgAddr: `elements` of an address set before printing, one each, for
                               * the netlink encoder's first fill; NULL otherwise, and once applied
                               * (lg_ruleset_drop_ranges()); shared, never changed */
} LgSet;

typedef struct {
        char *text;           /* the rule after "add rule inet TABLE CHAIN " */
        const char *policy, *sublayer, *filter; /* owned by the policy model; NULL for jumps */
        /* What the rule was compiled from, so that Explain (explain.c) evaluates packets against
         * the compiled rules themselves, not their text. NULL/0 for jumps and read-back tables. */
        const LgFilter *model;
        GHashTable *params;   /* the policy's bound parameters, borrowed like the model */
        int family;           /* the rule's `meta nfproto`: 0 (any), 4 or 6 */
        bool tcp_only;        /* the `meta l4proto tcp` twin of a rejecting rule (tcp reset) */
} LgRule;

typedef struct {
        char *name;
        int layer;            /* LgLayer */
        bool base;            /* a hooked base chain (one per layer) */
        GPtrArray *rules;     /* LgRule* */
} LgChain;

typedef struct {
        char *name;           /* LG_TABLE_PERSISTENT or LG_TABLE_DYNAMIC */
        bool owner;           /* flags owner: vanishes with the netlink socket that made it */
        int priority;         /* base chains hook at `priority filter + priority` */
        GPtrArray *sets;      /* LgSet*, sorted by name */
        GPtrArray *chains;    /* LgChain*: base chains in layer order, then sublayer chains */
} LgTable;

typedef struct {
        LgTable *persistent;  /* NULL when no persistent policy is enabled */
        LgTable *dynamic;     /* NULL when no dynamic policy is enabled */
        LgTable *guard;       /* the daemon's tamper guard of `persistent`, or NULL (not made by lg_compile) */
} LgRuleset;

/* `enabled` holds LgEnabled*; order does not matter (the output is sorted and deterministic). */
LgRuleset *lg_compile(GPtrArray *enabled, GError **error);
/* The same, reusing the element lists of `previous` (the last compile of the same enabled policies,
 * whose parameter values are still alive) for sets whose inputs are the very same values. */
LgRuleset *lg_compile_incremental(GPtrArray *enabled, const LgRuleset *previous, GError **error);
void lg_ruleset_free(LgRuleset *r);
/* Forgets the sets' binary ranges: they spare the encoder parsing a set's elements back when it
 * sends all of them, which happens once; kept, they would be 33 bytes per element for nothing. */
void lg_ruleset_drop_ranges(LgRuleset *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LgRuleset, lg_ruleset_free)

/* Tables built by hand: what nft.c read back from the kernel (names only, no rules or elements). */
LgTable *lg_table_new(const char *name, bool owner);
void lg_table_add_chain(LgTable *t, const char *name, int layer, bool base);
void lg_table_add_set(LgTable *t, const char *name);
void lg_table_free(LgTable *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LgTable, lg_table_free)

/* A deep copy of `t` under another name. The tamper guard is the persistent table copied with
 * owner = true and priority = 1: its base chains run right after the persistent table's, so the
 * persistent table's counters and log rules see every packet first, and the guard only ever
 * decides when the persistent table has been flushed or deleted by another process. */
LgTable *lg_table_copy(const LgTable *t, const char *name, bool owner, int priority);

const LgSet *lg_table_find_set(const LgTable *t, const char *name);
const LgChain *lg_table_find_chain(const LgTable *t, const char *name);

/* True when `a` and `b` have the same chains, rules and set declarations, so that going from one
 * to the other only changes set elements. */
bool lg_table_same_shape(const LgTable *a, const LgTable *b);

/* The text of one transaction that makes the kernel's table equal to `t`, given that it now holds
 * `old` (NULL: absent). Never deletes a base chain that `t` keeps: the table is flushed and its
 * objects re-added, stale chains and sets are deleted. With t == NULL the table is deleted. Sets
 * missing from a non-NULL `old` must have been made by lg_table_write_new_sets() first; with
 * `prefilled`, every set missing from `old` (all of them when `old` is NULL) was made and filled
 * before (lg_table_write_empty_sets(), then netlink), and so was every set of `old` whose elements
 * are unknown (flushed and refilled): those are only declared here. */
void lg_table_write_replace(const LgTable *t, const LgTable *old, const char *table_name, bool owner, bool prefilled,
                            GString *out);
/* What lg_table_write_replace(t, NULL, …) writes for set `s` of table `table` after the table:
 * `flush set` and an `add element` of all its elements. */
void lg_set_write_fill(const LgSet *s, const char *table, GString *out);
/* lg_table_write_replace(t, NULL, t->name, owner, false, out), with `fill` writing each set's part
 * (what lg_set_write_fill() writes); nothing when `t` is NULL. The fallback ruleset, whose large
 * sets' parts the daemon keeps from one save to the next. */
typedef void (*LgSetFillWriter)(const LgSet *s, const char *table, GString *out, void *userdata);
void lg_table_write_full(const LgTable *t, bool owner, LgSetFillWriter fill, void *userdata, GString *out);
/* Sets that `t` has and `old` (the kernel's table) lacks, of policies whose rules `old` holds,
 * declared and filled in a transaction of their own that must run before
 * lg_table_write_replace(t, old): measured on kernel 6.18, a rule that refers to a set created in
 * the same transaction fails to match while the transaction commits, so packets it should drop get
 * through. False (nothing written) when there are none. */
bool lg_table_write_new_sets(const LgTable *t, const LgTable *old, GString *out);
/* The same for every set `t` has and `old` lacks, and the table itself when `old` is NULL, but
 * declared empty: the daemon adds their elements as netlink batches (lg_nft_update_elements())
 * before the swap, because libnftables 1.0.6 reads every element of the table's interval sets
 * before it runs any element command, seconds with a 100,000-prefix set. */
bool lg_table_write_empty_sets(const LgTable *t, const LgTable *old, GString *out);
/* Whether lg_table_write_new_sets() makes set `set` (missing from `old`) before the swap. */
bool lg_table_set_made_before(const LgTable *old, const char *set);
/* The elements of `o` that `s` lacks (del) and those of `s` that `o` lacks (add); borrowed strings. */
void lg_set_diff(const LgSet *s, const LgSet *o, GPtrArray *del, GPtrArray *add);
/* Set-element changes only (lg_table_same_shape(old, t) must hold): O(changed elements). */
void lg_table_write_update(const LgTable *t, const LgTable *old, GString *out);
