/* The per-layer view of what is in force, as `netsh wfp show state` shows WFP's: for each layer
 * the sublayers in evaluation order and their filters with the counters of that layer's rules
 * (Status "Layers", `leakguardctl status`). Counters here are per chain, so a filter on the
 * outbound and inbound layers shows each layer's own count; nft.c sums them per filter. */
#pragma once

#include "nft.h"

/* What the kernel counted for each rule of table inet `table`, summed per chain and rule comment:
 * key "CHAIN COMMENT" → LgCounter*. An empty table when the table does not exist. Read with one
 * netlink rule dump (libnftnl), never touching set elements. */
GHashTable *lg_layers_read_counters(LgNft *nft, const char *table, GError **error);
