/* libnftables: one long-lived context (DESIGN.md §1: the owner of a `flags owner` table is the
 * context's netlink socket), every change one nft_run_cmd_from_buffer() = one kernel transaction. */
#pragma once

#include <glib.h>
#include <nftables/libnftables.h>
#include <stdbool.h>


typedef struct {
        struct nft_ctx *ctx;
        bool dry_run;
} LgNft;

/* dry_run: check the commands against the kernel's parser and evaluator without committing. */
LgNft *lg_nft_new(bool dry_run, GError **error);
void lg_nft_free(LgNft *n);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LgNft, lg_nft_free)

/* Runs `cmds` as one transaction. On failure the kernel is unchanged and the error carries
 * nftables' own message (ApplyFailed). */
bool lg_nft_run(LgNft *n, const char *cmds, GError **error);
/* Runs a read-only command and returns its output (e.g. "list table inet leakguard"), JSON when asked. */
char *lg_nft_query(LgNft *n, const char *cmd, bool json, GError **error);
