#include "nft.h"
#include "error.h"

LgNft *lg_nft_new(bool dry_run, GError **error) {
        /* nft_ctx_new() exit()s if it cannot open its netlink socket: callers run with AF_NETLINK allowed. */
        struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!ctx) {
                g_set_error(error, LG_ERROR, LG_ERROR_APPLY_FAILED, "cannot create an nftables context");
                return NULL;
        }
        nft_ctx_buffer_output(ctx);
        nft_ctx_buffer_error(ctx);
        nft_ctx_set_dry_run(ctx, dry_run);
        LgNft *n = g_new0(LgNft, 1);
        n->ctx = ctx;
        n->dry_run = dry_run;
        return n;
}

void lg_nft_free(LgNft *n) {
        if (!n)
                return;
        nft_ctx_free(n->ctx);
        g_free(n);
}

static void set_nft_error(LgNft *n, const char *what, GError **error) {
        const char *msg = nft_ctx_get_error_buffer(n->ctx);
        g_autofree char *trimmed = g_strstrip(g_strdup(msg ? msg : ""));
        g_set_error(error, LG_ERROR, LG_ERROR_APPLY_FAILED, "%s: %s", what,
                    *trimmed ? trimmed : "nftables reported an error");
}

bool lg_nft_run(LgNft *n, const char *cmds, GError **error) {
        if (nft_run_cmd_from_buffer(n->ctx, cmds) != 0) {
                set_nft_error(n, "nftables refused the transaction", error);
                return false;
        }
        return true;
}

char *lg_nft_query(LgNft *n, const char *cmd, bool json, GError **error) {
        unsigned flags = nft_ctx_output_get_flags(n->ctx);
        nft_ctx_output_set_flags(n->ctx, json ? (flags | NFT_CTX_OUTPUT_JSON) : (flags & ~NFT_CTX_OUTPUT_JSON));
        int r = nft_run_cmd_from_buffer(n->ctx, cmd);
        nft_ctx_output_set_flags(n->ctx, flags);
        if (r != 0) {
                set_nft_error(n, cmd, error);
                return NULL;
        }
        return g_strdup(nft_ctx_get_output_buffer(n->ctx));
}
