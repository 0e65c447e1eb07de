/* Net events (DESIGN.md §1, WFP's FwpmNetEventSubscribe): what one NFLOG message of a `log: true`
 * filter says, and the token buckets that keep a flood of them from reaching the bus. Pure code,
 * no I/O: netlog.c reads the socket, the unit tests feed it messages they build. */
#pragma once

#include "explain.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LG_NETEVENT_PREFIX_MAX 128 /* "policy/sublayer/filter": three names of at most 40 bytes */

typedef struct {
        char prefix[LG_NETEVENT_PREFIX_MAX];
        const char *policy, *sublayer, *filter; /* into `names`; NULL when the prefix is not ours */
        char names[LG_NETEVENT_PREFIX_MAX];
        int hook;            /* NF_INET_LOCAL_IN, _FORWARD, _LOCAL_OUT, …; -1 when not said */
        int ifindex_in, ifindex_out; /* 0 when none */
        /* The packet as Explain describes it; its `layer` is left at the default: only the policy
         * model knows which of the filter's layers on that hook logged it (lg_layer_for_hook). */
        LgPacket packet;
} LgNetEvent;

/* Parses one NFULNL_MSG_PACKET netlink message (header included). False for anything else or a
 * message that does not hold an IPv4 or IPv6 packet. The interface names are left empty: they
 * are the ifindexes' names in the reader's network namespace (netlog.c fills them in). */
bool lg_netevent_parse(const void *nlmsg, size_t len, LgNetEvent *ret);
/* Splits "policy/sublayer/filter" when each part is a valid name; false otherwise. */
bool lg_netevent_split_prefix(LgNetEvent *ev);

/* A token bucket: `rate` tokens a second, at most `burst` saved up. Times in µs (CLOCK_MONOTONIC). */
typedef struct {
        double tokens;
        uint64_t last;
        double rate, burst;
} LgTokenBucket;

void lg_token_bucket_init(LgTokenBucket *b, double rate, double burst, uint64_t now);
/* Takes one token if there is one. */
bool lg_token_bucket_take(LgTokenBucket *b, uint64_t now);
/* Whether a token is there, without taking it. */
bool lg_token_bucket_peek(LgTokenBucket *b, uint64_t now);
