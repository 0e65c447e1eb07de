/* The D-Bus face of the manager (DESIGN.md §3): vtable, named errors, properties, authorization. */
#pragma once

#include "manager.h"

#include <systemd/sd-bus.h>

#define LG_BUS_NAME "org.leakguard.LeakGuard1"
#define LG_BUS_PATH "/org/leakguard/LeakGuard1"
#define LG_BUS_INTERFACE "org.leakguard.LeakGuard1.Manager"
#define LG_BUS_ERROR_PREFIX "org.leakguard.LeakGuard1.Error."

G_DEFINE_AUTOPTR_CLEANUP_FUNC(sd_bus, sd_bus_flush_close_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(sd_bus_message, sd_bus_message_unref)

typedef struct LgBus LgBus;

/* Publishes the manager on `bus` and takes the well-known name. */
int lg_bus_new(sd_bus *bus, LgManager *m, LgBus **ret);
void lg_bus_free(LgBus *b);

/* Sets `ret_error` to the D-Bus error named for `e` (an LG_ERROR). */
int lg_bus_error_from_gerror(sd_bus_error *ret_error, const GError *e);
