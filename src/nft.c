#include "nft.h"
#include "error.h"

#include <jansson.h>
#include <string.h>

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

void lg_kernel_table_free(LgKernelTable *k) {
        if (!k)
                return;
        g_hash_table_unref(k->chains);
        g_hash_table_unref(k->base);
        g_hash_table_unref(k->sets);
        g_hash_table_unref(k->counters);
        g_free(k);
}

static void add_counter(LgKernelTable *k, const char *comment, json_t *exprs) {
        size_t i;
        json_t *e;
        json_array_foreach(exprs, i, e) {
                json_t *c = json_object_get(e, "counter");
                if (!c)
                        continue;
                LgCounter *sum = g_hash_table_lookup(k->counters, comment);
                if (!sum) {
                        sum = g_new0(LgCounter, 1);
                        g_hash_table_insert(k->counters, g_strdup(comment), sum);
                }
                sum->packets += (guint64) json_integer_value(json_object_get(c, "packets"));
                sum->bytes += (guint64) json_integer_value(json_object_get(c, "bytes"));
        }
}

LgKernelTable *lg_nft_read_table(LgNft *n, const char *table, GError **error) {
        unsigned flags = nft_ctx_output_get_flags(n->ctx);
        nft_ctx_output_set_flags(n->ctx, flags | NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_TERSE);
        g_autofree char *cmd = g_strdup_printf("list table inet %s", table);
        int r = nft_run_cmd_from_buffer(n->ctx, cmd);
        nft_ctx_output_set_flags(n->ctx, flags);
        if (r != 0) {
                const char *err = nft_ctx_get_error_buffer(n->ctx);
                if (err && strstr(err, "No such file or directory"))
                        return NULL;
                set_nft_error(n, cmd, error);
                return NULL;
        }
        json_error_t jerr;
        json_t *root = json_loads(nft_ctx_get_output_buffer(n->ctx), 0, &jerr);
        if (!root) {
                g_set_error(error, LG_ERROR, LG_ERROR_APPLY_FAILED, "cannot parse nftables' JSON listing: %s",
                            jerr.text);
                return NULL;
        }
        LgKernelTable *k = g_new0(LgKernelTable, 1);
        k->chains = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        k->base = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        k->sets = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
        k->counters = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        size_t i;
        json_t *obj;
        json_array_foreach(json_object_get(root, "nftables"), i, obj) {
                json_t *t = json_object_get(obj, "table");
                json_t *c = json_object_get(obj, "chain");
                json_t *s = json_object_get(obj, "set");
                json_t *rule = json_object_get(obj, "rule");
                if (t) {
                        size_t j;
                        json_t *f;
                        json_array_foreach(json_object_get(t, "flags"), j, f) if (g_strcmp0(json_string_value(f),
                                                                                            "owner") == 0)
                                k->owner = true;
                        if (g_strcmp0(json_string_value(json_object_get(t, "flags")), "owner") == 0)
                                k->owner = true;
                } else if (c) {
                        const char *name = json_string_value(json_object_get(c, "name"));
                        if (!name)
                                continue;
                        g_hash_table_insert(k->chains, g_strdup(name), GUINT_TO_POINTER(1));
                        if (json_object_get(c, "hook"))
                                g_hash_table_add(k->base, g_strdup(name));
                } else if (s) {
                        const char *name = json_string_value(json_object_get(s, "name"));
                        if (name)
                                g_hash_table_add(k->sets, g_strdup(name));
                } else if (rule) {
                        const char *chain = json_string_value(json_object_get(rule, "chain"));
                        const char *comment = json_string_value(json_object_get(rule, "comment"));
                        if (chain) {
                                guint cnt = GPOINTER_TO_UINT(g_hash_table_lookup(k->chains, chain));
                                g_hash_table_insert(k->chains, g_strdup(chain), GUINT_TO_POINTER(MAX(cnt, 1u) + 1));
                        }
                        if (comment)
                                add_counter(k, comment, json_object_get(rule, "expr"));
                }
        }
        json_decref(root);
        return k;
}

bool lg_kernel_table_matches(const LgKernelTable *k, const LgTable *t, GString *why) {
        if (!t || !k) {
                if (!t && !k)
                        return true;
                g_string_append_printf(why, "table %s is %s", t ? t->name : "?",
                                       t ? "missing from the kernel" : "in the kernel but should not be");
                return false;
        }
        bool ok = true;
        if (k->owner != t->owner) {
                g_string_append_printf(why, "table %s: owner flag differs; ", t->name);
                ok = false;
        }
        if (g_hash_table_size(k->chains) != t->chains->len || g_hash_table_size(k->sets) != t->sets->len) {
                g_string_append_printf(why, "table %s holds %u chains and %u sets, expected %u and %u; ", t->name,
                                       g_hash_table_size(k->chains), g_hash_table_size(k->sets), t->chains->len,
                                       t->sets->len);
                ok = false;
        }
        for (guint i = 0; i < t->chains->len; i++) {
                const LgChain *c = t->chains->pdata[i];
                guint have = GPOINTER_TO_UINT(g_hash_table_lookup(k->chains, c->name));
                if (have == 0)
                        g_string_append_printf(why, "chain %s is missing; ", c->name);
                else if (have - 1 != c->rules->len)
                        g_string_append_printf(why, "chain %s has %u rules, expected %u; ", c->name, have - 1,
                                               c->rules->len);
                else if (c->base != g_hash_table_contains(k->base, c->name))
                        g_string_append_printf(why, "chain %s is %sa base chain; ", c->name, c->base ? "not " : "");
                else
                        continue;
                ok = false;
        }
        for (guint i = 0; i < t->sets->len; i++) {
                const LgSet *s = t->sets->pdata[i];
                if (!g_hash_table_contains(k->sets, s->name)) {
                        g_string_append_printf(why, "set %s is missing; ", s->name);
                        ok = false;
                }
        }
        return ok;
}

LgTable *lg_kernel_table_shape(const LgKernelTable *k, const char *table) {
        LgTable *t = lg_table_new(table, k->owner);
        GHashTableIter it;
        gpointer key;
        g_hash_table_iter_init(&it, k->chains);
        while (g_hash_table_iter_next(&it, &key, NULL))
                lg_table_add_chain(t, key, -1, g_hash_table_contains(k->base, key));
        g_hash_table_iter_init(&it, k->sets);
        while (g_hash_table_iter_next(&it, &key, NULL))
                lg_table_add_set(t, key);
        return t;
}
