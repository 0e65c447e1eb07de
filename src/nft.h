/* libnftables: one long-lived context (DESIGN.md §1: the owner of a `flags owner` table is the
 * context's netlink socket), every change one nft_run_cmd_from_buffer() = one kernel transaction. */
#pragma once

#include <glib.h>
#include <libmnl/libmnl.h>
#include <nftables/libnftables.h>

#include "compile.h"
#include <stdbool.h>


typedef struct {
        struct nft_ctx *ctx;
        bool dry_run;
        int ctx_fd; /* the context's netlink socket, owner of our owner-flagged tables; -1 if unknown */
        /* Read-backs' own socket, kept open: closing a netfilter netlink socket waits for the
         * kernel's deferred release of the last transaction (an RCU grace period, ~10 ms). */
        struct mnl_socket *read_nl;
} LgNft;

/* dry_run: check the commands against the kernel's parser and evaluator without committing. */
LgNft *lg_nft_new(bool dry_run, GError **error);
void lg_nft_free(LgNft *n);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LgNft, lg_nft_free)

/* Runs `cmds` as one transaction. On failure the kernel is unchanged and the error carries
 * nftables' own message (ApplyFailed). */
bool lg_nft_run(LgNft *n, const char *cmds, GError **error);

typedef struct {
        guint64 packets, bytes;
} LgCounter;

/* What the kernel holds of one of our tables, read back after every change and for Status. */
typedef struct {
        GHashTable *chains;   /* name → GUINT_TO_POINTER(number of rules + 1) */
        GHashTable *base;     /* names of base chains (set) */
        GHashTable *sets;     /* names of sets (set) */
        GHashTable *counters; /* rule comment "policy/sublayer/filter" → LgCounter*, summed over its rules */
        GHashTable *chain_counters; /* "CHAIN COMMENT" → LgCounter*: the same per chain, i.e. per layer */
        bool owner;
} LgKernelTable;

/* NULL without error when the table does not exist. Reads through n->read_nl and never asks for
 * set elements. */
LgKernelTable *lg_nft_read_table(LgNft *n, const char *table, GError **error);
/* Only the rules' counters (`counters`, `chain_counters`; one dump): empty when the table does not
 * exist. What Status reads. */
LgKernelTable *lg_nft_read_counters(LgNft *n, const char *table, GError **error);
void lg_kernel_table_free(LgKernelTable *k);
/* The kernel's ruleset generation in this network namespace: every committed transaction, ours
 * or another process's, moves it on by one. */
bool lg_nft_generation(LgNft *n, guint32 *gen, GError **error);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LgKernelTable, lg_kernel_table_free)

/* True when the kernel holds exactly the chains (with their rule counts), sets and owner flag of
 * `t`; otherwise `why` says what differs. A NULL `t` matches an absent table. */
bool lg_kernel_table_matches(const LgKernelTable *k, const LgTable *t, GString *why);
/* What the kernel holds, as a table of names only: the `old` of lg_table_write_replace(). */
LgTable *lg_kernel_table_shape(const LgKernelTable *k, const char *table);

/* Set-element changes from have[i] to want[i] (lg_table_same_shape() holds for each pair) as one
 * netlink batch, one kernel transaction, encoded here as nftables encodes them. libnftables 1.0.6
 * reads every element of every set of a table before any element command (half a second with a
 * 100,000-element set); a reconnect must not pay for the size of unrelated sets. An owner-flagged
 * table accepts changes only from its owner, the context's socket, so the batch goes through that
 * socket (ctx_fd); without it, only tables without `flags owner` can be changed this way. A set of
 * have[i] whose elements are unknown (NULL) is flushed and refilled in the same batch. `sent`:
 * whether there was anything to change, i.e. a transaction was committed (on success). */
bool lg_nft_update_elements(LgNft *n, const LgTable *const *want, const LgTable *const *have, size_t count,
                            bool *sent, GError **error);
