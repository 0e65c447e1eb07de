#include "layers.h"
#include "error.h"

GHashTable *lg_layers_read_counters(LgNft *nft, const char *table, GError **error) {
        GError *e = NULL;
        g_autoptr(LgKernelTable) k = lg_nft_read_table(nft, table, &e);
        if (e) {
                g_propagate_error(error, e);
                return NULL;
        }
        if (!k)
                return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        return g_steal_pointer(&k->chain_counters);
}
