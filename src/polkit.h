/* Asynchronous authorization of a D-Bus caller (DESIGN.md §4): root is allowed at once; anyone
 * else is asked of polkit without blocking the event loop; no polkit, a polkit error or no answer
 * within the timeout means denied. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

#define LG_POLKIT_ACTION_MANAGE "org.leakguard.LeakGuard1.manage"
#define LG_POLKIT_TIMEOUT_USEC (30 * 1000 * 1000ULL)
#define LG_UID_LOOKUP_TIMEOUT_USEC (120 * 1000 * 1000ULL) /* the bus driver's GetConnectionUnixUser */

/* `allowed` is false on denial; then `why` says why (for the AccessDenied message). */
typedef void (*LgAuthCallback)(sd_bus_message *call, bool allowed, const char *why, void *userdata);

/* Starts the check for the sender of `call`; the callback runs exactly once, later, from the
 * event loop (also for root). */
int lg_auth_check_async(sd_bus *bus, sd_bus_message *call, const char *action, LgAuthCallback cb, void *userdata);
/* Ends every check still in flight as denied with `why` (the daemon is stopping): each callback
 * runs once, now, so that every caller gets an answer and nothing holds the bus any more.
 * Returns how many there were. */
unsigned lg_auth_cancel_all(const char *why);
