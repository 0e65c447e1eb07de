/* Net events of `log: true` filters (DESIGN.md §1 and §3 signal Blocked): the daemon binds the
 * NFLOG group LG_LOG_GROUP in its own network namespace, reads it from an sd-event io source
 * (never blocking), rate-limits what it read, and hands each event that passes to a handler (bus.c
 * emits Blocked) after logging it to the journal with structured fields. */
#pragma once

#include "netevent.h"

#include <glib.h>
#include <systemd/sd-event.h>

/* Rate limits: a token bucket per filter and one for all filters. A flood of one filter yields
 * LG_NETLOG_FILTER_BURST events at once and then LG_NETLOG_FILTER_RATE a second; all filters
 * together never more than LG_NETLOG_GLOBAL_RATE a second after a burst of LG_NETLOG_GLOBAL_BURST.
 * What is suppressed is counted (Status "NetEvents") and reported to the journal at most every
 * LG_NETLOG_REPORT_SEC seconds while it lasts. */
#define LG_NETLOG_FILTER_RATE 5.0
#define LG_NETLOG_FILTER_BURST 10.0
#define LG_NETLOG_GLOBAL_RATE 50.0
#define LG_NETLOG_GLOBAL_BURST 100.0
#define LG_NETLOG_REPORT_SEC 5

typedef struct LgNetlog LgNetlog;

typedef struct {
        guint64 received;   /* packet messages read from the group */
        guint64 emitted;    /* passed the rate limits: journal entry and Blocked signal */
        guint64 suppressed; /* held back by the rate limits */
        guint64 unmatched;  /* prefix of no `log: true` filter of an enabled policy */
        guint64 malformed;  /* not an IPv4/IPv6 packet message */
        guint64 overruns;   /* the socket buffer overflowed (ENOBUFS): the kernel dropped events */
        guint64 reports;    /* suppression reports written */
} LgNetlogStats;

/* Decides whether an event is one of ours and sets ev->packet.layer; false: count it unmatched. */
typedef bool (*LgNetlogResolve)(LgNetEvent *ev, void *userdata);
/* Called for each event that passed the rate limits, after the journal entry. */
typedef void (*LgNetlogEmit)(const LgNetEvent *ev, void *userdata);

/* Binds NFLOG group `group` and adds the socket to `event`. On failure (another program holds
 * the group, no CAP_NET_ADMIN) returns a negative errno and `error_text` says why. */
int lg_netlog_new(sd_event *event, uint16_t group, LgNetlog **ret, char **error_text);
void lg_netlog_free(LgNetlog *n);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LgNetlog, lg_netlog_free)

void lg_netlog_set_handlers(LgNetlog *n, LgNetlogResolve resolve, LgNetlogEmit emit, void *userdata);
void lg_netlog_get_stats(const LgNetlog *n, LgNetlogStats *ret);
uint16_t lg_netlog_group(const LgNetlog *n);

/* One line of text for an event ("outbound udp 192.0.2.1:53 from 10.0.0.2:40000 on eth0, uid
 * 1000"), as the journal's MESSAGE and leakguardctl monitor show it. */
char *lg_netevent_describe(const LgNetEvent *ev);
