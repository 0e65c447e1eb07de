/* The tamper watcher: another process that changes our tables (`nft flush ruleset`, a firewall
 * manager deleting "unknown" tables, an admin's typo) is noticed through the kernel's nftables
 * events, never by polling, and what should be there is put back at once (DESIGN.md §1, §3
 * property State: `degraded` while the kernel differs, `protecting` again once repaired). */
#pragma once

#include "manager.h"

#include <systemd/sd-event.h>

typedef struct LgWatch LgWatch;

/* Counted for the log at exit. */
typedef struct {
        guint64 foreign_changes, repairs, overruns;
} LgWatchStats;

/* Subscribes to the nftables multicast group (NFNLGRP_NFTABLES) of this network namespace and
 * adds the socket to `event`. Changes made through `m`'s own nftables context are ignored; a
 * change by anyone else to table inet leakguard, leakguard_dynamic or leakguard_guard makes the
 * manager verify and repair, and every state change goes out through m->changed. Checks the
 * kernel once on start, so a change made before the subscription is not missed either. */
int lg_watch_new(sd_event *event, LgManager *m, LgWatch **ret);
void lg_watch_free(LgWatch *w);
