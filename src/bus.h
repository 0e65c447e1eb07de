/* The D-Bus face of the manager (DESIGN.md §3): vtable, named errors, properties, authorization. */
#pragma once

#include "manager.h"

#include <systemd/sd-bus.h>

#define LG_BUS_NAME "org.leakguard.LeakGuard1"
#define LG_BUS_PATH "/org/leakguard/LeakGuard1"
#define LG_BUS_INTERFACE "org.leakguard.LeakGuard1.Manager"
#define LG_BUS_ERROR_PREFIX "org.leakguard.LeakGuard1.Error."
#define LG_BUS_MAX_ERROR_LEN 16384 /* characters of an error message or a Reason (docs/limits.md) */
#define LG_MAX_PENDING_AUTH 1024   /* privileged calls waiting for authorization; then LimitsExceeded */

G_DEFINE_AUTOPTR_CLEANUP_FUNC(sd_bus, sd_bus_flush_close_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(sd_bus_message, sd_bus_message_unref)

typedef struct LgBus LgBus;

/* Publishes the manager on `bus` and takes the well-known name. */
int lg_bus_new(sd_bus *bus, LgManager *m, LgBus **ret);
void lg_bus_free(LgBus *b);

/* Reads the a{sv} parameters of Enable, positioned at the a{sv}, into name → LgValue* checked
 * against `p`'s declarations (InvalidParameters otherwise). Exposed for fuzz/fuzz-dbus-params.c. */
GHashTable *lg_bus_read_params(sd_bus_message *m, const LgPolicy *p, GError **error);

/* Net events: `n` (NULL when the NFLOG group could not be bound; `error_text` says why, for
 * Status) delivers its events to this bus as the Blocked signal. The caller keeps owning `n`. */
typedef struct LgNetlog LgNetlog;
void lg_bus_set_netlog(LgBus *b, LgNetlog *n, const char *error_text);

/* Sets `ret_error` to the D-Bus error named for `e` (an LG_ERROR). */
int lg_bus_error_from_gerror(sd_bus_error *ret_error, const GError *e);
