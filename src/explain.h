/* Explain (DESIGN.md §3): which filter decides a described packet, evaluated in userspace against
 * the compiled ruleset (compile.h) with the kernel's semantics, and the packet description that
 * Explain takes and the Blocked signal gives (the same keys, so a Blocked packet can be explained).
 *
 * What the kernel does with a packet, and so what this file does:
 *   - a packet meets every base chain of its hook: output runs the connect layer (new flows only,
 *     `ct state != new return`) and the outbound layer; input runs accept (new flows) and inbound;
 *     forward runs forward. Each of our tables (persistent, dynamic) has its own base chains;
 *   - in one base chain the sublayer chains are jumped to in the compiler's order (weight, then
 *     policy name, then file order); in one sublayer chain the rules are tried in order (filter
 *     weight, then file order; one rule per address family) and the first that matches decides:
 *     permit = `return` (on to the next sublayer), hard-permit = `accept` (ends that base chain
 *     only), block = `drop`/`reject` (final, in every chain and every table);
 *   - no rule matched anywhere: the base chains' policy accept.
 * The verdict is `block` when any base chain on the hook drops the packet. Which filter is named:
 * for a block, the dropping filter, searched in the asked layer first, then the hook's other layer,
 * the persistent table before the dynamic one (when several would drop, the kernel's order among
 * base chains of equal priority is not defined; the verdict is the same); for a permit, the filter
 * that decided in the asked layer: the hard permit that ended it, or the first soft permit. */
#pragma once

#include "compile.h"
#include "params.h"

#include <stdbool.h>
#include <stdint.h>

/* A described packet. Addresses and ports are the peer's (`remote`) and this host's (`local`),
 * whatever the direction, as in policies. */
typedef struct {
        LgLayer layer;          /* default outbound */
        int family;             /* 4 or 6 */
        int proto;              /* IP protocol number, or -1 when not given (matches no protocol) */
        uint8_t remote[16], local[16]; /* network byte order; IPv4 in the first 4 bytes */
        bool has_remote, has_local;
        int remote_port, local_port;   /* -1 when not given or the protocol has no ports */
        char interface[LG_IFNAMSIZ];   /* output interface on output/forward hooks, input on input; "" = none */
        bool has_uid, has_gid;  /* a local socket of this user/group sent it; without uid: no socket */
        uint32_t uid, gid;
        uint32_t mark;
        int icmp_type;          /* -1: not given (echo-request is assumed for ICMP) */
        char *icmp_name;        /* a type given by name, resolved by lg_packet_finish() */
        char *cgroup;           /* cgroup v2 path of the sending socket, or NULL */
        bool established;       /* not the first packet of a flow: connect/accept layers skip it */
} LgPacket;

void lg_packet_init(LgPacket *p);
void lg_packet_clear(LgPacket *p);

/* Packet keys, in the order Explain documents them; `signature` is the D-Bus type each takes. */
typedef struct {
        const char *key;
        const char *signature;
} LgPacketKey;
extern const LgPacketKey lg_packet_keys[];
extern const size_t lg_packet_n_keys;

/* Sets one key from its text (CLI) or D-Bus string; numeric keys also via lg_packet_set_number().
 * InvalidParameters errors name the key and say what was expected. */
bool lg_packet_set_string(LgPacket *p, const char *key, const char *value, GError **error);
bool lg_packet_set_number(LgPacket *p, const char *key, uint32_t value, GError **error);
/* Checks the whole description once every key is set: an address is needed (it decides the
 * family), remote and local of one family, ports only with a protocol that has them. */
bool lg_packet_finish(LgPacket *p, GError **error);

/* "ADDR", "ADDR:PORT" or "[ADDR6]:PORT" (port < 0: no port). */
void lg_packet_format_endpoint(int family, const uint8_t addr[16], int port, GString *out);
/* "tcp", "udp", … or the number. */
void lg_packet_format_protocol(int proto, GString *out);

typedef enum {
        LG_VERDICT_PERMIT,
        LG_VERDICT_BLOCK,
} LgVerdict;

typedef struct {
        LgVerdict verdict;
        const char *policy, *sublayer, *filter; /* NULL when nothing matched; owned by the model */
        LgLayer layer;         /* the layer whose filter decided (when filter != NULL) */
        const LgRule *rule;    /* the deciding rule */
} LgExplanation;

/* True when every rule of `rs` carries its model (a ruleset made by lg_compile(), not one read
 * back from the kernel), so that lg_explain() can evaluate it. */
bool lg_ruleset_explainable(const LgRuleset *rs);
void lg_explain(const LgRuleset *rs, const LgPacket *p, LgExplanation *ret);

/* Does the compiled rule match the packet on the rule's layer? Exposed for the tests. */
bool lg_rule_matches(const LgRule *r, LgLayer layer, const LgPacket *p);

/* The layer a packet logged on netfilter hook `hook` (NF_INET_*) by filter `f` was judged in: one
 * of the filter's layers on that hook; the every-packet layer when the filter is on both. -1 if
 * the filter has no layer on that hook. */
int lg_layer_for_hook(const LgFilter *f, int hook);
const char *lg_verdict_to_string(LgVerdict v);
